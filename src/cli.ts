#!/usr/bin/env node
/**
 * The `accessbot` command. `start` runs the web server and the workers in one process (what `npm start`
 * does); `web` and `worker` run them apart; `migrate` applies migrations; `policy check <file>` validates a
 * policy file. Everything a user can get wrong is reported as plain lines and a non-zero exit, never a stack.
 */
import { StartupError, startAccessBot } from './app.js';
import { loadConfig, type Mode } from './config.js';
import { loadPolicyFile, missingConnectionEnv } from './policy/load.js';
import { migrateDatabase } from './store/migrate.js';

const USAGE = `usage: accessbot <command>
  start                 web server and workers in one process (applies migrations first)
  web                   the Slack endpoint and health checks only
  worker                the grant, revoke, delivery and reconcile workers only
  migrate               apply pending database migrations and exit
  policy check <file>   validate a policy file and exit (0 = valid)`;

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
