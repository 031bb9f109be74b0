/**
 * The MariaDB role provider against the real local server (10.11), connected as a realistic bot: not root,
 * with ADMIN OPTION on the app roles, CREATE USER (bundle roles), UPDATE on mysql.* (SET DEFAULT ROLE for
 * others), SELECT on two grant tables, PROCESS + CONNECTION ADMIN (kill sessions) and EVENT on one schema.
 * Accounts and roles are server-global and other test files run in parallel, so every name carries a random
 * suffix, the schema is this file's own, and everything is dropped in afterAll. Every login goes over
 * 127.0.0.1 to accounts with host `%` (this server has no anonymous ''@'localhost' users to shadow them).
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeProviderContract } from './contract.js';
import { ROLE_TIMING_DEFAULTS, type Policy } from '../../src/domain/policy.js';
import { bundleName, expiryEventName, MysqlRoleProvider } from '../../src/providers/mysql-role.js';
import { createProviderRegistry } from '../../src/providers/registry.js';
import { PermanentProviderError } from '../../src/use-cases/ports.js';
import { uniqueSuffix } from '../support/env.js';
import { expectNoSecret, expectRefusedForGood, expectUnreachableRetryable, failure } from '../support/provider-errors.js';

const MYSQL_HOST = process.env.TEST_MYSQL_HOST ?? '127.0.0.1';
const MYSQL_PORT = Number(process.env.TEST_MYSQL_PORT ?? 3306);

const sfx = uniqueSuffix();
const TARGET_DB = `target_${sfx}`;
const BOT = `bot_${sfx}`;
const WEAK_BOT = `weakbot_${sfx}`; // everything but UPDATE on mysql.*
const APP_RW = `app_rw_${sfx}`;
const APP_RO = `app_ro_${sfx}`;
const OTHER = `other_${sfx}`; // a role someone else gave as a default role
const NO_ADMIN = `noadmin_${sfx}`; // exists, but the bot has no ADMIN OPTION on it
const HOSTILE = `x\`'"; DROP TABLE victim; --${sfx}`;
const UNICODE = `Rôle ünïcode ${sfx}`;
const APP_ROLES = [APP_RW, APP_RO, HOSTILE, UNICODE, OTHER];
const ALICE = `alice_${sfx}`;
const BOB = `bob_${sfx}`;
const CAROL = `carol_${sfx}`;
const DAVE = `dave_${sfx}`; // holds nothing: the contract suite's principal
const ERIN = `erin_${sfx}`; // expiry event
const FRANK = `frank_${sfx}`; // expiry event dropped by revoke
const GINA = `gina_${sfx}`; // missing privilege
const HANK = `hank_${sfx}`; // timeouts
const HOSTILE_PRINCIPAL = `d'Art\`agnan "; --${sfx}`;
const MISSING = `nobody_${sfx}`;
const PRINCIPALS = [ALICE, BOB, CAROL, DAVE, ERIN, FRANK, GINA, HANK, HOSTILE_PRINCIPAL];
const PASSWORD = `pw-${sfx}-secret`;

function urlAs(user: string, password = PASSWORD, port = MYSQL_PORT): string {
  return `mysql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${MYSQL_HOST}:${port}/`;
}
const BOT_URL = urlAs(BOT);

let root: mysql.Connection;
let eventSchedulerBefore = 'OFF';
const warnings: { obj: object; msg?: string }[] = [];
const log = { warn: (obj: object, msg?: string) => void warnings.push({ obj, msg }) };
let provider: MysqlRoleProvider;
let eventProvider: MysqlRoleProvider;

const id = (name: string) => mysql.raw(mysql.escapeId(name, true));

async function rootQuery<T = mysql.RowDataPacket>(sql: string, values?: unknown[]): Promise<T[]> {
  const [rows] = await root.query(sql, values);
  return rows as T[];
}

async function login(user: string): Promise<mysql.Connection> {
  const c = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user, password: PASSWORD, charset: 'utf8mb4' });
  c.on('error', () => {}); // a killed connection reports here as well as to the pending query
  return c;
}

async function read(c: mysql.Connection): Promise<string> {
  const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT v FROM ?.secret', [id(TARGET_DB)]);
  return String(rows[0]?.v);
}

/** Whether a fresh login of `user` can read the table only the app_rw role may read. */
async function freshLoginReads(user: string): Promise<boolean> {
  const c = await login(user);
  try {
    return (await read(c)) === 's3';
  } catch (error) {
    expect((error as { errno?: number }).errno).toBe(1142); // SELECT command denied
    return false;
  } finally {
    await c.end();
  }
}

