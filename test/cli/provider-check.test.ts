/**
 * `accessbot provider check <resource>` as a child process (`node --import tsx src/cli.ts …`) against a real
 * PostgreSQL target: this file's own database and roles (random suffixes), a healthy bot and one missing
 * permissions. Asserts the printed lines, the exit codes (0 ready, 1 something missing, 2 usage), and that
 * neither the connection URL nor its password is ever printed. The child runs in a temporary directory, so
 * no `.env` of the working tree leaks in.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_URL, uniqueSuffix, urlFor } from '../support/env.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const sfx = uniqueSuffix();
const TARGET_DB = `cli_target_${sfx}`;
const BOT = `cli_bot_${sfx}`;
const WEAK = `cli_weak_${sfx}`;
const APP_READ = `cli_app_read_${sfx}`;
const APP_WRITE = `cli_app_write_${sfx}`;
/** Trust auth ignores it: it is here to prove the command never prints it. */
const PASSWORD = `pw-${sfx}-Secret`;

let admin: postgres.Sql;
let dir: string;
let major: number;

function urlAs(user: string, port?: string): string {
  const url = new URL(urlFor(TARGET_DB));
  url.username = user;
  url.password = PASSWORD;
  if (port) url.port = port;
  return url.toString();
}

async function ddl(template: string, ...names: string[]): Promise<void> {
  const [row] = await admin<{ stmt: string }[]>`SELECT format(${template}::text, VARIADIC ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(names)}::text::jsonb))) AS stmt`;
  await admin.unsafe(row!.stmt);
}

const POLICY = (readGrants: string[], writeGrants: string[]) => `version: 1
admins: [U0ADMIN03]
resources:
  prod-db:
    provider: postgres
    connection: { env: PROD_DB_URL }
    roles:
      read:
        grants: ${JSON.stringify(readGrants)}
        max_duration: 4h
        approvers: { users: [U0BOB0002] }
        approvals: 1
        channel: C0APPROVE1
      write:
        grants: ${JSON.stringify(writeGrants)}
        max_duration: 1h
        approvers: { users: [U0BOB0002] }
        approvals: 1
        channel: C0APPROVE1
  billing-db:
    provider: postgres
    connection: { env: BILLING_DB_URL }
    roles:
      read:
        grants: [billing_read]
        max_duration: 1h
        approvers: { users: [U0BOB0002] }
        approvals: 1
        channel: C0APPROVE1
`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command with only the variables given (BILLING_DB_URL stays unset: it must not matter). */
function accessbot(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, CLI, ...args],
      { cwd: dir, env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ...env }, timeout: 50_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function expectNoSecret(run: Run): void {
  for (const text of [run.stdout, run.stderr]) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(encodeURIComponent(PASSWORD));
    expect(text).not.toContain('postgres://');
  }
}

beforeAll(async () => {
  admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  const [row] = await admin<{ v: number }[]>`SELECT current_setting('server_version_num')::int AS v`;
  major = Math.floor(row!.v / 10_000);
  await ddl('CREATE DATABASE %I', TARGET_DB);
  for (const role of [BOT, WEAK]) await ddl('CREATE ROLE %I LOGIN', role);
  for (const role of [APP_READ, APP_WRITE]) await ddl('CREATE ROLE %I NOLOGIN', role);
  await ddl('GRANT %I TO %I WITH ADMIN OPTION', APP_READ, BOT);
  await ddl('GRANT %I TO %I WITH ADMIN OPTION', APP_WRITE, BOT);
  await ddl('GRANT pg_signal_backend TO %I', BOT);
  await ddl('GRANT %I TO %I WITH ADMIN OPTION', APP_READ, WEAK); // nothing else
  dir = await mkdtemp(join(tmpdir(), 'accessbot-provider-check-'));
  await writeFile(join(dir, 'policy.yaml'), POLICY([APP_READ], [APP_WRITE, APP_READ]));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  if (!admin) return;
  await ddl('DROP DATABASE IF EXISTS %I WITH (FORCE)', TARGET_DB);
  for (const role of [BOT, WEAK, APP_READ, APP_WRITE]) await ddl('DROP ROLE IF EXISTS %I', role);
  await admin.end();
});

