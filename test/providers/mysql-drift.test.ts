/**
 * `MysqlRoleProvider.listGranted` against the real local MariaDB (10.11), connected as a realistic bot (not
 * root): what drift detection sees is exactly the roles of the given list that sit in a bot bundle role of an
 * existing account, never a role a DBA granted (directly, or through a role of their own, even one named
 * `jit_…`). Then `detectDrift` over the use-case fakes with this provider as the target: what the records
 * account for stays, the rest is revoked on the server. Accounts and roles are server-global and other test
 * files run in parallel, so every name carries a random suffix and everything is dropped in afterAll.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MINUTE } from '../../src/domain/duration.js';
import { bundleName, MysqlRoleProvider } from '../../src/providers/mysql-role.js';
import { detectDrift } from '../../src/use-cases/detect-drift.js';
import { PermanentProviderError } from '../../src/use-cases/ports.js';
import { revokeGrant } from '../../src/use-cases/revoke-grant.js';
import { FakeProviderRegistry } from '../fakes/fake-provider.js';
import { uniqueSuffix } from '../support/env.js';
import { ALICE, BOB, DAVE, active, createWorld, readRequest, type World } from '../use-cases/world.js';

const MYSQL_HOST = process.env.TEST_MYSQL_HOST ?? '127.0.0.1';
const MYSQL_PORT = Number(process.env.TEST_MYSQL_PORT ?? 3306);

const sfx = uniqueSuffix();
const BOT = `bot_${sfx}`;
const BLIND_BOT = `blindbot_${sfx}`; // no SELECT on mysql.global_priv
const APP_RW = `app_rw_${sfx}`;
const APP_RO = `app_ro_${sfx}`;
const OTHER = `other_${sfx}`; // the bot's to grant, but not one of the listed roles
const DBA_TEAM = `dba_team_${sfx}`; // a DBA's own role
const APP_ROLES = [APP_RW, APP_RO, OTHER];
// Provider-level cases.
const ALICE_P = `alice_${sfx}`;
const BOB_P = `bob_${sfx}`;
const CAROL_P = `carol_${sfx}`;
const DAVE_P = `dave_${sfx}`;
const HOSTILE_P = `d'Art\`agnan "; --é${sfx}`;
// detectDrift cases.
const W_ALICE = `walice_${sfx}`;
const W_BOB = `wbob_${sfx}`;
const W_DAVE = `wdave_${sfx}`;
const W_ERIN = `werin_${sfx}`;
const PRINCIPALS = [ALICE_P, BOB_P, CAROL_P, DAVE_P, HOSTILE_P, W_ALICE, W_BOB, W_DAVE, W_ERIN];
/** A DBA's role named like a bundle, but not the bundle of any account. */
const LOOKALIKE = `jit_${DAVE_P}_0123456789abcdef`;
const PASSWORD = `pw-${sfx}-secret`;

const urlAs = (user: string) => `mysql://${encodeURIComponent(user)}:${encodeURIComponent(PASSWORD)}@${MYSQL_HOST}:${MYSQL_PORT}/`;

let root: mysql.Connection;
let provider: MysqlRoleProvider;
const id = (name: string) => mysql.raw(mysql.escapeId(name, true));

async function rootQuery<T = mysql.RowDataPacket>(sql: string, values?: unknown[]): Promise<T[]> {
  const [rows] = await root.query(sql, values);
  return rows as T[];
}

/** Every role granted to the account directly, and to its bundle, as `<grantee> <role>`. */
async function mapped(principal: string): Promise<string[]> {
  const rows = await rootQuery<{ User: string; Role: string }>(
    `SELECT User, Role FROM mysql.roles_mapping WHERE (User = ? AND Host = '%') OR (User = ? AND Host = '') ORDER BY User, Role`,
    [principal, bundleName(principal, '%')],
  );
  return rows.map((r) => `${r.User === principal ? 'account' : 'bundle'} ${r.Role}`);
}

beforeAll(async () => {
  root = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: 'root', charset: 'utf8mb4' });
  for (const role of [...APP_ROLES, DBA_TEAM, LOOKALIKE]) await rootQuery('CREATE ROLE ?', [id(role)]);
  for (const user of [...PRINCIPALS, BOT, BLIND_BOT]) await rootQuery(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, PASSWORD]);
  for (const bot of [BOT, BLIND_BOT]) {
    for (const role of APP_ROLES) await rootQuery(`GRANT ? TO ?@'%' WITH ADMIN OPTION`, [id(role), bot]);
    await rootQuery(`GRANT CREATE USER, PROCESS, CONNECTION ADMIN ON *.* TO ?@'%'`, [bot]);
    await rootQuery(`GRANT SELECT ON mysql.roles_mapping TO ?@'%'`, [bot]);
  }
  await rootQuery(`GRANT SELECT ON mysql.global_priv TO ?@'%'`, [BOT]);
  await rootQuery(`GRANT UPDATE ON mysql.* TO ?@'%'`, [BOT]);
  provider = new MysqlRoleProvider({ url: urlAs(BOT), log: { warn: () => {} } });
});