async function mappedRoles(principal: string): Promise<string[]> {
  const rows = await rootQuery<{ Role: string }>(
    `SELECT Role FROM mysql.roles_mapping WHERE (User = ? AND Host = '%') OR (User = ? AND Host = '') ORDER BY Role`,
    [principal, bundleName(principal, '%')],
  );
  return rows.map((r) => r.Role);
}

async function events(): Promise<{ name: string; at: number }[]> {
  return rootQuery<{ name: string; at: number }>(
    `SELECT EVENT_NAME AS name, UNIX_TIMESTAMP(EXECUTE_AT) AS at FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?`,
    [TARGET_DB],
  );
}

beforeAll(async () => {
  root = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: 'root', charset: 'utf8mb4' });
  const [state] = await rootQuery<{ s: string }>('SELECT @@GLOBAL.event_scheduler AS s');
  eventSchedulerBefore = state!.s;
  await rootQuery('CREATE DATABASE ?', [id(TARGET_DB)]);
  await rootQuery('CREATE TABLE ?.secret (v text)', [id(TARGET_DB)]);
  await rootQuery(`INSERT INTO ?.secret VALUES ('s3')`, [id(TARGET_DB)]);
  await rootQuery('CREATE TABLE ?.victim (id int)', [id(TARGET_DB)]);

  for (const role of [...APP_ROLES, NO_ADMIN]) await rootQuery('CREATE ROLE ?', [id(role)]);
  await rootQuery('GRANT SELECT ON ?.secret TO ?', [id(TARGET_DB), id(APP_RW)]);
  for (const user of [...PRINCIPALS, BOT, WEAK_BOT]) await rootQuery(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, PASSWORD]);

  for (const bot of [BOT, WEAK_BOT]) {
    for (const role of APP_ROLES) await rootQuery(`GRANT ? TO ?@'%' WITH ADMIN OPTION`, [id(role), bot]);
    await rootQuery(`GRANT CREATE USER, PROCESS, CONNECTION ADMIN ON *.* TO ?@'%'`, [bot]);
    await rootQuery(`GRANT SELECT ON mysql.roles_mapping TO ?@'%'`, [bot]);
    await rootQuery(`GRANT SELECT ON mysql.global_priv TO ?@'%'`, [bot]);
    await rootQuery(`GRANT EVENT ON ?.* TO ?@'%'`, [id(TARGET_DB), bot]);
  }
  await rootQuery(`GRANT UPDATE ON mysql.* TO ?@'%'`, [BOT]);
  // The canary: an injected DROP TABLE run as the bot would succeed.
  await rootQuery(`GRANT DROP ON ?.victim TO ?@'%'`, [id(TARGET_DB), BOT]);

  provider = new MysqlRoleProvider({ url: BOT_URL, log });
  eventProvider = new MysqlRoleProvider({ url: BOT_URL, expiryEventSchema: TARGET_DB, log });
});

afterAll(async () => {
  await provider?.close();
  await eventProvider?.close();
  if (!root) return;
  await rootQuery('SET GLOBAL event_scheduler = ?', [eventSchedulerBefore === 'ON' ? 'ON' : 'OFF']).catch(() => {});
  await rootQuery('DROP DATABASE IF EXISTS ?', [id(TARGET_DB)]); // with its events
  for (const user of [...PRINCIPALS, BOT, WEAK_BOT]) await rootQuery(`DROP USER IF EXISTS ?@'%'`, [user]);
  for (const role of [...APP_ROLES, NO_ADMIN, ...PRINCIPALS.map((p) => bundleName(p, '%'))]) await rootQuery('DROP ROLE IF EXISTS ?', [id(role)]);
  await root.end();
});

const expiresAt = new Date(Date.now() + 3_600_000);
/** A grant target as the use cases build it. */
const t = (principal: string, grants: string[], at = expiresAt) => ({ requestId: 'req_test', principal, grants, expiresAt: at });

describeProviderContract('mysql (MariaDB roles)', () => ({
  provider,
  principal: DAVE,
  grants: [APP_RW, APP_RO],
  perGrantObjects: false,
  hostile: { principal: HOSTILE_PRINCIPAL, grant: HOSTILE },
}));

