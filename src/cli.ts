#!/usr/bin/env node
/**
 * The `accessbot` command. `start` runs the web server and the workers in one process (what `npm start`
 * does); `web` and `worker` run them apart; `migrate` applies migrations; `policy check <file>` validates a
 * policy file; `provider check <resource>` checks one resource's target. Everything a user can get wrong is reported as plain lines and a non-zero exit, never a stack.
 */
import { StartupError, startAccessBot } from './app.js';
import { loadConfig, type Mode } from './config.js';
import { loadPolicyFile, missingConnectionEnv } from './policy/load.js';
import { providerDefinition } from './providers/catalog.js';
import { createProviderRegistry } from './providers/registry.js';
import { migrateDatabase } from './store/migrate.js';

const USAGE = `usage: accessbot <command>
  start                 web server and workers in one process (applies migrations first)
  web                   the Slack endpoint and health checks only
  worker                the grant, revoke, delivery and reconcile workers only
  migrate               apply pending database migrations and exit
  policy check <file>   validate a policy file and exit (0 = valid)
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

async function policyCommand(args: string[]): Promise<void> {
  const [sub, file] = args;
  if (sub !== 'check' || !file) fail(['usage: accessbot policy check <file>'], 2);
  const result = await loadPolicyFile(file);
  if (!result.ok) fail([`${file}: invalid policy`, ...result.errors.map((e) => `  - ${e}`)]);
  const roles = Object.values(result.policy.resources).reduce((n, r) => n + Object.keys(r.roles).length, 0);
  process.stdout.write(`${file}: valid (${Object.keys(result.policy.resources).length} resources, ${roles} roles)\n`);
  // Connections are resolved where the bot runs; here a missing variable is only worth a note.
  for (const note of missingConnectionEnv(result.policy, process.env)) process.stdout.write(`  note: ${note}\n`);
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
      let password = '';
      try {
        password = new URL(value).password;
      } catch {
        // not a URL
      }
      return [value, password, password && decodeURIComponent(password)];
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