afterAll(async () => {
  await provider?.close();
  if (!root) return;
  for (const user of [...PRINCIPALS, BOT, BLIND_BOT]) await rootQuery(`DROP USER IF EXISTS ?@'%'`, [user]);
  for (const role of [...APP_ROLES, DBA_TEAM, LOOKALIKE, ...PRINCIPALS.map((p) => bundleName(p, '%'))]) await rootQuery('DROP ROLE IF EXISTS ?', [id(role)]);
  await root.end();
});

const t = (principal: string, grants: string[], requestId = 'req_drift') => ({ requestId, principal, grants, expiresAt: new Date(Date.now() + 3_600_000) });
const PROVIDER_LEVEL = new Set([ALICE_P, BOB_P, CAROL_P, DAVE_P, HOSTILE_P]);
/** What this file's provider-level principals have: other files' bundles on the shared server are not ours to assert. */
const listed = async (grants: string[]) => (await provider.listGranted(grants)).filter((o) => PROVIDER_LEVEL.has(o.principal));

describe('MysqlRoleProvider.listGranted', () => {
  it('lists the roles in the bot’s bundles, and never a role a DBA granted', async () => {
    await provider.grant(t(ALICE_P, [APP_RW, APP_RO]));
    await rootQuery(`GRANT ? TO ?@'%'`, [id(APP_RO), BOB_P]); // a DBA's standing grant, straight to the account
    await rootQuery('GRANT ? TO ?', [id(APP_RW), id(DBA_TEAM)]); // a DBA's own role…
    await rootQuery(`GRANT ? TO ?@'%'`, [id(DBA_TEAM), CAROL_P]);
    await rootQuery('GRANT ? TO ?', [id(APP_RO), id(LOOKALIKE)]); // …and one named like a bundle
    await rootQuery(`GRANT ? TO ?@'%'`, [id(LOOKALIKE), DAVE_P]);
    await provider.grant(t(CAROL_P, [OTHER])); // the bot's, but not one of the roles asked about

    // The bot's own ADMIN OPTION on the roles and on every bundle it created is not listed either.
    expect(await listed([APP_RW, APP_RO])).toEqual([
      { principal: ALICE_P, grant: APP_RO, requestId: null },
      { principal: ALICE_P, grant: APP_RW, requestId: null },
    ]);
    expect(await listed([OTHER])).toEqual([{ principal: CAROL_P, grant: OTHER, requestId: null }]);
    expect(await listed([])).toEqual([]);
  });

  it('gives back a principal with quotes and accents exactly as revoke needs it', async () => {
    await provider.grant(t(HOSTILE_P, [APP_RO]));
    const found = (await listed([APP_RO])).filter((o) => o.principal !== ALICE_P);
    expect(found).toEqual([{ principal: HOSTILE_P, grant: APP_RO, requestId: null }]);

    await provider.revoke({ requestId: 'drift', principal: found[0]!.principal, grants: [APP_RO], expiresAt: new Date() });
    expect(await mapped(HOSTILE_P)).toEqual([]);
  });

  it('lists nothing for bundles of another account host', async () => {
    const elsewhere = new MysqlRoleProvider({ url: urlAs(BOT), host: '10.0.0.%' });
    try {
      expect((await elsewhere.listGranted([APP_RW, APP_RO, OTHER])).filter((o) => PROVIDER_LEVEL.has(o.principal))).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  it('revoke of a listed object, as drift detection derives it, takes out exactly that role', async () => {
    await rootQuery(`GRANT ? TO ?@'%'`, [id(APP_RW), ALICE_P]); // the DBA's grant of the same role, straight to the account
    const [object] = await listed([APP_RW]);
    expect(object).toEqual({ principal: ALICE_P, grant: APP_RW, requestId: null });

    await provider.revoke({ requestId: 'drift', principal: object!.principal, grants: [object!.grant], expiresAt: new Date() });

    expect(await listed([APP_RW, APP_RO])).toEqual([{ principal: ALICE_P, grant: APP_RO, requestId: null }]);
    expect(await mapped(ALICE_P)).toEqual([`account ${APP_RW}`, `account ${bundleName(ALICE_P, '%')}`, `bundle ${APP_RO}`]);

    // The last role out: the empty bundle is dropped, the DBA's grant stays.
    await provider.revoke({ requestId: 'drift', principal: ALICE_P, grants: [APP_RO], expiresAt: new Date() });
    expect(await listed([APP_RW, APP_RO])).toEqual([]);
    expect(await mapped(ALICE_P)).toEqual([`account ${APP_RW}`]);
    expect(await mapped(BOB_P)).toEqual([`account ${APP_RO}`]);
    expect(await listed([OTHER])).toEqual([{ principal: CAROL_P, grant: OTHER, requestId: null }]);
    await provider.revoke(t(CAROL_P, [OTHER])); // gone before drift detection below looks at every account
    expect(await mapped(CAROL_P)).toEqual([`account ${DBA_TEAM}`]);
  });

  it('a bot that cannot read the accounts fails permanently, naming no secret', async () => {
    const blind = new MysqlRoleProvider({ url: urlAs(BLIND_BOT) });
    try {
      const listing = blind.listGranted([APP_RW]);
      await expect(listing).rejects.toBeInstanceOf(PermanentProviderError);
      await expect(listing).rejects.not.toThrow(PASSWORD);
    } finally {
      await blind.close();
    }
  });
});

describe('detectDrift with the mysql provider', () => {
  function world(): World {
    const w = createWorld();
    w.policy.admins.push(BOB);
    w.policy.principals[ALICE] = W_ALICE;
    w.policy.principals[DAVE] = W_DAVE;
    const roles = w.policy.resources['prod-db']!.roles;
    roles.read!.grants = [APP_RO];
    roles.write!.grants = [APP_RO, APP_RW];
    roles.admin!.grants = [OTHER];
    w.deps.providers = new FakeProviderRegistry({ 'prod-db': provider });
    return w;
  }
  const ours = async () => (await provider.listGranted([APP_RO, APP_RW, OTHER])).filter((o) => [W_ALICE, W_BOB, W_DAVE, W_ERIN].includes(o.principal));

  it('leaves what an open request covers, revokes what no request covers, and never sees a DBA’s grant', async () => {
    const w = world();
    const current = await active(w); // alice: APP_RO, in her bundle
    const input = readRequest({ requesterId: DAVE, role: 'admin', durationMs: 10 * MINUTE });
    const over = await active(w, input);
    w.clock.advance(input.durationMs);
    expect(await revokeGrant(w.deps, over, 'expired')).toEqual({ kind: 'revoked' });
    // The bot's grant came back after its request was over (a replayed GRANT, a restored backup)…
    await provider.grant(t(W_DAVE, [OTHER], over));
    // …or was made for a principal the records know nothing of.
    await provider.grant(t(W_ERIN, [APP_RW], 'req_unknown'));
    await rootQuery(`GRANT ? TO ?@'%'`, [id(APP_RW), W_BOB]); // a DBA's standing grant
    expect(await ours()).toEqual([
      { principal: W_ALICE, grant: APP_RO, requestId: null },
      { principal: W_ERIN, grant: APP_RW, requestId: null },
      { principal: W_DAVE, grant: OTHER, requestId: null },
    ]);

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 2, revoked: 2, failed: 0 });

    expect(await ours()).toEqual([{ principal: W_ALICE, grant: APP_RO, requestId: null }]);
    expect(await mapped(W_DAVE)).toEqual([]); // the empty bundle is dropped, with its membership
    expect(await mapped(W_ERIN)).toEqual([]);
    expect(await mapped(W_BOB)).toEqual([`account ${APP_RW}`]);
    expect(w.store.auditLog(null).map((a) => [a.action, a.details])).toEqual([
      ['drift.revoked', { resource: 'prod-db', principal: W_ERIN, grant: APP_RW, requestId: null }],
      ['drift.revoked', { resource: 'prod-db', principal: W_DAVE, grant: OTHER, requestId: null }],
    ]);
    expect(w.notifier.adminAlerts).toHaveLength(2);
    expect(w.store.request(current).status).toBe('active');

    // A second run finds nothing; once alice's request is revoked, nothing of ours is left.
    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 0, revoked: 0, failed: 0 });
    w.clock.advance(readRequest().durationMs);
    expect(await revokeGrant(w.deps, current, 'expired')).toEqual({ kind: 'revoked' });
    expect(await ours()).toEqual([]);
  });
});
