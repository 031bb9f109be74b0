/**
 * Every provider the policy may name, by `provider:` value. Adding a provider: write it behind the
 * `AccessProvider` port with its `ProviderDefinition`, and list it here.
 */
import type { ProviderDefinition } from './definition.js';
import { postgresProvider } from './postgres-role.js';

export const PROVIDER_CATALOG: readonly ProviderDefinition[] = [postgresProvider];

/** A Map, so a provider named `constructor` or `__proto__` cannot reach Object.prototype. */
const BY_NAME = new Map(PROVIDER_CATALOG.map((d) => [d.name, d]));

export function providerDefinition(name: string): ProviderDefinition | undefined {
  return BY_NAME.get(name);
}
