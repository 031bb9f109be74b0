/**
 * The PostgreSQL provider in `mode: login` (an ephemeral login role per grant) against a real server that
 * checks passwords (SCRAM), connected as a realistic bot: a non-superuser with CREATEROLE, ADMIN OPTION on
 * the app roles and membership in `pg_signal_backend`. The shared test server trusts 127.0.0.1, where a
 * password proves nothing, so this file starts its own cluster (see `password-postgres.ts`).
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_TIMING_DEFAULTS, type Policy } from '../../src/domain/policy.js';
import { missingConnectionEnv } from '../../src/policy/load.js';
import { derivePassword, loginRoleName, requestIdOfLoginRole, scramVerifier } from '../../src/providers/postgres-login.js';
import { PostgresRoleProvider } from '../../src/providers/postgres-role.js';
import { createProviderRegistry } from '../../src/providers/registry.js';
import { PermanentProviderError, type GrantTarget } from '../../src/use-cases/ports.js';
import { uniqueSuffix } from '../support/env.js';
import { startPasswordPostgres, type PasswordPostgres } from '../support/password-postgres.js';
import { describeProviderContract } from './contract.js';

const sfx = uniqueSuffix();
const TARGET_DB = `target_${sfx}`;
const BOT = `bot_${sfx}`;
const BOT_PASSWORD = `bot-pw-${sfx}-s3cr3t`;
const APP_RW = `app_rw_${sfx}`;
const APP_RO = `app_ro_${sfx}`;
const HOSTILE = `x"; DROP TABLE victim; --${sfx}`;
const ALICE = `alice_${sfx}`;
const HOSTILE_PRINCIPAL = `d'Artagnan "${sfx}`;
const KEY = `login-key-${sfx}-0123456789abcdefghijklmnop`;

let pg: PasswordPostgres;
let admin: postgres.Sql;
let targetAdmin: postgres.Sql;
let provider: PostgresRoleProvider;
let n = 0;
const newRequestId = () => `req_${sfx}${(n++).toString(36)}`;

/** Runs DDL with server-side quoting. */
async function ddl(sql: postgres.Sql, template: string, ...names: string[]): Promise<void> {
  const [row] = await sql<{ stmt: string }[]>`SELECT format(${template}::text, VARIADIC ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(names)}::text::jsonb))) AS stmt`;
  await sql.unsafe(row!.stmt);
}

const target = (requestId: string, grants: string[], expiresAt = new Date(Date.now() + 3_600_000)): GrantTarget => ({
  requestId,
  principal: ALICE,
  grants,
  expiresAt,
});

/** A session as the request's login role, with the derived password. */
function loginAs(requestId: string, password = derivePassword(KEY, requestId)): postgres.Sql {
  return postgres(pg.urlAs(TARGET_DB, loginRoleName(requestId), password), { max: 1, onnotice: () => {}, connect_timeout: 5 });
}

async function tryLogin(requestId: string, password?: string): Promise<string> {
  const session = loginAs(requestId, password);
  try {
    const [row] = await session<{ v: string }[]>`SELECT v FROM secret`;
    return `read ${row?.v}`;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await session.end({ timeout: 1 });
  }
}

async function roleRow(requestId: string) {
  const [row] = await admin<{ login: boolean; until: Date | null; verifier: string | null; members: string[] }[]>`
    SELECT a.rolcanlogin AS login, a.rolvaliduntil AS until, a.rolpassword AS verifier,
           ARRAY(SELECT r.rolname::text FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = a.oid ORDER BY 1) AS members
    FROM pg_authid a WHERE a.rolname = ${loginRoleName(requestId)}`;
  return row;
}

