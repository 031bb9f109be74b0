/**
 * Policy versions on a real PostgreSQL: every apply that changes the text is a new version with its diff
 * and its audit entry; the same text is not stored twice; invalid text stores nothing; the table refuses
 * UPDATE, DELETE and TRUNCATE; the file's start-up sync never overrides a newer Home-tab edit; and two
 * processes (two handles on one database) see each other's edits through `LivePolicy`.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import postgres from 'postgres';
import { openPolicy, StartupError } from '../../src/app.js';
import { LivePolicy } from '../../src/policy/live-policy.js';
import { policyEnvValues } from '../../src/policy/load.js';
import { SecretSet, createLogger } from '../../src/observability/logger.js';
import { PassThrough } from 'node:stream';
import { openDatabase, type DatabaseHandle } from '../../src/store/db.js';
import { PostgresPolicyVersions, sha256 } from '../../src/store/policy-versions.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const policyText = (maxDuration = '4h', extra = '') => `version: 1
admins: [U0ADMIN03]
resources:
  prod-db:
    provider: postgres
    connection: { env: PROD_DB_URL }
    roles:
      read:
        grants: [app_read]
        max_duration: ${maxDuration}
        approvers: { users: [U0BOB0002, U0CAROL03] }
        channel: C0APPROVE1
${extra}`;

let db: TestDatabase;
let a: DatabaseHandle;
let b: DatabaseHandle;
let raw: postgres.Sql;

beforeAll(async () => {
  db = await createTestDatabase('policyversions');
  a = openDatabase(db.url, { max: 2 });
  b = openDatabase(db.url, { max: 2 });
  raw = postgres(db.url, { max: 1, onnotice: () => {} });
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), raw?.end()]);
  await db?.drop();
});

describe('PostgresPolicyVersions', () => {
  it('stores a version per changed text, with its hash, diff and audit entry, and dedupes the same text', async () => {
    const versions = new PostgresPolicyVersions(a.db);
    expect(await versions.active()).toBeNull();
    expect(await versions.activeVersion()).toBeNull();

    const first = await versions.apply(policyText(), 'file', 'file');
    expect(first).toEqual({ ok: true, version: expect.any(Number), changed: true });
    const again = await versions.apply(policyText(), 'U0ADMIN03', 'home');
    expect(again).toEqual({ ok: true, version: (first as { version: number }).version, changed: false });

    const second = await versions.apply(policyText('2h'), 'U0ADMIN03', 'home');
    expect(second).toMatchObject({ ok: true, changed: true });
    const v2 = (second as { version: number }).version;
    expect(v2).toBeGreaterThan((first as { version: number }).version);

    const active = await versions.active();
    expect(active).toMatchObject({ version: v2, text: policyText('2h'), sha256: sha256(policyText('2h')), appliedBy: 'U0ADMIN03', source: 'home' });
    expect(active!.diff).toContain('-        max_duration: 4h');
    expect(active!.diff).toContain('+        max_duration: 2h');
    expect(await versions.activeVersion()).toBe(v2);

    const list = await versions.list(10);
    expect(list.map((v) => v.version)).toEqual([v2, (first as { version: number }).version]);
    expect(list[1]!.diff.split('\n').filter((l) => l.startsWith('+')).length).toBe(policyText().trimEnd().split('\n').length);

    const audit = await raw`SELECT actor, details FROM audit_events WHERE action = 'policy.applied' ORDER BY id`;
    expect(audit.map((r) => r.actor)).toEqual(['file', 'U0ADMIN03']);
    expect(audit[1]!.details).toMatchObject({ version: v2, source: 'home', diff: '+1 -1 lines' });
  });

  it('refuses invalid text with the parser errors, storing nothing', async () => {
    const versions = new PostgresPolicyVersions(a.db);
    const before = await versions.activeVersion();
    const result = await versions.apply(policyText('4 hours'), 'U0ADMIN03', 'home');
    expect(result.ok).toBe(false);
    expect((result as { errors: string[] }).errors.join('\n')).toContain('resources.prod-db.roles.read.max_duration');
    expect(await versions.apply('version: [', 'cli', 'cli')).toMatchObject({ ok: false });
    expect(await versions.activeVersion()).toBe(before);
  });

  it('is append-only: UPDATE, DELETE and TRUNCATE are refused by the database', async () => {
    const refused = { code: '42501', message: expect.stringContaining('policy_versions is append-only') };
    await expect(raw`UPDATE policy_versions SET applied_by = 'someone-else'`).rejects.toMatchObject(refused);
    await expect(raw`DELETE FROM policy_versions`).rejects.toMatchObject(refused);
    await expect(raw`TRUNCATE policy_versions`).rejects.toMatchObject(refused);
    await expect(raw`INSERT INTO policy_versions (text, sha256, applied_by, source, diff) VALUES ('x', 'y', 'z', 'slack', '')`).rejects.toMatchObject({
      code: '23514',
    });
  });

  it('serialises concurrent applies: each stored once, consecutive versions', async () => {
    const [x, y] = [new PostgresPolicyVersions(a.db), new PostgresPolicyVersions(b.db)];
    const results = await Promise.all([x.apply(policyText('3h'), 'cli', 'cli'), y.apply(policyText('3h'), 'cli', 'cli')]);
    expect(results.filter((r) => r.ok && r.changed)).toHaveLength(1);
    const [top, next] = await x.list(2);
    expect(top!.text).toBe(policyText('3h'));
    expect(next!.text).not.toBe(policyText('3h'));
  });
});

describe('the file at start-up (source file)', () => {
  it('stores the file only when it changed since it was last seen; a newer Home-tab edit is kept', async () => {
    const fresh = await createTestDatabase('policyfile');
    const handle = openDatabase(fresh.url, { max: 2 });
    try {
      const versions = new PostgresPolicyVersions(handle.db);
      const fileA = policyText('4h');
      const v1 = await versions.apply(fileA, 'file', 'file');
      expect(v1).toMatchObject({ ok: true, changed: true });
      // Restart, file unchanged: nothing new.
      expect(await versions.apply(fileA, 'file', 'file')).toEqual({ ok: true, version: (v1 as { version: number }).version, changed: false });
      // A Home-tab edit, then restarts with the same file: the edit stays in force.
      const home = await versions.apply(policyText('1h'), 'U0ADMIN03', 'home');
      expect(home).toMatchObject({ ok: true, changed: true });
      expect(await versions.apply(fileA, 'file', 'file')).toMatchObject({ ok: true, changed: false });
      expect(await versions.apply(fileA, 'file', 'file')).toMatchObject({ ok: true, changed: false });
      expect((await versions.active())!.source).toBe('home');
      // The file changes: it is in force, as a new version.
      const fileB = policyText('8h');
      const v3 = await versions.apply(fileB, 'file', 'file');
      expect(v3).toMatchObject({ ok: true, changed: true });
      expect(await versions.active()).toMatchObject({ source: 'file', text: fileB, appliedBy: 'file' });
      // A CLI apply of the same text as the file, then a Home edit: the unchanged file still does not win.
      await versions.apply(policyText('2h'), 'U0ADMIN03', 'home');
      expect(await versions.apply(fileB, 'file', 'file')).toMatchObject({ changed: false });
      expect((await versions.active())!.text).toBe(policyText('2h'));
      expect((await versions.list(100)).map((v) => v.source)).toEqual(['home', 'file', 'home', 'file']);
    } finally {
      await handle.close();
      await fresh.drop();
    }
  });
});

describe('LivePolicy', () => {
  it('follows edits made by another process within its refresh interval, and at once after its own apply', async () => {
    const one = await LivePolicy.load(new PostgresPolicyVersions(a.db), { refreshMs: 100 });
    const changes: number[] = [];
    const two = await LivePolicy.load(new PostgresPolicyVersions(b.db), { refreshMs: 100, onChange: (_p, s) => changes.push(s.version) });
    try {
      const maxOf = (live: LivePolicy) => live.current().resources['prod-db']!.roles['read']!.maxDurationMs;
      const applied = await one.apply(policyText('30m'), 'U0ADMIN03', 'home');
      expect(applied).toMatchObject({ ok: true, changed: true });
      expect(maxOf(one)).toBe(30 * 60_000); // at once, here
      await vi.waitFor(() => expect(maxOf(two)).toBe(30 * 60_000), { timeout: 5_000, interval: 20 }); // within the interval, there
      expect(changes).toEqual([(applied as { version: number }).version]);
      expect(two.stored().version).toBe((applied as { version: number }).version);

      // A role added by a later version is requestable everywhere.
      const withRole = policyText('30m', `      write:
        grants: [app_write]
        max_duration: 1h
        approvers: { users: [U0BOB0002, U0CAROL03] }
        channel: C0APPROVE1
`);
      expect(await two.apply(withRole, 'U0ADMIN03', 'home')).toMatchObject({ ok: true, changed: true });
      await vi.waitFor(() => expect(Object.keys(one.current().resources['prod-db']!.roles)).toEqual(['read', 'write']), { timeout: 5_000, interval: 20 });
    } finally {
      one.stop();
      two.stop();
    }
  });

  it('refuses an edit its check rejects, and keeps the policy in force when a version does not parse here', async () => {
    const live = await LivePolicy.load(new PostgresPolicyVersions(a.db), { refreshMs: 0, check: () => ['resources.prod-db.connection.env: environment variable PROD_DB_URL is not set'] });
    try {
      const before = live.stored().version;
      expect(await live.apply(policyText('45m'), 'U0ADMIN03', 'home')).toEqual({
        ok: false,
        errors: ['resources.prod-db.connection.env: environment variable PROD_DB_URL is not set'],
      });
      expect(await live.activeVersion()).toBe(before);
      expect(await live.refresh()).toBe(false);
      // A version written by a release that understands more than this one: skipped here, logged once.
      await raw`INSERT INTO policy_versions (text, sha256, applied_by, source, diff) VALUES ('version: 2', 'x', 'cli', 'cli', '')`;
      expect(await live.refresh()).toBe(false);
      expect(live.stored().version).toBe(before);
      expect(live.current().resources['prod-db']).toBeDefined();
    } finally {
      live.stop();
    }
  });
});

describe('openPolicy (start-up)', () => {
  const env = { PROD_DB_URL: 'postgres://bot@127.0.0.1:1/target' };
  const silent = { debug() {}, info() {}, warn() {}, error() {} };

  it('seeds from the file, stores a changed file, keeps a newer Home-tab edit over an unchanged file', async () => {
    const fresh = await createTestDatabase('policystart');
    const handle = openDatabase(fresh.url, { max: 2 });
    const start = async (text: string) => {
      const opened = await openPolicy(handle.db, text, env, silent, { refreshMs: 0 });
      opened.policy.stop();
      await opened.providers.close();
      return opened;
    };
    try {
      const first = await start(policyText('4h'));
      expect(first.file.changed).toBe(true);
      const unchanged = await start(policyText('4h'));
      expect(unchanged.file).toEqual({ version: first.file.version, changed: false });

      const changed = await start(policyText('6h'));
      expect(changed.file.changed).toBe(true);
      expect(changed.policy.current().resources['prod-db']!.roles['read']!.maxDurationMs).toBe(6 * 3_600_000);

      const home = await new PostgresPolicyVersions(handle.db).apply(policyText('1h'), 'U0ADMIN03', 'home');
      const restarted = await start(policyText('6h'));
      expect(restarted.file.changed).toBe(false);
      expect(restarted.policy.stored()).toMatchObject({ version: (home as { version: number }).version, source: 'home' });
      expect(restarted.policy.current().resources['prod-db']!.roles['read']!.maxDurationMs).toBe(3_600_000);
    } finally {
      await handle.close();
      await fresh.drop();
    }
  });

  it('hands every policy that comes into force to onPolicy, so the values of the variables it names are masked in logs', async () => {
    const fresh = await createTestDatabase('policystart');
    const handle = openDatabase(fresh.url, { max: 2 });
    const key = 'k3y-for-login-passwords-0123456789abcdefXYZ';
    const withKey = { ...env, BILLING_DB_URL: 'postgres://bot@127.0.0.1:1/billing', BILLING_PW_KEY: key };
    const secrets = new SecretSet();
    let out = '';
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => (out += c.toString()));
    const log = createLogger({ level: 'debug', secrets, destination: stream });
    const opened = await openPolicy(handle.db, policyText(), withKey, silent, {
      refreshMs: 0,
      onPolicy: (p) => secrets.add(policyEnvValues(p, withKey)),
    });
    try {
      expect(secrets.values()).toEqual([env.PROD_DB_URL]);
      // A newer version (the Home tab of another process) names a login-mode resource and its key.
      const billing = `  billing-db:
    provider: postgres
    mode: login
    connection: { env: BILLING_DB_URL }
    password_key: { env: BILLING_PW_KEY }
    roles:
      read:
        grants: [app_read]
        max_duration: 1h
        approvers: { users: [U0BOB0002] }
        channel: C0APPROVE1
`;
      await new PostgresPolicyVersions(handle.db).apply(policyText('4h', billing), 'U0ADMIN03', 'home');
      expect(await opened.policy.refresh()).toBe(true);
      expect(secrets.values()).toContain(key);
      log.error({ err: new Error(`derivation failed with ${key}`) }, `key ${key} rejected`);
      expect(out).not.toContain(key);
      expect(out).toContain('[redacted]');
    } finally {
      opened.policy.stop();
      await opened.providers.close();
      await handle.close();
      await fresh.drop();
    }
  });

  it.each<[string, string, RegExp]>([
    ['a kubernetes Role without a namespace', '  k8s:\n    provider: kubernetes\n    role_kind: Role\n', /^policy file: resources\.k8s\.role_kind: Role needs a namespace/],
    ['postgres mode: login without password_key', '  billing-db:\n    provider: postgres\n    mode: login\n    connection: { env: BILLING_DB_URL }\n', /^policy file: resources\.billing-db\.password_key: required with mode: login/],
  ])('refuses a file with %s before storing it, so no other process follows it', async (_name, resource, problem) => {
    const fresh = await createTestDatabase('policystart');
    const handle = openDatabase(fresh.url, { max: 2 });
    const count = async () => (await new PostgresPolicyVersions(handle.db).list(100)).length;
    const roles = '    roles:\n      read:\n        grants: [app_read]\n        max_duration: 1h\n        approvers: { users: [U0BOB0002] }\n        channel: C0APPROVE1\n';
    const withAll = { ...env, BILLING_DB_URL: 'postgres://bot@127.0.0.1:1/billing' };
    try {
      const first = await openPolicy(handle.db, policyText(), withAll, silent, { refreshMs: 0 });
      first.policy.stop();
      await first.providers.close();
      expect(await count()).toBe(1);
      const started = openPolicy(handle.db, policyText('4h', resource + roles), withAll, silent, { refreshMs: 0 });
      await expect(started).rejects.toThrow(StartupError);
      await expect(started).rejects.toMatchObject({ problems: [expect.stringMatching(problem)] });
      expect(await count()).toBe(1);
    } finally {
      await handle.close();
      await fresh.drop();
    }
  });

  it('refuses to start when the version in force names a variable this process lacks', async () => {
    const fresh = await createTestDatabase('policystart');
    const handle = openDatabase(fresh.url, { max: 2 });
    try {
      await expect(openPolicy(handle.db, policyText(), {}, silent, { refreshMs: 0 })).rejects.toThrow(StartupError);
    } finally {
      await handle.close();
      await fresh.drop();
    }
  });
});
