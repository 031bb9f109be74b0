/**
 * `accessbot policy export | apply | diff` as child processes against this file's own database: the round
 * trip export → apply → diff shows no difference, apply stores a CLI version applied by $USER, --dry-run
 * stores nothing, and diff exits 1 with the changed lines; a rule only a provider enforces (a kubernetes Role
 * without a namespace, postgres login without password_key) fails check, diff and apply and stores nothing.
 * Only DATABASE_URL is given.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const POLICY = (maxDuration: string) => `# yaml-language-server: $schema=../schema/policy.schema.json
version: 1
admins: [U0ADMIN03]
resources:
  prod-db:
    provider: postgres
    connection: { env: PROD_DB_URL }
    roles:
      read:
        grants: [app_read]
        max_duration: ${maxDuration}
        approvers: { users: [U0BOB0002] }
        channel: C0APPROVE1
`;

let db: TestDatabase;
let raw: postgres.Sql;
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function accessbot(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, CLI, ...args],
      { cwd: dir, env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', DATABASE_URL: db.url, ...env }, timeout: 50_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  db = await createTestDatabase('clipolicy');
  raw = postgres(db.url, { max: 1, onnotice: () => {} });
  dir = await mkdtemp(join(tmpdir(), 'accessbot-policy-cli-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await raw?.end();
  await db?.drop();
});

describe('accessbot policy export | apply | diff', () => {
  it('round trip: apply, export, apply the export, diff shows no difference', async () => {
    const empty = await accessbot(['policy', 'export']);
    expect(empty).toMatchObject({ code: 1, stdout: '', stderr: 'accessbot: no policy has been applied to this database yet\n' });

    await writeFile(join(dir, 'policy.yaml'), POLICY('4h'));
    const dry = await accessbot(['policy', 'apply', 'policy.yaml', '--dry-run'], { USER: 'ops-alice' });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('+        max_duration: 4h');
    expect(dry.stdout).toContain('dry run: valid');
    expect((await raw`SELECT count(*)::int AS n FROM policy_versions`)[0]!.n).toBe(0);

    const applied = await accessbot(['policy', 'apply', 'policy.yaml'], { USER: 'ops-alice' });
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/applied as version \d+ by ops-alice/);
    const [row] = await raw`SELECT source, applied_by FROM policy_versions ORDER BY id DESC LIMIT 1`;
    expect(row).toEqual({ source: 'cli', applied_by: 'ops-alice' });
    const [audit] = await raw`SELECT actor, details FROM audit_events WHERE action = 'policy.applied'`;
    expect(audit).toMatchObject({ actor: 'ops-alice', details: { source: 'cli' } });

    const exported = await accessbot(['policy', 'export']);
    expect(exported).toEqual({ code: 0, stdout: POLICY('4h'), stderr: '' });
    await writeFile(join(dir, 'exported.yaml'), exported.stdout);

    const reapplied = await accessbot(['policy', 'apply', 'exported.yaml']);
    expect(reapplied.code).toBe(0);
    expect(reapplied.stdout).toMatch(/same as the version in force \(v\d+\)/);
    const diff = await accessbot(['policy', 'diff', 'exported.yaml']);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toMatch(/^exported\.yaml: same as the version in force \(v\d+\)\n$/);
    expect((await raw`SELECT count(*)::int AS n FROM policy_versions`)[0]!.n).toBe(1);
  }, 120_000);

  it('diff exits 1 showing the changed lines; an invalid file is refused and nothing is stored', async () => {
    await writeFile(join(dir, 'changed.yaml'), POLICY('2h'));
    const diff = await accessbot(['policy', 'diff', 'changed.yaml']);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(/^--- v\d+ in force \(cli, applied by ops-alice at .+\)\n\+\+\+ changed\.yaml\n@@ /);
    expect(diff.stdout).toContain('-        max_duration: 4h\n+        max_duration: 2h');

    await writeFile(join(dir, 'bad.yaml'), POLICY('2 hours'));
    const bad = await accessbot(['policy', 'apply', 'bad.yaml']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('bad.yaml: invalid policy');
    expect(bad.stderr).toContain('resources.prod-db.roles.read.max_duration');
    expect((await raw`SELECT count(*)::int AS n FROM policy_versions`)[0]!.n).toBe(1);

    const [usage, noDb] = await Promise.all([accessbot(['policy', 'apply']), accessbot(['policy', 'export'], { DATABASE_URL: '' })]);
    expect(usage).toMatchObject({ code: 2, stderr: 'usage: accessbot policy apply <file> [--dry-run]\n' });
    expect(noDb.code).toBe(1);
    expect(noDb.stderr).toContain('DATABASE_URL: not set');
  }, 120_000);

  it.each<[string, string, RegExp]>([
    ['a kubernetes Role without a namespace', '  k8s:\n    provider: kubernetes\n    role_kind: Role\n', /rule\.yaml: resources\.k8s\.role_kind: Role needs a namespace/],
    [
      'postgres mode: login without password_key',
      '  billing-db:\n    provider: postgres\n    mode: login\n    connection: { env: BILLING_DB_URL }\n',
      /rule\.yaml: resources\.billing-db\.password_key: required with mode: login/,
    ],
  ])('a rule only its provider enforces (%s): check, diff and apply refuse it, none needing the variables set, and nothing is stored', async (_name, resource, problem) => {
    const roles = '    roles:\n      read:\n        grants: [app_read]\n        max_duration: 1h\n        approvers: { users: [U0BOB0002] }\n        channel: C0APPROVE1\n';
    await writeFile(join(dir, 'rule.yaml'), POLICY('4h') + resource + roles);
    const before = (await raw`SELECT count(*)::int AS n FROM policy_versions`)[0]!.n;
    const [check, diff, dry, apply] = await Promise.all([
      accessbot(['policy', 'check', 'rule.yaml']),
      accessbot(['policy', 'diff', 'rule.yaml']),
      accessbot(['policy', 'apply', 'rule.yaml', '--dry-run']),
      accessbot(['policy', 'apply', 'rule.yaml'], { USER: 'ops-alice' }),
    ]);
    for (const run of [check, apply, dry]) {
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^rule\.yaml: invalid policy\n {2}- /);
      expect(run.stderr).toMatch(problem);
      expect(run.stderr).not.toMatch(/is not set|is empty/);
    }
    expect(diff.code).toBe(2);
    expect(diff.stderr).toMatch(problem);
    expect(check.stdout).toBe('');
    expect((await raw`SELECT count(*)::int AS n FROM policy_versions`)[0]!.n).toBe(before);
  }, 120_000);

  it('check still passes a valid file whose variables are unset here, only noting them', async () => {
    await writeFile(join(dir, 'noted.yaml'), POLICY('4h'));
    const check = await accessbot(['policy', 'check', 'noted.yaml']);
    expect(check).toMatchObject({ code: 0, stderr: '' });
    expect(check.stdout).toContain('noted.yaml: valid (1 resources, 1 roles)');
    expect(check.stdout).toContain('note: resources.prod-db.connection.env: environment variable PROD_DB_URL is not set');
  }, 120_000);
});