beforeAll(async () => {
  pg = await startPasswordPostgres();
  admin = postgres(pg.adminUrlFor('postgres'), { max: 1, onnotice: () => {} });
  await ddl(admin, 'CREATE DATABASE %I', TARGET_DB);
  await ddl(admin, 'CREATE ROLE %I LOGIN CREATEROLE PASSWORD %L', BOT, BOT_PASSWORD);
  await ddl(admin, 'CREATE ROLE %I LOGIN', ALICE);
  await ddl(admin, 'CREATE ROLE %I LOGIN', HOSTILE_PRINCIPAL);
  for (const role of [APP_RW, APP_RO, HOSTILE]) {
    await ddl(admin, 'CREATE ROLE %I NOLOGIN', role);
    await ddl(admin, 'GRANT %I TO %I WITH ADMIN OPTION', role, BOT);
  }
  await ddl(admin, 'GRANT pg_signal_backend TO %I', BOT);

  targetAdmin = postgres(pg.adminUrlFor(TARGET_DB), { max: 1, onnotice: () => {} });
  await targetAdmin`CREATE TABLE secret (v text)`;
  await targetAdmin`INSERT INTO secret VALUES ('s3')`;
  await targetAdmin`REVOKE ALL ON secret FROM PUBLIC`;
  await ddl(targetAdmin, 'GRANT SELECT ON secret TO %I', APP_RW);
  await ddl(targetAdmin, 'GRANT CREATE ON SCHEMA public TO %I', APP_RW);
  await targetAdmin`CREATE TABLE victim (id int)`;

  provider = new PostgresRoleProvider({ url: pg.urlAs(TARGET_DB, BOT, BOT_PASSWORD), mode: 'login', passwordKey: KEY });
}, 60_000);

afterAll(async () => {
  await provider?.close();
  await targetAdmin?.end();
  await admin?.end();
  await pg?.destroy();
});

describeProviderContract('postgres (login)', () => ({
  provider,
  principal: ALICE,
  grants: [APP_RW, APP_RO],
  perGrantObjects: true,
  hostile: { principal: HOSTILE_PRINCIPAL, grant: HOSTILE },
}));