describe('MysqlRoleProvider grant and revoke', () => {
  it('grants several roles through the bundle, active at the next login, and granting twice changes nothing', async () => {
    expect(await freshLoginReads(ALICE)).toBe(false);
    await provider.grant(t(ALICE, [APP_RW, APP_RO]));
    await provider.grant(t(ALICE, [APP_RW, APP_RO]));
    const bundle = bundleName(ALICE, '%');
    expect(await mappedRoles(ALICE)).toEqual([APP_RO, APP_RW, bundle].sort());
    const [account] = await rootQuery<{ d: string }>(`SELECT default_role AS d FROM mysql.user WHERE User = ? AND Host = '%'`, [ALICE]);
    expect(account!.d).toBe(bundle);

    expect(await freshLoginReads(ALICE)).toBe(true);
    const session = await login(ALICE);
    try {
      const [rows] = await session.query<mysql.RowDataPacket[]>('SELECT CURRENT_ROLE() AS r');
      expect(rows[0]!.r).toBe(bundle);
    } finally {
      await session.end();
    }
    expect(await provider.held(t(ALICE, [APP_RO, APP_RW, UNICODE]))).toEqual([APP_RO, APP_RW]);
  });

  it('revokes; revoking again, never granted, or for a missing principal or role succeeds', async () => {
    await provider.revoke(t(ALICE, [APP_RW, APP_RO]));
    expect(await mappedRoles(ALICE)).toEqual([]); // the empty bundle is dropped too
    expect(await freshLoginReads(ALICE)).toBe(false);
    await provider.revoke(t(ALICE, [APP_RW, APP_RO]));
    await provider.revoke(t(BOB, [APP_RW]));
    await provider.revoke(t(MISSING, [APP_RW]));
    await provider.revoke(t(ALICE, [`no_such_role_${sfx}`]));
    expect(await provider.held(t(ALICE, [APP_RW, APP_RO]))).toEqual([]);

    // A later grant revives the dangling default role.
    await provider.grant(t(ALICE, [APP_RW]));
    expect(await freshLoginReads(ALICE)).toBe(true);
    await provider.revoke(t(ALICE, [APP_RW]));
  });

  it('keeps the bundle while another role is in it, so a partial revoke leaves the rest usable', async () => {
    await provider.grant(t(ALICE, [APP_RW, APP_RO]));
    await provider.revoke(t(ALICE, [APP_RO]));
    expect(await provider.held(t(ALICE, [APP_RW, APP_RO]))).toEqual([APP_RW]);
    expect(await freshLoginReads(ALICE)).toBe(true);
    await provider.revoke(t(ALICE, [APP_RW]));
    expect(await freshLoginReads(ALICE)).toBe(false);
  });

  it('reports a role granted by someone else, and nothing for a principal that does not exist', async () => {
    await rootQuery(`GRANT ? TO ?@'%'`, [id(APP_RO), CAROL]);
    expect(await provider.held(t(CAROL, [APP_RW, APP_RO]))).toEqual([APP_RO]);
    expect(await provider.held(t(MISSING, [APP_RW, APP_RO]))).toEqual([]);
    expect(await provider.held(t(CAROL, []))).toEqual([]);
  });

  it('leaves another default role in place and warns, naming no secret', async () => {
    await rootQuery(`GRANT ? TO ?@'%'`, [id(OTHER), CAROL]);
    await rootQuery(`SET DEFAULT ROLE ? FOR ?@'%'`, [id(OTHER), CAROL]);
    warnings.length = 0;
    await provider.grant(t(CAROL, [APP_RW]));
    const [account] = await rootQuery<{ d: string }>(`SELECT default_role AS d FROM mysql.user WHERE User = ? AND Host = '%'`, [CAROL]);
    expect(account!.d).toBe(OTHER);
    expect(warnings.map((w) => w.msg).join()).toMatch(/another default role/);
    expect(JSON.stringify(warnings)).not.toContain(PASSWORD);
    // Granted, but active only once the user takes the bundle.
    expect(await freshLoginReads(CAROL)).toBe(false);
    const session = await login(CAROL);
    try {
      await session.query('SET ROLE ?', [id(bundleName(CAROL, '%'))]);
      expect(await read(session)).toBe('s3');
    } finally {
      await session.end();
    }
    await provider.revoke(t(CAROL, [APP_RW]));
  });

  it('kills an open session, which a bare REVOKE would leave reading', async () => {
    await provider.grant(t(BOB, [APP_RW]));
    const bundle = bundleName(BOB, '%');
    const session = await login(BOB);
    try {
      expect(await read(session)).toBe('s3');
      // Why the kill: a session keeps its active role after REVOKE. Bob's membership goes (revoked by the bot,
      // the bundle's only admin), his open session reads on.
      const bot = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: BOT, password: PASSWORD });
      try {
        await bot.query(`REVOKE ? FROM ?@'%'`, [id(bundle), BOB]);
        expect(await read(session)).toBe('s3');
        expect(await freshLoginReads(BOB)).toBe(false);
        await bot.query(`GRANT ? TO ?@'%'`, [id(bundle), BOB]);
      } finally {
        await bot.end();
      }

      await provider.revoke(t(BOB, [APP_RW]));
      const error = await read(session).then(
        () => null,
        (e: { code?: string; errno?: number; fatal?: boolean }) => e,
      );
      expect(error).not.toBeNull();
      expect(error!.errno).not.toBe(1142); // not "denied": the connection itself is gone
      expect(error!.fatal ?? error!.code).toBeTruthy();
      expect(await freshLoginReads(BOB)).toBe(false);
    } finally {
      session.destroy();
    }
  });

  it('quotes hostile and unicode names, so they are granted as names and never run as SQL', async () => {
    await provider.grant(t(HOSTILE_PRINCIPAL, [HOSTILE, UNICODE]));
    expect(await mappedRoles(HOSTILE_PRINCIPAL)).toEqual([HOSTILE, UNICODE, bundleName(HOSTILE_PRINCIPAL, '%')].sort());
    expect(await provider.held(t(HOSTILE_PRINCIPAL, [UNICODE, HOSTILE]))).toEqual([UNICODE, HOSTILE]);
    await provider.revoke(t(HOSTILE_PRINCIPAL, [HOSTILE, UNICODE]));
    expect(await mappedRoles(HOSTILE_PRINCIPAL)).toEqual([]);
    expect(await rootQuery(`SELECT 1 AS present FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'victim'`, [TARGET_DB])).toHaveLength(1);
  });
});

