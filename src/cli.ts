#!/usr/bin/env node
/**
 * The `accessbot` command. `start` runs the web server and the workers in one process (what `npm start`
 * does); `web` and `worker` run them apart; `migrate` applies migrations; `policy check <file>` validates a
 * policy file; `policy diff | apply | export` work on the stored policy versions (DATABASE_URL only); `provider check <resource>` checks one resource's target. Everything a user can get wrong is reported as plain lines and a non-zero exit, never a stack.
 */
import { StartupError, startAccessBot } from './app.js';
import { loadConfig, urlPasswords, type Mode } from './config.js';
import { lineDiff } from './policy/line-diff.js';
import { loadPolicyFile, missingConnectionEnv, readPolicyFile } from './policy/load.js';
import { providerDefinition } from './providers/catalog.js';
import { LiveProviderRegistry } from './providers/live-registry.js';
import { createProviderRegistry } from './providers/registry.js';
import { openDatabase } from './store/db.js';
import { migrateDatabase } from './store/migrate.js';
import { PostgresPolicyVersions } from './store/policy-versions.js';
import type { StoredPolicy } from './use-cases/ports.js';

const USAGE = `usage: accessbot <command>
  start                 web server and workers in one process (applies migrations first)
  web                   the Slack endpoint and health checks only
  worker                the grant, revoke, delivery and reconcile workers only
  migrate               apply pending database migrations and exit
  policy check <file>   validate a policy file and exit (0 = valid)
  policy diff <file>    compare a policy file with the version in force (DATABASE_URL)
                        (0 = no difference, 1 = different)
  policy apply <file> [--dry-run]
                        validate, show the diff, and store the file as the version in force
  policy export         print the version in force, exactly as applied
  provider check <resource>
                        check, changing nothing, that the bot reaches the resource's target (from
                        ACCESS_POLICY) and holds what its grants need (0 = ready, 1 = something missing)`;

