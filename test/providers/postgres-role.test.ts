/**
 * The PostgreSQL membership provider against the real local server, connected as a realistic bot: a
 * non-superuser with ADMIN OPTION on the app roles and membership in `pg_signal_backend`.
 * Roles are cluster-global and other test files share the server, so every name carries a random suffix and
 * the target database is this file's own.
 */
import { ROLE_TIMING_DEFAULTS } from '../../src/domain/policy.js';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeProviderContract } from './contract.js';
import type { Policy } from '../../src/domain/policy.js';
import { PostgresRoleProvider } from '../../src/providers/postgres-role.js';
import { createProviderRegistry } from '../../src/providers/registry.js';
import { PermanentProviderError } from '../../src/use-cases/ports.js';
import { ADMIN_URL, uniqueSuffix, urlFor } from '../support/env.js';
import { holdInTransaction } from '../support/locks.js';
import { expectRefusedForGood, expectUnreachableRetryable, failure } from '../support/provider-errors.js';

const sfx = uniqueSuffix();
const TARGET_DB = `target_${sfx}`;
const BOT = `bot_${sfx}`;
const ALICE = `alice_${sfx}`;
const BOB = `bob_${sfx}`;
const CAROL = `carol_${sfx}`;
const APP_RW = `app_rw_${sfx}`;
const APP_RO = `app_ro_${sfx}`;
const HOSTILE = `x"; DROP TABLE victim; --${sfx}`;
const UNICODE = `Rôle ünïcode 🔑 ${sfx}`;
const HOSTILE_PRINCIPAL = `d'Artagnan "${sfx}`;
const MISSING = `nobody_${sfx}`;
const APP_ROLES = [APP_RW, APP_RO, HOSTILE, UNICODE];
const DAVE = `dave_${sfx}`; // holds nothing: the contract suite's principal
const ERIN = `erin_${sfx}`; // timeouts
const PRINCIPALS = [ALICE, BOB, CAROL, DAVE, ERIN, HOSTILE_PRINCIPAL];
/** Trust auth ignores it, so it only serves to prove that no error text carries it. */
const PASSWORD = `pw-${sfx}-secret`;

function urlAs(user: string, password?: string): string {
  const url = new URL(urlFor(TARGET_DB));
  url.username = encodeURIComponent(user);
  if (password) url.password = password;
  return url.toString();
}
const BOT_URL = urlAs(BOT, PASSWORD);

let admin: postgres.Sql; // superuser, cluster level
let targetAdmin: postgres.Sql; // superuser, in the target database
let provider: PostgresRoleProvider;

/** Runs DDL with server-side quoting, the way the provider does. */
async function ddl(sql: postgres.Sql, template: string, ...names: string[]): Promise<void> {
  const [row] = await sql<{ stmt: string }[]>`SELECT format(${template}::text, VARIADIC ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(names)}::text::jsonb))) AS stmt`;
  await sql.unsafe(row!.stmt);
}

async function isMember(principal: string, role: string): Promise<boolean> {
  const [row] = await admin<{ member: boolean }[]>`SELECT pg_has_role(${principal}::name, ${role}::name, 'MEMBER') AS member`;
  return row!.member;
}

