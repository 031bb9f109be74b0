/** Policy as code at start-up: the file applied as a version, the version in force loaded and followed. */
import { LivePolicy, PolicyVersionError } from '../policy/live-policy.js';
import { missingConnectionEnv, parsePolicy } from '../policy/load.js';
import { LiveProviderRegistry } from '../providers/live-registry.js';
import type { Database } from '../store/db.js';
import { PostgresPolicyVersions } from '../store/policy-versions.js';
import type { Policy } from '../domain/policy.js';
import type { Logger } from '../use-cases/ports.js';
import { StartupError } from './startup-error.js';

export interface OpenedPolicy {
  policy: LivePolicy;
  providers: LiveProviderRegistry;
  /** What the file did at start-up: stored as a new version, or not (unchanged, or already in force). */
  file: { version: number; changed: boolean };
}

/**
 * Policy as code at start-up: the file's text (already validated; its provider settings are checked here,
 * before anything is stored) is applied as source `file` (stored only
 * when the file changed since it was last seen, so a newer Home-tab or CLI version stays in force), then the
 * version in force is loaded, checked against this process's variables, and followed from then on, with the
 * provider registry rebuilt for resources whose settings change. Throws `StartupError` on any problem.
 */
export async function openPolicy(
  db: Database,
  fileText: string,
  env: Readonly<Record<string, string | undefined>>,
  log: Logger,
  options: { refreshMs?: number; onPolicy?: (policy: Policy) => void } = {},
): Promise<OpenedPolicy> {
  // The rules only providers enforce are checked before the file can be stored: a version stored here is
  // followed by every other process, so one that no provider accepts must never become it.
  const parsed = parsePolicy(fileText, 'policy file');
  const settingsProblems = parsed.ok ? LiveProviderRegistry.settingsProblems(parsed.policy, 'policy file') : [];
  if (settingsProblems.length > 0) throw new StartupError(settingsProblems);
  const versions = new PostgresPolicyVersions(db);
  const applied = await versions.apply(fileText, 'file', 'file');
  if (!applied.ok) throw new StartupError(applied.errors);
  let providers: LiveProviderRegistry | undefined;
  let policy: LivePolicy;
  try {
    policy = await LivePolicy.load(versions, {
      ...(options.refreshMs !== undefined ? { refreshMs: options.refreshMs } : {}),
      log,
      // An edit made here (the Home tab) must work here: every variable set, every provider buildable.
      check: (p) => {
        const missing = missingConnectionEnv(p, env);
        return missing.length > 0 ? missing : LiveProviderRegistry.problemsFor(p, env);
      },
      onChange: (p, stored) => {
        options.onPolicy?.(p);
        const problems = providers?.update(p) ?? [];
        if (problems.length > 0) log.error({ version: stored.version, problems }, 'policy version in force, but some resources have no provider here');
      },
    });
  } catch (error) {
    if (error instanceof PolicyVersionError) throw new StartupError(error.errors);
    throw error;
  }
  const inForce = policy.stored();
  log.info(
    { version: inForce.version, source: inForce.source, appliedBy: inForce.appliedBy, fileStored: applied.changed },
    inForce.source === 'file' ? 'policy in force: the file' : `policy in force: version ${inForce.version} from ${inForce.source}, newer than the file`,
  );
  options.onPolicy?.(policy.current());
  const missing = missingConnectionEnv(policy.current(), env);
  if (missing.length > 0) {
    policy.stop();
    throw new StartupError(missing.map((m) => `policy v${inForce.version}: ${m}`));
  }
  try {
    providers = LiveProviderRegistry.create(policy.current(), env);
  } catch (error) {
    policy.stop();
    throw error;
  }
  return { policy, providers, file: { version: applied.version, changed: applied.changed } };
}