/** `.env` in the working directory, when present, fills variables not already set (Node ≥ 20.12). */
function loadDotEnv(): void {
  try {
    process.loadEnvFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function fail(lines: string[], code = 1): never {
  for (const line of lines) process.stderr.write(`${line}\n`);
  process.exit(code);
}

async function run(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
    case 'web':
    case 'worker':
      return serve(command);
    case 'migrate': {
      loadDotEnv();
      const loaded = loadConfig(process.env, 'migrate');
      if (!loaded.ok) fail(['accessbot: configuration problems:', ...loaded.problems.map((p) => `  - ${p}`)]);
      await migrateDatabase(loaded.config.database.url);
      process.stdout.write('migrations applied\n');
      return;
    }
    case 'policy':
      return policyCommand(rest);
    case 'provider':
      return providerCommand(rest);
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      fail([`accessbot: unknown command "${command}"`, USAGE], 2);
  }
}

const POLICY_USAGE = 'usage: accessbot policy check <file> | diff <file> | apply <file> [--dry-run] | export';

async function policyCommand(args: string[]): Promise<void> {
  const [sub, file, ...extra] = args;
  if (sub === 'diff' || sub === 'apply' || sub === 'export') return policyVersionCommand(sub, file, extra);
  if (sub !== 'check' || !file) fail([POLICY_USAGE], 2);
  const result = await readCheckedPolicy(file);
  if (!result.ok) fail([`${file}: invalid policy`, ...result.errors.map((e) => `  - ${e}`)]);
  const roles = Object.values(result.policy.resources).reduce((n, r) => n + Object.keys(r.roles).length, 0);
  process.stdout.write(`${file}: valid (${Object.keys(result.policy.resources).length} resources, ${roles} roles)\n`);
  // Connections are resolved where the bot runs; here a missing variable is only worth a note.
  for (const note of missingConnectionEnv(result.policy, process.env)) process.stdout.write(`  note: ${note}\n`);
}

/**
 * A policy file read and validated as `check`, `diff` and `apply` do: the schema, then the rules only its
 * providers enforce (`role_kind: Role` needs a `namespace`), whichever variables are set here.
 */
async function readCheckedPolicy(file: string): ReturnType<typeof readPolicyFile> {
  const read = await readPolicyFile(file);
  if (!read.ok) return read;
  const problems = LiveProviderRegistry.settingsProblems(read.policy, file);
  return problems.length > 0 ? { ok: false, errors: problems } : read;
}

/**
 * `policy diff | apply | export`: the stored policy versions in DATABASE_URL, nothing else needed. `apply`
 * stores the file as source `cli`, applied by $USER; the running bots take it up within seconds.
 */
async function policyVersionCommand(sub: 'diff' | 'apply' | 'export', file: string | undefined, extra: string[]): Promise<void> {
  const dryRun = sub === 'apply' && extra.length === 1 && extra[0] === '--dry-run';
  const wellFormed = sub === 'export' ? file === undefined : file !== undefined && !file.startsWith('-') && (extra.length === 0 || dryRun);
  if (!wellFormed) fail([sub === 'export' ? 'usage: accessbot policy export' : `usage: accessbot policy ${sub} <file>${sub === 'apply' ? ' [--dry-run]' : ''}`], 2);
  loadDotEnv();
  const config = loadConfig(process.env, 'migrate');
  if (!config.ok) fail(['accessbot: configuration problems:', ...config.problems.map((p) => `  - ${p}`)]);
  const read = file === undefined ? null : await readCheckedPolicy(file);
  if (read && !read.ok) fail([`${file}: invalid policy`, ...read.errors.map((e) => `  - ${e}`)], sub === 'diff' ? 2 : 1);

  const database = openDatabase(config.config.database.url, { max: 1 });
  try {
    const versions = new PostgresPolicyVersions(database.db);
    const active = await versions.active().catch((error: unknown) => {
      // 42P01: undefined_table. The database has not been migrated to policy versions yet.
      if ((error as { cause?: { code?: unknown } }).cause?.code === '42P01' || (error as { code?: unknown }).code === '42P01') {
        fail(['accessbot: this database has no policy versions table yet; run accessbot migrate (or start the bot) first']);
      }
      throw error;
    });
    if (sub === 'export') {
      if (!active) fail(['accessbot: no policy has been applied to this database yet'], 1);
      process.stdout.write(active.text);
      return;
    }
    const text = read!.ok ? read!.text : '';
    const same = active?.text === text;
    const diff = lineDiff(active?.text ?? '', text);
    if (same) {
      process.stdout.write(`${file}: same as the version in force (v${active!.version})\n`);
    } else {
      process.stdout.write(`--- ${active ? describeVersion(active) : 'no version applied yet'}\n+++ ${file}\n${diff.text}\n`);
    }
    if (sub === 'diff') {
      process.exitCode = same ? 0 : 1;
      return;
    }
    if (read!.ok) for (const note of missingConnectionEnv(read!.policy, process.env)) process.stdout.write(`  note: ${note}\n`);
    if (same) return;
    if (dryRun) {
      process.stdout.write(`dry run: valid; would be stored as a new version (+${diff.added} -${diff.removed} lines); nothing stored\n`);
      return;
    }
    const actor = process.env.USER?.trim() || 'cli';
    const result = await versions.apply(text, actor, 'cli');
    if (!result.ok) fail([`${file}: invalid policy`, ...result.errors.map((e) => `  - ${e}`)]);
    process.stdout.write(
      result.changed
        ? `applied as version ${result.version} by ${actor}; running bots take it up within seconds\n`
        : `no change: same as the version in force (v${result.version})\n`,
    );
  } finally {
    await database.close();
  }
}

function describeVersion(v: StoredPolicy): string {
  return `v${v.version} in force (${v.source}, applied by ${v.appliedBy} at ${v.appliedAt.toISOString()})`;
}

/**
 * `provider check <resource>`: whether the bot reaches one resource's target and holds what granting and
 * revoking its roles' grants needs, changing nothing there. It needs ACCESS_POLICY and the variables that
 * resource names, not Slack, the database or Redis, so it reads those two itself rather than through a
 * `loadConfig` mode. Findings print one a line; values of the resource's variables never do.
 */
async function providerCommand(args: string[]): Promise<void> {
  const [sub, resource, ...extra] = args;
  if (sub !== 'check' || !resource || extra.length > 0) fail(['usage: accessbot provider check <resource>'], 2);
  loadDotEnv();
  const path = process.env.ACCESS_POLICY?.trim();
  if (!path) {
    fail(['accessbot: configuration problems:', '  - ACCESS_POLICY: not set; set it to the path of the policy file (start from examples/policy.yaml)']);
  }
  const loaded = await loadPolicyFile(path);
  if (!loaded.ok) fail([`${path}: invalid policy`, ...loaded.errors.map((e) => `  - ${e}`)]);
  const { policy } = loaded;
  const res = Object.hasOwn(policy.resources, resource) ? policy.resources[resource] : undefined;
  if (!res) {
    const known = Object.keys(policy.resources).sort();
    fail([`accessbot: unknown resource "${resource}"; known: ${known.length > 0 ? known.join(', ') : '(none)'}`], 2);
  }
  // Only this resource's provider: another resource's unset variable is not this check's business.
  let registry: ReturnType<typeof createProviderRegistry>;
  try {
    registry = createProviderRegistry({ ...policy, resources: { [resource]: res } }, process.env);
  } catch (error) {
    fail([`accessbot: ${error instanceof Error ? error.message : String(error)}`]);
  }
  const secrets = (providerDefinition(res.provider)?.envNames(res.settings) ?? [])
    .flatMap(({ variable }) => {
      const value = process.env[variable]?.trim() ?? '';
      return [value, ...urlPasswords(value)];
    })
    .filter((s) => s.length >= 4)
    .sort((a, b) => b.length - a.length);
  const clean = (text: string): string =>
    secrets.reduce((t, secret) => t.split(secret).join('***'), text).replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s@/]*@/gi, '$1***@');

  const grants = [...new Set(Object.values(res.roles).flatMap((role) => role.grants))];
  const provider = registry.forResource(resource);
  process.stdout.write(`${resource} (${res.provider}): checking ${grants.length === 1 ? '1 grant' : `${grants.length} grants`}, changing nothing\n`);
  let findings: { level: 'ok' | 'warn' | 'fail'; what: string }[];
  if (!provider.check) {
    findings = [{ level: 'warn', what: `the ${res.provider} provider has no check; nothing was verified` }];
  } else {
    try {
      findings = (await provider.check(grants)).findings;
    } catch (error) {
      findings = [{ level: 'fail', what: `the check itself failed: ${error instanceof Error ? error.message : String(error)}` }];
    }
  }
  const mark = { ok: '✓', warn: '!', fail: '✗' } as const;
  for (const f of findings) process.stdout.write(`  ${mark[f.level]} ${clean(f.what)}\n`);
  const failed = findings.filter((f) => f.level === 'fail').length;
  const warned = findings.filter((f) => f.level === 'warn').length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  process.stdout.write(
    failed > 0
      ? `${resource}: not ready (${plural(failed, 'problem')}${warned > 0 ? `, ${plural(warned, 'warning')}` : ''})\n`
      : `${resource}: ready${warned > 0 ? ` (${plural(warned, 'warning')})` : ''}\n`,
  );
  // Bounded: a connection that will not close must not keep the command from answering.
  await Promise.race([registry.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
  process.exit(failed > 0 ? 1 : 0);
}

async function serve(command: 'start' | 'web' | 'worker'): Promise<void> {
  loadDotEnv();
  const mode: Mode = command === 'start' ? 'all' : command;
  const loaded = loadConfig(process.env, mode);
  if (!loaded.ok) fail(['accessbot: configuration problems:', ...loaded.problems.map((p) => `  - ${p}`)]);
  const config = loaded.config;
  let bot;
  try {
    bot = await startAccessBot({ config, env: process.env, roles: { web: command !== 'worker', worker: command !== 'web' } });
  } catch (error) {
    if (error instanceof StartupError) fail(['accessbot: cannot start:', ...error.problems.map((p) => `  - ${p}`)]);
    throw error;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    bot.log.info({ signal }, 'stopping');
    // Bounded: if draining hangs, exit anyway; the reconciler repairs whatever was cut short.
    setTimeout(() => process.exit(1), 30_000).unref();
    void bot.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

run(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  fail([`accessbot: ${message.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s@/]*@/gi, '$1***@')}`]);
});
