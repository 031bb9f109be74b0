/**
 * The policy in force in a running process: the latest applied version in `policy_versions`, held in memory
 * so `current()` stays synchronous. It follows the database: after an apply made through it at once, and
 * otherwise by polling the latest version number (one `max(id)`) every few seconds, so an edit made in
 * another process (the Home tab of another web process, `accessbot policy apply`) is in force everywhere
 * within one interval. A version this process cannot parse (an older release during a rolling upgrade) is
 * logged once and skipped: the process keeps the last version it understood.
 */
import type { Policy } from '../domain/policy.js';
import type { Logger, PolicyApplyResult, PolicyOrigin, PolicySource, PolicyVersions, StoredPolicy } from '../use-cases/ports.js';
import { parsePolicy } from './load.js';

export const DEFAULT_POLICY_REFRESH_MS = 5_000;

export interface LivePolicyOptions {
  /** How often the database is asked for a newer version (default 5s); 0: never (tests, one-shot commands). */
  refreshMs?: number;
  log?: Logger;
  /** Called with each newer version once it is in force (the provider registry follows it here). */
  onChange?(policy: Policy, stored: StoredPolicy): void;
  /**
   * Problems this process sees with a policy before it is applied through `apply` (variables unset here,
   * provider settings that do not build): an edit with problems is refused and nothing is stored.
   */
  check?(policy: Policy): string[];
}

export class LivePolicy implements PolicySource, PolicyVersions {
  #policy: Policy;
  #stored: StoredPolicy;
  #skipped = 0;
  #timer: NodeJS.Timeout | null = null;
  #refreshing: Promise<boolean> | null = null;

  private constructor(
    private readonly versions: PolicyVersions,
    stored: StoredPolicy,
    policy: Policy,
    private readonly options: LivePolicyOptions,
  ) {
    this.#stored = stored;
    this.#policy = policy;
    const every = options.refreshMs ?? DEFAULT_POLICY_REFRESH_MS;
    if (every > 0) {
      this.#timer = setInterval(() => void this.refresh(), every);
      this.#timer.unref();
    }
  }

  /** Loads the version in force; throws when there is none or it does not parse (start-up reports it). */
  static async load(versions: PolicyVersions, options: LivePolicyOptions = {}): Promise<LivePolicy> {
    const stored = await versions.active();
    if (!stored) throw new Error('no policy has been applied yet; set ACCESS_POLICY or run accessbot policy apply <file>');
    const parsed = parsePolicy(stored.text, `policy v${stored.version}`);
    if (!parsed.ok) throw new PolicyVersionError(stored.version, parsed.errors);
    return new LivePolicy(versions, stored, parsed.policy, options);
  }

  current(): Policy {
    return this.#policy;
  }

  /** The version in force here, as stored. */
  stored(): StoredPolicy {
    return this.#stored;
  }

  /**
   * Takes a newer version from the database, if there is one. True when the policy in force changed. Errors
   * are logged, never thrown: the last known policy stays in force.
   */
  refresh(): Promise<boolean> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  async #refresh(): Promise<boolean> {
    try {
      const latest = await this.versions.activeVersion();
      if (latest === null || latest <= this.#stored.version || latest === this.#skipped) return false;
      const stored = await this.versions.active();
      if (!stored || stored.version <= this.#stored.version) return false;
      const parsed = parsePolicy(stored.text, `policy v${stored.version}`);
      if (!parsed.ok) {
        this.#skipped = stored.version;
        this.options.log?.error(
          { version: stored.version, inForce: this.#stored.version, errors: parsed.errors },
          'policy version does not parse here; keeping the one in force',
        );
        return false;
      }
      this.#stored = stored;
      this.#policy = parsed.policy;
      this.options.log?.info({ version: stored.version, source: stored.source, appliedBy: stored.appliedBy }, 'policy version in force');
      try {
        this.options.onChange?.(parsed.policy, stored);
      } catch (error) {
        this.options.log?.error({ version: stored.version, err: error instanceof Error ? error.message : String(error) }, 'policy change handler failed');
      }
      return true;
    } catch (error) {
      this.options.log?.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not check for a newer policy version');
      return false;
    }
  }

  /** Validates, checks it here, stores it as a new version if it differs, and puts it in force at once. */
  async apply(text: string, actor: string, source: PolicyOrigin): Promise<PolicyApplyResult> {
    const parsed = parsePolicy(text, 'policy');
    if (!parsed.ok) return { ok: false, errors: parsed.errors };
    const problems = this.options.check?.(parsed.policy) ?? [];
    if (problems.length > 0) return { ok: false, errors: problems };
    const result = await this.versions.apply(text, actor, source);
    if (result.ok) {
      // A refresh already under way may have looked before this version existed: look again after it.
      await this.#refreshing;
      await this.refresh();
    }
    return result;
  }

  active(): Promise<StoredPolicy | null> {
    return this.versions.active();
  }

  activeVersion(): Promise<number | null> {
    return this.versions.activeVersion();
  }

  list(limit: number): Promise<StoredPolicy[]> {
    return this.versions.list(limit);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

export class PolicyVersionError extends Error {
  constructor(
    readonly version: number,
    readonly errors: string[],
  ) {
    super(`policy version ${version} is not valid here:\n  ${errors.join('\n  ')}`);
    this.name = 'PolicyVersionError';
  }
}