async function membershipRows(principal: string, role: string): Promise<number> {
  const [row] = await admin<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_auth_members m
    WHERE m.member = ${principal}::regrole AND m.roleid = ${role}::regrole`;
  return row!.n;
}

beforeAll(async () => {
  admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await ddl(admin, 'CREATE DATABASE %I', TARGET_DB);
  await ddl(admin, 'CREATE ROLE %I LOGIN', BOT);
  for (const principal of PRINCIPALS) await ddl(admin, 'CREATE ROLE %I LOGIN', principal);
  for (const role of APP_ROLES) {
    await ddl(admin, 'CREATE ROLE %I NOLOGIN', role);
    await ddl(admin, 'GRANT %I TO %I WITH ADMIN OPTION', role, BOT);
  }
  await ddl(admin, 'GRANT pg_signal_backend TO %I', BOT);

  targetAdmin = postgres(urlFor(TARGET_DB), { max: 1, onnotice: () => {} });
  await targetAdmin`CREATE TABLE secret (v text)`;
  await targetAdmin`INSERT INTO secret VALUES ('s3')`;
  await targetAdmin`REVOKE ALL ON secret FROM PUBLIC`;
  await ddl(targetAdmin, 'GRANT SELECT ON secret TO %I', APP_RW);
  // The canary is the bot's own, so an injected DROP TABLE run as the bot would succeed.
  await targetAdmin`CREATE TABLE victim (id int)`;
  await ddl(targetAdmin, 'ALTER TABLE victim OWNER TO %I', BOT);

  provider = new PostgresRoleProvider({ url: BOT_URL });
});

afterAll(async () => {
  await provider?.close();
  await targetAdmin?.end();
  if (!admin) return;
  await ddl(admin, 'DROP DATABASE IF EXISTS %I WITH (FORCE)', TARGET_DB);
  for (const role of [...PRINCIPALS, ...APP_ROLES, BOT]) await ddl(admin, 'DROP ROLE IF EXISTS %I', role);
  await admin.end();
});

const expiresAt = new Date(Date.now() + 3_600_000);
/** A grant target as the use cases build it. */
const t = (principal: string, grants: string[]) => ({ requestId: 'req_test', principal, grants, expiresAt });

describeProviderContract('postgres (membership)', () => ({
  provider,
  principal: DAVE,
  grants: [APP_RW, APP_RO],
  perGrantObjects: false,
  hostile: { principal: HOSTILE_PRINCIPAL, grant: HOSTILE },
}));

describe('PostgresRoleProvider grant and revoke', () => {
  it('grants the membership, and granting twice leaves one membership', async () => {
    await provider.grant(t(ALICE, [APP_RW, APP_RO]));
    await provider.grant(t(ALICE, [APP_RW, APP_RO]));
    expect(await isMember(ALICE, APP_RW)).toBe(true);
    expect(await isMember(ALICE, APP_RO)).toBe(true);
    expect(await membershipRows(ALICE, APP_RW)).toBe(1);
    expect(await provider.held(t(ALICE, [APP_RO, APP_RW, UNICODE]))).toEqual([APP_RO, APP_RW]);
  });

  it('revokes the membership; revoking again, never granted, or for a missing principal or role succeeds', async () => {
    await provider.revoke(t(ALICE, [APP_RW, APP_RO]));
    expect(await isMember(ALICE, APP_RW)).toBe(false);
    expect(await isMember(ALICE, APP_RO)).toBe(false);
    await provider.revoke(t(ALICE, [APP_RW, APP_RO]));
    await provider.revoke(t(BOB, [APP_RW]));
    await provider.revoke(t(MISSING, [APP_RW]));
    await provider.revoke(t(ALICE, [`no_such_role_${sfx}`]));
    expect(await provider.held(t(ALICE, [APP_RW, APP_RO]))).toEqual([]);
  });

  it('reports a membership granted by someone else, and nothing for a principal that does not exist', async () => {
    await ddl(admin, 'GRANT %I TO %I', APP_RO, CAROL);
    expect(await provider.held(t(CAROL, [APP_RW, APP_RO]))).toEqual([APP_RO]);
    expect(await provider.held(t(MISSING, [APP_RW, APP_RO]))).toEqual([]);
    expect(await provider.held(t(CAROL, []))).toEqual([]);
  });

  it('ends a session that ran SET ROLE, which REVOKE alone would leave reading', async () => {
    await provider.grant(t(BOB, [APP_RW]));
    const session = postgres(urlAs(BOB), { max: 1, onnotice: () => {} });
    try {
      const [{ pid }] = (await session`SELECT pg_backend_pid() AS pid`) as unknown as [{ pid: number }];
      await ddl(session, 'SET ROLE %I', APP_RW);
      expect(await session`SELECT current_user AS u, (SELECT v FROM secret) AS v`).toEqual([{ u: APP_RW, v: 's3' }]);

      await provider.revoke(t(BOB, [APP_RW]));
      // The backend that held the role is gone (asked from another session, so the test does not depend on
      // how the driver reports a terminated connection)...
      expect(await targetAdmin`SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ${pid}`).toEqual([{ n: 0 }]);
      // ...and a fresh session can no longer take the role.
      await expect(ddl(session, 'SET ROLE %I', APP_RW)).rejects.toMatchObject({ code: '42501' });
      expect(await isMember(BOB, APP_RW)).toBe(false);
    } finally {
      await session.end();
    }
  });

  it('quotes hostile and unicode identifiers, so they are granted as names and never run as SQL', async () => {
    await provider.grant(t(HOSTILE_PRINCIPAL, [HOSTILE, UNICODE]));
    expect(await isMember(HOSTILE_PRINCIPAL, HOSTILE)).toBe(true);
    expect(await isMember(HOSTILE_PRINCIPAL, UNICODE)).toBe(true);
    expect(await provider.held(t(HOSTILE_PRINCIPAL, [UNICODE, HOSTILE]))).toEqual([UNICODE, HOSTILE]);

    await provider.revoke(t(HOSTILE_PRINCIPAL, [HOSTILE, UNICODE]));
    expect(await isMember(HOSTILE_PRINCIPAL, HOSTILE)).toBe(false);
    expect(await isMember(HOSTILE_PRINCIPAL, UNICODE)).toBe(false);
    expect(await targetAdmin`SELECT to_regclass('public.victim') IS NOT NULL AS present`).toEqual([{ present: true }]);
  });
});

describe('PostgresRoleProvider errors', () => {
  it('refuses for good a role or principal that does not exist, and grants nothing', async () => {
    await expectRefusedForGood(provider.grant(t(ALICE, [APP_RW, `no_such_role_${sfx}`])), `no_such_role_${sfx}`, { url: BOT_URL, password: PASSWORD });
    // One transaction: the good role was rolled back with the bad one.
    expect(await isMember(ALICE, APP_RW)).toBe(false);

    await expectRefusedForGood(provider.grant(t(MISSING, [APP_RW])), MISSING, { url: BOT_URL, password: PASSWORD });
  });

  it('refuses for good a role the bot has no ADMIN OPTION on', async () => {
    const error = await failure(provider.grant(t(ALICE, ['pg_monitor'])));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error.message).toContain('42501');
  });

  it('keeps an unreachable server retryable and its URL out of the error', async () => {
    const url = `postgres://${BOT}:${PASSWORD}@127.0.0.1:1/${TARGET_DB}`;
    await expectUnreachableRetryable(new PostgresRoleProvider({ url }), t(ALICE, [APP_RW]), { url, password: PASSWORD, host: '127.0.0.1' });
  });

  it('refuses a name PostgreSQL would truncate', async () => {
    await expect(provider.grant(t(ALICE, ['r'.repeat(64)]))).rejects.toBeInstanceOf(PermanentProviderError);
  });
});