describe('MysqlRoleProvider expiry event', () => {
  it('warns, and still grants, while event_scheduler is OFF', async () => {
    await rootQuery('SET GLOBAL event_scheduler = OFF');
    warnings.length = 0;
    await eventProvider.grant(t(FRANK, [APP_RW]));
    expect(await eventProvider.held(t(FRANK, [APP_RW]))).toEqual([APP_RW]);
    expect(warnings.map((w) => w.msg).join()).toMatch(/event_scheduler is not ON/);
  });

  it('keeps one event per account, never moved earlier, and revoke drops it', async () => {
    const name = expiryEventName(FRANK, '%');
    const first = await events();
    expect(first.map((e) => e.name)).toEqual([name]);
    expect(Number(first[0]!.at)).toBe(Math.ceil(expiresAt.getTime() / 1000));
    await eventProvider.grant(t(FRANK, [APP_RO], new Date(Date.now() + 60_000)));
    expect(Number((await events())[0]!.at)).toBe(Math.ceil(expiresAt.getTime() / 1000));
    await eventProvider.revoke(t(FRANK, [APP_RO]));
    expect(await events()).toHaveLength(1); // app_rw is still in the bundle
    await eventProvider.revoke(t(FRANK, [APP_RW]));
    expect(await events()).toEqual([]);
  });

  it('grants without the event when the bot may not create it, naming no secret', async () => {
    const denied = new MysqlRoleProvider({ url: BOT_URL, expiryEventSchema: `mysql`, log });
    warnings.length = 0;
    try {
      await denied.grant(t(FRANK, [APP_RW]));
      expect(await denied.held(t(FRANK, [APP_RW]))).toEqual([APP_RW]);
      expect(warnings.map((w) => w.msg).join()).toMatch(/cannot create the expiry event/);
      expect(JSON.stringify(warnings)).not.toContain(PASSWORD);
      await denied.revoke(t(FRANK, [APP_RW]));
    } finally {
      await denied.close();
    }
  });

  it('is revoked by the server itself at expiresAt, open sessions included, without our revoke', async () => {
    await rootQuery('SET GLOBAL event_scheduler = ON');
    await eventProvider.grant(t(ERIN, [APP_RW, APP_RO], new Date(Date.now() + 2_000)));
    const session = await login(ERIN);
    try {
      expect(await read(session)).toBe('s3');
      const deadline = Date.now() + 8_000;
      while ((await mappedRoles(ERIN)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(await mappedRoles(ERIN)).toEqual([]);
      expect(await events()).toEqual([]); // ON COMPLETION NOT PRESERVE
      await expect(read(session)).rejects.toThrow();
      expect(await freshLoginReads(ERIN)).toBe(false);
      // Our own revoke job arriving late is still a success.
      await eventProvider.revoke(t(ERIN, [APP_RW, APP_RO]));
    } finally {
      session.destroy();
      await rootQuery('SET GLOBAL event_scheduler = ?', [eventSchedulerBefore === 'ON' ? 'ON' : 'OFF']);
    }
  });
});

describe('MysqlRoleProvider errors', () => {
  it('refuses for good a role or account that does not exist, and grants nothing', async () => {
    await expectRefusedForGood(provider.grant(t(ALICE, [APP_RW, `no_such_role_${sfx}`])), `no_such_role_${sfx}`, { url: BOT_URL, password: PASSWORD });
    expect(await mappedRoles(ALICE)).toEqual([]);

    await expectRefusedForGood(provider.grant(t(MISSING, [APP_RW])), MISSING, { url: BOT_URL, password: PASSWORD });
    expect(await rootQuery('SELECT 1 FROM mysql.global_priv WHERE User = ?', [bundleName(MISSING, '%')])).toEqual([]);
  });

  it('refuses for good a role the bot has no ADMIN OPTION on', async () => {
    const error = await failure(provider.grant(t(ALICE, [NO_ADMIN])));
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error.message).toContain('ADMIN OPTION');
  });

  it('refuses for good when the bot lacks a privilege (UPDATE on mysql.* for SET DEFAULT ROLE)', async () => {
    const weak = new MysqlRoleProvider({ url: urlAs(WEAK_BOT), log });
    try {
      const error = await failure(weak.grant(t(GINA, [APP_RW])));
      expect(error).toBeInstanceOf(PermanentProviderError);
      expect(error.message).toContain('1044');
      expectNoSecret(error, urlAs(WEAK_BOT), PASSWORD);
      await weak.revoke(t(GINA, [APP_RW])); // what the use case's clean-up does
      expect(await mappedRoles(GINA)).toEqual([]);
    } finally {
      await weak.close();
    }
  });

  it('refuses names the server would store as another name', async () => {
    await expect(provider.grant(t(`u🔑${sfx}`, [APP_RW]))).rejects.toBeInstanceOf(PermanentProviderError);
    await expect(provider.grant(t(`${ALICE} `, [APP_RW]))).rejects.toBeInstanceOf(PermanentProviderError);
    await expect(provider.held(t(ALICE, ['r'.repeat(129)]))).rejects.toBeInstanceOf(PermanentProviderError);
  });

  it('keeps an unreachable server retryable and its URL out of the error', async () => {
    const url = urlAs(BOT, PASSWORD, 1);
    await expectUnreachableRetryable(new MysqlRoleProvider({ url, log }), t(ALICE, [APP_RW]), { url, password: PASSWORD, host: MYSQL_HOST });
  });

  it('keeps a wrong password out of the error', async () => {
    const url = urlAs(BOT, `wrong-${PASSWORD}`);
    const wrong = new MysqlRoleProvider({ url, log });
    try {
      const error = await failure(wrong.held(t(ALICE, [APP_RW])));
      expect(error.message).toContain('1045');
      expectNoSecret(error, url, PASSWORD);
    } finally {
      await wrong.close();
    }
  });
});

describe('MysqlRoleProvider timeouts: a REVOKE blocked on the target', () => {
  it('fails retryably after statement_timeout while a DBA holds LOCK TABLES mysql.roles_mapping WRITE; the retry after UNLOCK revokes', async () => {
    const registry = createProviderRegistry(
      {
        version: 1,
        admins: [],
        principals: {},
        resources: {
          db: {
            provider: 'mysql',
            settings: { connection: { env: 'DB_URL' }, lock_timeout: '1s', statement_timeout: '1s' },
            principal: 'email-local-part',
            roles: { rw: { grants: [APP_RW], maxDurationMs: 3_600_000, approvers: { users: ['U2'] }, approvals: 1, channel: 'C1', ...ROLE_TIMING_DEFAULTS } },
          },
        },
      },
      { DB_URL: BOT_URL },
    );
    const bounded = registry.forResource('db');
    const dba = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: 'root', charset: 'utf8mb4' });
    try {
      await bounded.grant(t(HANK, [APP_RW]));
      expect(await mappedRoles(HANK)).toContain(APP_RW);
      // Every statement that changes roles waits on this table lock (what REVOKE ROLE really waits on in 10.11).
      await dba.query('LOCK TABLES mysql.roles_mapping WRITE');
      let locked = true;
      try {
        const started = Date.now();
        const error = await bounded.revoke(t(HANK, [APP_RW])).then(
          () => null,
          (e: unknown) => e as Error,
        );
        const ms = Date.now() - started;
        expect(error).toBeInstanceOf(Error);
        expect(error).not.toBeInstanceOf(PermanentProviderError);
        expect(error!.message).toMatch(/MariaDB error 1969.*max_statement_time/);
        expect(error!.message).not.toContain(PASSWORD);
        expect(ms).toBeGreaterThanOrEqual(900);
        expect(ms).toBeLessThan(5_000);
        await dba.query('UNLOCK TABLES');
        locked = false;
        expect(await mappedRoles(HANK)).toContain(APP_RW); // the interrupted REVOKE changed nothing
      } finally {
        if (locked) await dba.query('UNLOCK TABLES');
      }
      await bounded.revoke(t(HANK, [APP_RW]));
      expect(await mappedRoles(HANK)).toEqual([]);
    } finally {
      await dba.end();
      await registry.close();
    }
  });
});