describe('postgres mode: login, grant', () => {
  it('creates a login role that logs in with the derived password and reads what only the granted role can', async () => {
    const id = newRequestId();
    const expiresAt = new Date(Date.now() + 3_600_000);
    expect(await tryLogin(id)).toBe('28P01'); // no such login yet
    await provider.grant(target(id, [APP_RW], expiresAt));

    const role = await roleRow(id);
    expect(role).toMatchObject({ login: true, members: [APP_RW] });
    expect(role!.until!.getTime()).toBe(expiresAt.getTime()); // VALID UNTIL: the end of the window
    expect(role!.verifier).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(await provider.held(target(id, [APP_RW, APP_RO]))).toEqual([APP_RW]);

    expect(await tryLogin(id)).toBe('read s3');
    expect(await tryLogin(id, 'not-the-password')).toBe('28P01');
    // A grant of a role without the table's privilege cannot read it.
    const other = newRequestId();
    await provider.grant(target(other, [APP_RO]));
    expect(await tryLogin(other)).toBe('42501');
    await provider.revoke(target(other, [APP_RO]));

    // The server logs every statement with its parameters: the verifier reached it, the password never did.
    const log = pg.serverLog();
    expect(log).toContain(loginRoleName(id));
    expect(log).toContain('SCRAM-SHA-256$4096:');
    expect(log).not.toContain(derivePassword(KEY, id));
    await provider.revoke(target(id, [APP_RW]));
  });

  it('granting twice changes nothing; an extension moves VALID UNTIL and keeps the password', async () => {
    const id = newRequestId();
    const first = new Date(Date.now() + 3_600_000);
    await provider.grant(target(id, [APP_RW], first));
    const verifier = (await roleRow(id))!.verifier;
    await provider.grant(target(id, [APP_RW], first));
    expect(await roleRow(id)).toMatchObject({ login: true, members: [APP_RW], verifier });
    expect((await roleRow(id))!.until!.getTime()).toBe(first.getTime());

    const later = new Date(first.getTime() + 1_800_000);
    await provider.grant(target(id, [APP_RW], later));
    const extended = await roleRow(id);
    expect(extended!.until!.getTime()).toBe(later.getTime());
    expect(extended!.verifier).toBe(verifier);
    expect(await tryLogin(id)).toBe('read s3');
    await provider.revoke(target(id, [APP_RW]));
  });

  it('refuses new logins once VALID UNTIL has passed (the target-side lock)', async () => {
    const id = newRequestId();
    await provider.grant(target(id, [APP_RW], new Date(Date.now() - 1_000)));
    expect(await tryLogin(id)).toBe('28P01');
    await provider.revoke(target(id, [APP_RW]));
  });

  it('refuses for good a role the bot cannot grant, and leaves no login behind', async () => {
    const id = newRequestId();
    const error = await provider.grant(target(id, [APP_RW, `no_such_role_${sfx}`])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(String((error as Error).message)).not.toContain(BOT_PASSWORD);
    expect(await roleRow(id)).toBeUndefined();
  });
});

describe('postgres mode: login, revoke', () => {
  it('ends an open session, drops the role, and succeeds again when it is gone', async () => {
    const id = newRequestId();
    await provider.grant(target(id, [APP_RW]));
    const session = loginAs(id);
    try {
      // A transaction pins one backend: the pool would otherwise reconnect after the termination.
      let revoked: Promise<void> = Promise.resolve();
      const outcome = session
        .begin(async (tx) => {
          expect(await tx`SELECT v FROM secret`).toEqual([{ v: 's3' }]);
          revoked = provider.revoke(target(id, [APP_RW]));
          await revoked;
          await tx`SELECT v FROM secret`;
        })
        .then(
          () => 'still connected',
          (error: { code?: string }) => error.code,
        );
      expect(await outcome).toBe('CONNECTION_CLOSED');
      // The session closes while the revoke still runs (the DROP comes after the termination).
      await revoked;
    } finally {
      await session.end({ timeout: 1 });
    }
    expect(await roleRow(id)).toBeUndefined();
    expect(await provider.held(target(id, [APP_RW]))).toEqual([]);
    expect(await tryLogin(id)).toBe('28P01');
    await provider.revoke(target(id, [APP_RW]));
    await provider.revoke(target(newRequestId(), [APP_RW])); // never granted
  });

  it('refuses to drop a role that owns objects, naming them, after locking it out; completes once they are gone', async () => {
    const id = newRequestId();
    await provider.grant(target(id, [APP_RW]));
    const session = loginAs(id);
    await session`CREATE TABLE mine (id int)`;
    await session.end();

    const error = await provider.revoke(target(id, [APP_RW])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(/owner of table mine/);
    expect((error as Error).message).toContain(loginRoleName(id));
    // Locked out in the meantime: no login, no role.
    expect(await roleRow(id)).toMatchObject({ login: false, members: [] });
    expect(await provider.held(target(id, [APP_RW]))).toEqual([]);

    await targetAdmin`DROP TABLE mine`;
    await provider.revoke(target(id, [APP_RW]));
    expect(await roleRow(id)).toBeUndefined();
  });
});

describe('postgres mode: login, the rest', () => {
  it('derives the credentials of the login, with the target host and database, never the bot', async () => {
    const id = newRequestId();
    const credentials = await provider.credentialsFor(target(id, [APP_RW]));
    const url = new URL(pg.urlAs(TARGET_DB, BOT, BOT_PASSWORD));
    expect(credentials).toEqual({
      username: loginRoleName(id),
      password: derivePassword(KEY, id),
      host: url.hostname,
      port: Number(url.port),
      database: TARGET_DB,
    });
    expect(JSON.stringify(credentials)).not.toContain(BOT);
    expect(credentials!.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const membership = new PostgresRoleProvider({ url: pg.urlAs(TARGET_DB, BOT, BOT_PASSWORD) });
    try {
      expect(await membership.credentialsFor(target(id, [APP_RW]))).toBeNull();
      expect(membership.perGrantObjects).toBe(false);
    } finally {
      await membership.close();
    }
  });

  it('lists the login roles it created, by request, for drift detection', async () => {
    const id = newRequestId();
    await provider.grant(target(id, [APP_RW, APP_RO]));
    const listed = (await provider.listGranted([APP_RW, APP_RO])).filter((o) => o.requestId === id);
    expect(listed).toEqual([
      { principal: loginRoleName(id), grant: APP_RO, requestId: id },
      { principal: loginRoleName(id), grant: APP_RW, requestId: id },
    ]);
    await provider.revoke({ ...target(id, [APP_RO]), principal: loginRoleName(id) }); // what drift's revoke sends
    expect(await provider.listGranted([APP_RW, APP_RO])).toEqual([]);
  });

  it('checks CREATEROLE', async () => {
    const ok = await provider.check([APP_RW]);
    expect(ok.findings.map((f) => `${f.level} ${f.what}`)).toContain(`ok "${BOT}" may create and drop the login roles (CREATEROLE)`);
    expect(ok.ok).toBe(true);
    const plain = `plainbot_${sfx}`;
    await ddl(admin, 'CREATE ROLE %I LOGIN PASSWORD %L', plain, BOT_PASSWORD);
    const weak = new PostgresRoleProvider({ url: pg.urlAs(TARGET_DB, plain, BOT_PASSWORD), mode: 'login', passwordKey: KEY });
    try {
      const report = await weak.check([APP_RW]);
      expect(report.ok).toBe(false);
      expect(report.findings.some((f) => f.level === 'fail' && f.what.includes('CREATEROLE'))).toBe(true);
    } finally {
      await weak.close();
      await ddl(admin, 'DROP ROLE %I', plain);
    }
  });

  it('names login roles within 63 bytes, lower case, one per request id', () => {
    expect(loginRoleName('req_7k2m9x4q1p')).toBe('jit_req_7k2m9x4q1p');
    expect(requestIdOfLoginRole('jit_req_7k2m9x4q1p')).toBe('req_7k2m9x4q1p');
    const odd = ['REQ-1', 'req-1', 'req_1'.repeat(30), 'ré q'];
    const names = odd.map(loginRoleName);
    for (const name of names) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
      expect(name).toMatch(/^jit_[a-z0-9_]+$/);
      expect(requestIdOfLoginRole(name)).toBeNull();
    }
    expect(new Set(names).size).toBe(odd.length);
    expect(derivePassword(KEY, 'req_a')).toBe(derivePassword(KEY, 'req_a'));
    expect(derivePassword(KEY, 'req_a')).not.toBe(derivePassword(KEY, 'req_b'));
    expect(derivePassword(`${KEY}x`, 'req_a')).not.toBe(derivePassword(KEY, 'req_a'));
    expect(scramVerifier('pencil', Buffer.alloc(16))).toMatch(/^SCRAM-SHA-256\$4096:A{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
  });
});

describe('postgres mode: login, settings', () => {
  const policyWith = (settings: Record<string, unknown>): Policy => ({
    version: 1,
    admins: [],
    principals: {},
    resources: {
      analytics: {
        provider: 'postgres',
        settings: { connection: { env: 'ANALYTICS_PG_URL' }, ...settings },
        principal: 'email-local-part',
        roles: { rw: { grants: [APP_RW], maxDurationMs: 3_600_000, approvers: { users: ['U2'] }, approvals: 1, channel: 'C1', ...ROLE_TIMING_DEFAULTS } },
      },
    },
  });
  const env = { ANALYTICS_PG_URL: 'postgres://bot:pw@db.internal:5432/prod', LOGIN_KEY: KEY };
  const message = (build: () => unknown): string => {
    try {
      build();
      return '';
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('builds a login-mode provider from the key the policy names', async () => {
    const registry = createProviderRegistry(policyWith({ mode: 'login', password_key: { env: 'LOGIN_KEY' } }), env);
    try {
      const p = registry.forResource('analytics') as PostgresRoleProvider;
      expect(p.mode).toBe('login');
      expect(p.perGrantObjects).toBe(true);
      expect(await p.credentialsFor(target('req_x', [APP_RW]))).toMatchObject({ host: 'db.internal', port: 5432, database: 'prod', username: 'jit_req_x' });
    } finally {
      await registry.close();
    }
  });

  it('refuses at start-up a missing, unset, short or misplaced key, naming the setting and never a value', () => {
    const login = policyWith({ mode: 'login', password_key: { env: 'LOGIN_KEY' } });
    expect(message(() => createProviderRegistry(policyWith({ mode: 'login' }), env))).toMatch(/resources\.analytics\.password_key: required with mode: login/);
    expect(message(() => createProviderRegistry(login, { ANALYTICS_PG_URL: env.ANALYTICS_PG_URL }))).toMatch(
      /resources\.analytics\.password_key\.env: environment variable LOGIN_KEY is not set/,
    );
    expect(missingConnectionEnv(login, { ANALYTICS_PG_URL: env.ANALYTICS_PG_URL })).toEqual([
      'resources.analytics.password_key.env: environment variable LOGIN_KEY is not set',
    ]);
    const short = message(() => createProviderRegistry(login, { ...env, LOGIN_KEY: 'short-secret' }));
    expect(short).toMatch(/LOGIN_KEY is too short/);
    expect(short).not.toContain('short-secret');
    expect(message(() => createProviderRegistry(policyWith({ password_key: { env: 'LOGIN_KEY' } }), env))).toMatch(/password_key: only used with mode: login/);
    expect(message(() => createProviderRegistry(policyWith({ mode: 'login', password_key: KEY }), env))).not.toContain(KEY);
  });
});