describe('PostgresRoleProvider timeouts: a statement blocked by a lock on the target', () => {
  /** The rejection of `promise`, and how long it took to come. */
  async function timed(promise: Promise<unknown>): Promise<{ error: Error; ms: number }> {
    const started = Date.now();
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    return { error: error as Error, ms: Date.now() - started };
  }
  /** A DBA's open transaction on the target, holding `statement`'s locks until released (rolled back). */
  const dba = (template: string, role: string, principal: string) => holdInTransaction(urlFor(TARGET_DB), [template.replace('%R', `"${role}"`).replace('%P', `"${principal}"`)]);

  it('a REVOKE behind an uncommitted REVOKE fails retryably after lock_timeout; the retry after the lock goes revokes', async () => {
    const bounded = new PostgresRoleProvider({ url: BOT_URL, timeouts: { lockMs: 1_000, statementMs: 10_000 } });
    try {
      await bounded.grant(t(ERIN, [APP_RW]));
      const lock = await dba('REVOKE %R FROM %P', APP_RW, ERIN);
      try {
        const { error, ms } = await timed(bounded.revoke(t(ERIN, [APP_RW])));
        expect(error).not.toBeInstanceOf(PermanentProviderError);
        expect(error.message).toMatch(/lock_timeout \(1s\).*55P03.*retryable/);
        expect(error.message).toContain(ERIN);
        expect(error.message).not.toContain(PASSWORD);
        expect(ms).toBeGreaterThanOrEqual(900);
        expect(ms).toBeLessThan(5_000);
        expect(await isMember(ERIN, APP_RW)).toBe(true); // nothing committed by anyone
      } finally {
        await lock.release();
      }
      await bounded.revoke(t(ERIN, [APP_RW]));
      expect(await isMember(ERIN, APP_RW)).toBe(false);
    } finally {
      await bounded.close();
    }
  });

  it('statement_timeout bounds the whole statement: a lower one ends the same wait with 57014, retryable', async () => {
    const bounded = new PostgresRoleProvider({ url: BOT_URL, timeouts: { lockMs: 20_000, statementMs: 1_000 } });
    try {
      await bounded.grant(t(ERIN, [APP_RW]));
      const lock = await dba('REVOKE %R FROM %P', APP_RW, ERIN);
      try {
        const { error, ms } = await timed(bounded.revoke(t(ERIN, [APP_RW])));
        expect(error).not.toBeInstanceOf(PermanentProviderError);
        expect(error.message).toMatch(/statement_timeout \(1s\).*57014.*retryable/);
        expect(ms).toBeLessThan(5_000);
      } finally {
        await lock.release();
      }
      await bounded.revoke(t(ERIN, [APP_RW]));
      expect(await isMember(ERIN, APP_RW)).toBe(false);
    } finally {
      await bounded.close();
    }
  });

  it('a GRANT behind an uncommitted GRANT of the same membership fails retryably and grants nothing; the retry grants', async () => {
    const bounded = new PostgresRoleProvider({ url: BOT_URL, timeouts: { lockMs: 1_000, statementMs: 10_000 } });
    try {
      const lock = await dba('GRANT %R TO %P', APP_RO, ERIN);
      try {
        const { error, ms } = await timed(bounded.grant(t(ERIN, [APP_RW, APP_RO])));
        expect(error).not.toBeInstanceOf(PermanentProviderError);
        expect(error.message).toContain('55P03');
        expect(ms).toBeLessThan(5_000);
        expect(await isMember(ERIN, APP_RW)).toBe(false); // one transaction: rolled back with the blocked one
      } finally {
        await lock.release();
      }
      await bounded.grant(t(ERIN, [APP_RW, APP_RO]));
      expect(await isMember(ERIN, APP_RW)).toBe(true);
      expect(await isMember(ERIN, APP_RO)).toBe(true);
      await bounded.revoke(t(ERIN, [APP_RW, APP_RO]));
    } finally {
      await bounded.close();
    }
  });

  it('takes lock_timeout and statement_timeout from the policy settings', async () => {
    const build = (settings: Record<string, unknown>) =>
      createProviderRegistry(
        {
          version: 1,
          admins: [],
          principals: {},
          resources: {
            db: {
              provider: 'postgres',
              settings: { connection: { env: 'DB_URL' }, ...settings },
              principal: 'email-local-part',
              roles: { rw: { grants: [APP_RW], maxDurationMs: 3_600_000, approvers: { users: ['U2'] }, approvals: 1, channel: 'C1', ...ROLE_TIMING_DEFAULTS } },
            },
          },
        },
        { DB_URL: BOT_URL },
      );
    const configured = build({ lock_timeout: '2s', statement_timeout: '1m' });
    try {
      await configured.forResource('db').grant(t(ERIN, [APP_RW]));
      const lock = await dba('REVOKE %R FROM %P', APP_RW, ERIN);
      try {
        const { error, ms } = await timed(configured.forResource('db').revoke(t(ERIN, [APP_RW])));
        expect(error.message).toMatch(/lock_timeout \(2s\)/);
        expect(ms).toBeGreaterThanOrEqual(1_900);
      } finally {
        await lock.release();
      }
      await configured.forResource('db').revoke(t(ERIN, [APP_RW]));
    } finally {
      await configured.close();
    }
    expect(() => build({ lock_timeout: 'soon' })).toThrow();
  });
});

