/**
 * One provider per policy resource, built once at start-up from the provider catalog. A missing variable or
 * a bad setting fails here, at construction, with every problem listed at once (names, never values), rather
 * than in the first grant job. Nothing connects yet: providers open their connections on first use.
 */
import type { Policy } from '../domain/policy.js';
import type { AccessProvider, ProviderRegistry } from '../use-cases/ports.js';
import { providerDefinition } from './catalog.js';
import type { ClosableProvider, Env } from './definition.js';

export function createProviderRegistry(policy: Policy, env: Env): ProviderRegistry & { close(): Promise<void> } {
  const problems: string[] = [];
  const providers = new Map<string, ClosableProvider>();
  for (const [resource, res] of Object.entries(policy.resources)) {
    const path = `resources.${resource}`;
    const definition = providerDefinition(res.provider);
    if (!definition) {
      problems.push(`${path}.provider: unknown provider "${res.provider}"`);
      continue;
    }
    try {
      providers.set(resource, definition.create(res.settings, env, path));
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (problems.length > 0) {
    // The providers built so far have not connected; ending them is only tidiness.
    for (const provider of providers.values()) void provider.close().catch(() => {});
    throw new Error(`invalid provider configuration:\n  ${problems.join('\n  ')}`);
  }

  return {
    forResource(resource: string): AccessProvider {
      const provider = providers.get(resource);
      if (!provider) throw new Error(`no provider for resource "${resource}"`);
      return provider;
    },
    async close(): Promise<void> {
      await Promise.all([...providers.values()].map((provider) => provider.close()));
    },
  };
}