describe('createProviderRegistry (mysql)', () => {
  const policyWith = (env: string, settings: Record<string, unknown> = {}): Policy => ({
    version: 1,
    admins: [],
    principals: {},
    resources: {
      analytics: {
        provider: 'mysql',
        settings: { connection: { env }, ...settings },
        principal: 'email-local-part',
        roles: { rw: { grants: [APP_RW], maxDurationMs: 3_600_000, approvers: { users: ['U2'] }, approvals: 1, channel: 'C1', ...ROLE_TIMING_DEFAULTS } },
      },
    },
  });

  function messageOf(build: () => unknown): string {
    try {
      build();
    } catch (error) {
      return `${(error as Error).message} ${JSON.stringify(error)}`;
    }
    throw new Error('expected a configuration error');
  }

  it('builds a mysql provider from the variable the policy names', async () => {
    const registry = createProviderRegistry(policyWith('ANALYTICS_MYSQL_URL', { host: '%', expiry_event_schema: TARGET_DB }), { ANALYTICS_MYSQL_URL: BOT_URL });
    try {
      const analytics = registry.forResource('analytics');
      expect(analytics).toBeInstanceOf(MysqlRoleProvider);
      expect(await analytics.held(t(CAROL, [APP_RW, APP_RO]))).toEqual([APP_RO]);
    } finally {
      await registry.close();
    }
  });

  it('names the setting and the variable of a missing URL, never a value', () => {
    for (const env of [{ OTHER_URL: BOT_URL }, { OTHER_URL: BOT_URL, ANALYTICS_MYSQL_URL: '' }]) {
      const message = messageOf(() => createProviderRegistry(policyWith('ANALYTICS_MYSQL_URL'), env));
      expect(message).toMatch(/resources\.analytics\.connection\.env.*ANALYTICS_MYSQL_URL/);
      expect(message).not.toContain(BOT_URL);
      expect(message).not.toContain(PASSWORD);
    }
  });

  it('refuses a URL of another scheme or with driver options, without echoing it', () => {
    for (const bad of [`postgres://u:${PASSWORD}@h/db`, `${BOT_URL}?multipleStatements=true`, `mysql://u:${PASSWORD}@[bad/db`]) {
      const message = messageOf(() => createProviderRegistry(policyWith('X'), { X: bad }));
      expect(message).toMatch(/resources\.analytics\.connection\.env.* X /);
      expect(message).not.toContain(PASSWORD);
    }
  });
});
