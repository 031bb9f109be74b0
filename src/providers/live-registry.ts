/**
 * The provider registry of a running bot, following the policy in force (`LivePolicy`). A resource keeps its
 * provider while its provider and settings stay the same; a new resource, or one whose settings changed,
 * gets a new provider when a new policy version arrives. A resource removed from the policy keeps its
 * provider until the process stops, so its open grants can still be revoked. Providers replaced are closed
 * only at `close()`: a job may still be using them.
 *
 * At start-up every problem is fatal, as with `createProviderRegistry`. Later, a resource whose provider
 * cannot be built here (a variable this process lacks) keeps its previous provider, or has none, and
 * `update` returns the problems for the caller to log; its grants fail with that problem until fixed.
 */
import type { Policy } from '../domain/policy.js';
import type { AccessProvider, ProviderRegistry } from '../use-cases/ports.js';
import { providerDefinition } from './catalog.js';
import type { ClosableProvider, Env } from './definition.js';

export class LiveProviderRegistry implements ProviderRegistry {
  readonly #env: Env;
  readonly #entries = new Map<string, { key: string; provider: ClosableProvider }>();
  readonly #retired: ClosableProvider[] = [];
  readonly #problems = new Map<string, string>();

  private constructor(env: Env) {
    this.#env = env;
  }

  /** Builds every resource's provider; throws listing every problem at once (names, never values). */
  static create(policy: Policy, env: Env): LiveProviderRegistry {
    const registry = new LiveProviderRegistry(env);
    const problems = registry.update(policy);
    if (problems.length > 0) {
      void registry.close().catch(() => {});
      throw new Error(`invalid provider configuration:\n  ${problems.join('\n  ')}`);
    }
    return registry;
  }

  /**
   * The problems building `policy`'s providers in `env` would meet, building nothing that stays (a check
   * before applying an edit). Providers do not connect at construction, so this is cheap.
   */
  static problemsFor(policy: Policy, env: Env): string[] {
    const problems: string[] = [];
    for (const [resource, res] of Object.entries(policy.resources)) {
      const built = build(resource, res.provider, res.settings, env);
      if ('problem' in built) problems.push(built.problem);
      else void built.provider.close().catch(() => {});
    }
    return problems;
  }

  /**
   * The problems of the policy's provider settings themselves, whatever the environment: the rules only a
   * provider enforces (`role_kind: Role` needs a `namespace`, `mode: login` needs `password_key`), for
   * `policy check`, `policy apply` and the file at start-up, before anything is stored. Each provider is built
   * with every variable its settings name holding a placeholder, and any problem with those variables
   * (`resources.prod-db.connection.env: …`) are left out: whether they are set here, and to what, is for
   * `missingConnectionEnv` and `problemsFor` where the bot runs. Each line names `source` and the path, like
   * the parser's (`policy.yaml: resources.k8s.role_kind: …`).
   */
  static settingsProblems(policy: Policy, source: string): string[] {
    const problems: string[] = [];
    for (const [resource, res] of Object.entries(policy.resources)) {
      let named: { setting: string; variable: string }[] = [];
      try {
        named = providerDefinition(res.provider)?.envNames(res.settings) ?? [];
      } catch {
        // Settings the schema let through but envNames cannot read: building them below says why.
      }
      // A value the checks made before the rules accept (a provider's own URL scheme, long enough for a key),
      // at a host that never resolves (`.invalid`); providers do not connect when built.
      const placeholder = `${res.provider}://accessbot-settings-check@placeholder.invalid/accessbot-settings-check`;
      const placeholders = Object.fromEntries(named.map(({ variable }) => [variable, placeholder]));
      const built = build(resource, res.provider, res.settings, placeholders);
      if (!('problem' in built)) void built.provider.close().catch(() => {});
      else if (!named.some(({ setting }) => built.problem.startsWith(`resources.${resource}.${setting}:`))) problems.push(`${source}: ${built.problem}`);
    }
    return problems;
  }

  /** Follows a new policy: builds providers for new and changed resources. Returns the problems met. */
  update(policy: Policy): string[] {
    const problems: string[] = [];
    for (const [resource, res] of Object.entries(policy.resources)) {
      const key = settingsKey(res.provider, res.settings);
      const existing = this.#entries.get(resource);
      if (existing?.key === key) continue;
      const built = build(resource, res.provider, res.settings, this.#env);
      if ('problem' in built) {
        problems.push(built.problem);
        if (!existing) this.#problems.set(resource, built.problem);
        continue;
      }
      if (existing) this.#retired.push(existing.provider);
      this.#entries.set(resource, { key, provider: built.provider });
      this.#problems.delete(resource);
    }
    return problems;
  }

  forResource(resource: string): AccessProvider {
    const entry = this.#entries.get(resource);
    if (!entry) {
      const problem = this.#problems.get(resource);
      throw new Error(problem ? `no provider for resource "${resource}": ${problem}` : `no provider for resource "${resource}"`);
    }
    return entry.provider;
  }

  async close(): Promise<void> {
    const all = [...[...this.#entries.values()].map((e) => e.provider), ...this.#retired.splice(0)];
    this.#entries.clear();
    await Promise.all(all.map((provider) => provider.close()));
  }
}

function build(
  resource: string,
  providerName: string,
  settings: Readonly<Record<string, unknown>>,
  env: Env,
): { provider: ClosableProvider } | { problem: string } {
  const path = `resources.${resource}`;
  const definition = providerDefinition(providerName);
  if (!definition) return { problem: `${path}.provider: unknown provider "${providerName}"` };
  try {
    return { provider: definition.create(settings, env, path) };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  }
}

/** Provider and settings, with object keys sorted: equal however the YAML ordered them. */
function settingsKey(provider: string, settings: Readonly<Record<string, unknown>>): string {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]))
        : value;
  return JSON.stringify([provider, canonical(settings)]);
}