describe('createProviderRegistry', () => {
  const policyWith = (provider: string, env: string): Policy => ({
    version: 1,
    admins: [],
    principals: {},
    resources: {
      analytics: {
        provider,
        settings: { connection: { env } },
        principal: 'email-local-part',
        roles: { rw: { grants: [APP_RW], maxDurationMs: 3_600_000, approvers: { users: ['U2'] }, approvals: 1, channel: 'C1', ...ROLE_TIMING_DEFAULTS } },
      },
    },
  });

  it('builds a postgres provider per resource from the variable the policy names', async () => {
    const registry = createProviderRegistry(policyWith('postgres', 'ANALYTICS_PG_URL'), { ANALYTICS_PG_URL: BOT_URL });
    try {
      const analytics = registry.forResource('analytics');
      expect(analytics).toBeInstanceOf(PostgresRoleProvider);
      expect(await analytics.held(t(CAROL, [APP_RO]))).toEqual([APP_RO]);
      expect(() => registry.forResource('billing')).toThrow(/billing/);
    } finally {
      await registry.close();
    }
  });

  it('names the setting and the variable of a missing URL, never a value', () => {
    const env = { OTHER_PG_URL: BOT_URL, ANALYTICS_PG_URL: '' };
    const build = (): unknown => createProviderRegistry(policyWith('postgres', 'ANALYTICS_PG_URL'), env);
    expect(build).toThrow(/resources\.analytics\.connection\.env.*ANALYTICS_PG_URL/);
    const message = (() => {
      try {
        build();
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).not.toContain(BOT_URL);
    expect(message).not.toContain(PASSWORD);
  });

  it('refuses an unknown provider and an invalid URL without echoing it', () => {
    expect(() => createProviderRegistry(policyWith('nosuch', 'X'), { X: BOT_URL })).toThrow(/resources\.analytics\.provider.*nosuch/);
    const bad = `postgres://u:${PASSWORD}@[bad/db`;
    expect(() => createProviderRegistry(policyWith('postgres', 'X'), { X: bad })).toThrow(/resources\.analytics\.connection\.env.* X /);
    try {
      createProviderRegistry(policyWith('postgres', 'X'), { X: bad });
    } catch (error) {
      expect(JSON.stringify(error) + (error as Error).message).not.toContain(PASSWORD);
    }
  });
  it('refuses at build time a URL of another scheme (the driver would take it and fail at the first grant), without echoing it', () => {
    for (const bad of [`mysql://u:${PASSWORD}@127.0.0.1/db`, `https://u:${PASSWORD}@example.com/db`, `host=db password=${PASSWORD}`, `postgres://u:p%zz${PASSWORD}@h/db`]) {
      const message = (() => {
        try {
          createProviderRegistry(policyWith('postgres', 'PROD_DB_URL'), { PROD_DB_URL: bad });
          return '';
        } catch (error) {
          return (error as Error).message;
        }
      })();
      expect(message).toContain('resources.analytics.connection.env: environment variable PROD_DB_URL is not a valid postgres:// or postgresql:// connection URL');
      expect(message).not.toContain(PASSWORD);
    }
  });
});
