/**
 * One provider per policy resource, built once at start-up. The policy names an environment variable for each
 * resource's connection (never the secret itself); a wrong provider name or a missing variable fails here, at
 * construction, with every problem listed at once, rather than in the first grant job. Nothing connects yet:
 * the providers open their pools on first use.
 */
import type { Policy } from '../domain/policy.js';
import type { AccessProvider, ProviderRegistry } from '../use-cases/ports.js';
import { PostgresRoleProvider } from './postgres-role.js';

type ClosableProvider = AccessProvider & { close(): Promise<void> };

/** A Map, so a provider named `constructor` or `__proto__` cannot reach Object.prototype. */
const FACTORIES = new Map<string, (url: string) => ClosableProvider>([['postgres', (url) => new PostgresRoleProvider({ url })]]);

export function createProviderRegistry(
  policy: Policy,
  env: Record<string, string | undefined>,
): ProviderRegistry & { close(): Promise<void> } {
  const problems: string[] = [];
  const providers = new Map<string, ClosableProvider>();
  for (const [resource, settings] of Object.entries(policy.resources)) {
    const factory = FACTORIES.get(settings.provider);
    if (!factory) {
      problems.push(`resources.${resource}.provider: unknown provider "${settings.provider}" (known: ${[...FACTORIES.keys()].join(', ')})`);
      continue;
    }
    const variable = settings.connection.env;
    const url = env[variable];
    // Error texts name the variable, never its value: the value is a connection secret.
    if (!url) {
      problems.push(`resources.${resource}.connection.env: environment variable ${variable} is not set`);
      continue;
    }
    try {
      providers.set(resource, factory(url));
    } catch {
      problems.push(`resources.${resource}.connection.env: environment variable ${variable} is not a valid connection URL`);
    }
  }
  if (problems.length > 0) {
    // The providers built so far have not connected (pools open on first use); ending them is only tidiness.
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