describe('accessbot provider check', () => {
  it('prints ✓ lines and exits 0 for a bot that holds everything', async () => {
    const run = await accessbot(['provider', 'check', 'prod-db'], { ACCESS_POLICY: 'policy.yaml', PROD_DB_URL: urlAs(BOT) });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 5)).toEqual([
      'prod-db (postgres): checking 2 grants, changing nothing',
      `  ✓ connected as "${BOT}" (PostgreSQL ${major})`,
      `  ✓ "${BOT}" may end the principals' sessions (pg_signal_backend)`,
      `  ✓ may grant "${APP_READ}" (ADMIN OPTION)`,
      `  ✓ may grant "${APP_WRITE}" (ADMIN OPTION)`,
    ]);
    // PostgreSQL 16+ adds a warning per role the bot inherits (INHERIT FALSE, SET FALSE advice).
    if (major < 16) expect(lines.slice(5)).toEqual(['prod-db: ready']);
    else expect(lines.at(-1)).toMatch(/^prod-db: ready/);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expectNoSecret(run);
  });

  it('prints ✗ lines saying what is missing and exits 1', async () => {
    const run = await accessbot(['provider', 'check', 'prod-db'], { ACCESS_POLICY: 'policy.yaml', PROD_DB_URL: urlAs(WEAK) });
    expect(run.stdout.trimEnd().split('\n')).toEqual([
      'prod-db (postgres): checking 2 grants, changing nothing',
      `  ✓ connected as "${WEAK}" (PostgreSQL ${major})`,
      `  ✗ "${WEAK}" cannot end sessions, which revoke does: GRANT pg_signal_backend TO "${WEAK}"`,
      `  ✓ may grant "${APP_READ}" (ADMIN OPTION)`,
      `  ✗ cannot grant "${APP_WRITE}": no ADMIN OPTION on it; GRANT "${APP_WRITE}" TO "${WEAK}" WITH ADMIN OPTION`,
      'prod-db: not ready (2 problems)',
    ]);
    expect(run.code).toBe(1);
    expectNoSecret(run);
  });

  it('exits 1 when the target does not answer, printing neither the URL nor its password', async () => {
    const run = await accessbot(['provider', 'check', 'prod-db'], { ACCESS_POLICY: 'policy.yaml', PROD_DB_URL: urlAs(BOT, '1') });
    expect(run.stdout.trimEnd().split('\n')).toEqual([
      'prod-db (postgres): checking 2 grants, changing nothing',
      '  ✗ cannot connect: driver error ECONNREFUSED',
      'prod-db: not ready (1 problem)',
    ]);
    expect(run.code).toBe(1);
    expectNoSecret(run);
  });

  it('exits 2 on an unknown resource, listing the known ones, and on a malformed command', async () => {
    const malformed = [['provider'], ['provider', 'check'], ['provider', 'list'], ['provider', 'check', 'prod-db', 'extra']];
    const [unknown, ...usage] = await Promise.all(
      [['provider', 'check', 'prod'], ...malformed].map((args) => accessbot(args, { ACCESS_POLICY: 'policy.yaml' })),
    );
    expect(unknown!.stderr).toBe('accessbot: unknown resource "prod"; known: billing-db, prod-db\n');
    expect(unknown!.stdout).toBe('');
    expect(unknown!.code).toBe(2);
    for (const run of usage) {
      expect(run.stderr).toBe('usage: accessbot provider check <resource>\n');
      expect(run.code).toBe(2);
    }
  }, 60_000);

  it('exits 1 naming the variable, never a value, when configuration is missing', async () => {
    const [noVariable, noPolicy] = await Promise.all([
      accessbot(['provider', 'check', 'prod-db'], { ACCESS_POLICY: 'policy.yaml' }),
      accessbot(['provider', 'check', 'prod-db'], { PROD_DB_URL: urlAs(BOT) }),
    ]);
    expect(noVariable.stderr).toBe(
      'accessbot: invalid provider configuration:\n  resources.prod-db.connection.env: environment variable PROD_DB_URL is not set\n',
    );
    expect(noVariable.code).toBe(1);

    expect(noPolicy.stderr).toContain('ACCESS_POLICY: not set');
    expect(noPolicy.code).toBe(1);
    expectNoSecret(noPolicy);
  }, 60_000);
});
