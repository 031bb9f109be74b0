/**
 * `MysqlRoleProvider.check` against the real local MariaDB (10.11): a healthy bot (one of its privileges
 * reaches it through its default role, as `SHOW GRANTS` reports it), a bot missing privileges, and a server
 * that does not answer. Accounts and roles are server-global and other files run in parallel, so every
 * name carries a random suffix, the schema is this file's own, and everything is dropped afterwards.
 * `event_scheduler` is server-wide and another file toggles it, so its finding is read, never set, here.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MysqlRoleProvider } from '../../src/providers/mysql-role.js';
import { uniqueSuffix } from '../support/env.js';

const MYSQL_HOST = process.env.TEST_MYSQL_HOST ?? '127.0.0.1';
const MYSQL_PORT = Number(process.env.TEST_MYSQL_PORT ?? 3306);

const sfx = uniqueSuffix();
const SCHEMA = `chk_${sfx}`;
const BOT = `chkbot_${sfx}`;
const WEAK = `chkweak_${sfx}`;
const APP_RW = `chk_app_rw_${sfx}`;
const APP_RO = `chk_app_ro_${sfx}`;
const HOSTILE = `x\`' ON *.* TO "; --${sfx}`;
const KILLER = `chk_killer_${sfx}`; // carries CONNECTION ADMIN to BOT as its default role
const MISSING = `chk_nobody_${sfx}`;
const ROLES = [APP_RW, APP_RO, HOSTILE, KILLER];
const PASSWORD = `pw-${sfx}-secret`;

let root: mysql.Connection;
const providers: MysqlRoleProvider[] = [];
const id = (name: string) => mysql.raw(mysql.escapeId(name, true));

async function rootQuery<T = mysql.RowDataPacket>(sql: string, values?: unknown[]): Promise<T[]> {
  const [rows] = await root.query(sql, values);
  return rows as T[];
}

function providerAs(user: string, options: { expiryEventSchema?: string; port?: number } = {}): MysqlRoleProvider {
  const url = `mysql://${encodeURIComponent(user)}:${encodeURIComponent(PASSWORD)}@${MYSQL_HOST}:${options.port ?? MYSQL_PORT}/`;
  const provider = new MysqlRoleProvider({ url, ...(options.expiryEventSchema && { expiryEventSchema: options.expiryEventSchema }), log: { warn: () => {} } });
  providers.push(provider);
  return provider;
}

/** The grant tables' rows for this file's accounts and roles, to prove a check changes none. */
async function snapshot(): Promise<string> {
  const mapping = await rootQuery(`SELECT User, Host, Role, Admin_option FROM mysql.roles_mapping WHERE User LIKE ? OR Role LIKE ? ORDER BY 1, 2, 3`, [
    `%${sfx}`,
    `%${sfx}`,
  ]);
  const priv = await rootQuery(`SELECT User, Host, Priv FROM mysql.global_priv WHERE User LIKE ? ORDER BY 1, 2`, [`%${sfx}`]);
  return JSON.stringify([mapping, priv]);
}

beforeAll(async () => {
  root = await mysql.createConnection({ host: MYSQL_HOST, port: MYSQL_PORT, user: 'root', charset: 'utf8mb4' });
  await rootQuery('CREATE DATABASE ?', [id(SCHEMA)]);
  for (const role of ROLES) await rootQuery('CREATE ROLE ?', [id(role)]);
  for (const user of [BOT, WEAK]) await rootQuery(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, PASSWORD]);

  for (const role of [APP_RW, APP_RO, HOSTILE]) await rootQuery(`GRANT ? TO ?@'%' WITH ADMIN OPTION`, [id(role), BOT]);
  await rootQuery(`GRANT CREATE USER, PROCESS ON *.* TO ?@'%'`, [BOT]);
  await rootQuery('GRANT CONNECTION ADMIN ON *.* TO ?', [id(KILLER)]);
  await rootQuery(`GRANT ? TO ?@'%'`, [id(KILLER), BOT]);
  await rootQuery(`SET DEFAULT ROLE ? FOR ?@'%'`, [id(KILLER), BOT]);
  await rootQuery(`GRANT UPDATE ON mysql.* TO ?@'%'`, [BOT]);
  await rootQuery(`GRANT SELECT ON mysql.roles_mapping TO ?@'%'`, [BOT]);
  await rootQuery(`GRANT SELECT ON mysql.global_priv TO ?@'%'`, [BOT]);
  await rootQuery(`GRANT EVENT ON ?.* TO ?@'%'`, [id(SCHEMA), BOT]);

  // WEAK: ADMIN OPTION on one role only, a plain member of another; no CONNECTION ADMIN, no UPDATE on
  // mysql.*, no SELECT on mysql.global_priv, no EVENT.
  await rootQuery(`GRANT ? TO ?@'%' WITH ADMIN OPTION`, [id(APP_RW), WEAK]);
  await rootQuery(`GRANT ? TO ?@'%'`, [id(APP_RO), WEAK]);
  await rootQuery(`GRANT CREATE USER, PROCESS ON *.* TO ?@'%'`, [WEAK]);
  await rootQuery(`GRANT UPDATE ON mysql.global_priv TO ?@'%'`, [WEAK]); // table-level: not enough
  await rootQuery(`GRANT SELECT ON mysql.roles_mapping TO ?@'%'`, [WEAK]);
  await rootQuery(`GRANT SELECT ON ?.* TO ?@'%'`, [id(SCHEMA), WEAK]); // sees the schema, cannot create events
});

afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  if (!root) return;
  await rootQuery('DROP DATABASE IF EXISTS ?', [id(SCHEMA)]);
  for (const user of [BOT, WEAK]) await rootQuery(`DROP USER IF EXISTS ?@'%'`, [user]);
  for (const role of ROLES) await rootQuery('DROP ROLE IF EXISTS ?', [id(role)]);
  await root.end();
});

/** A name as the findings quote it, ready to paste into SQL. */
const q = (name: string) => `\`${name.replace(/`/g, '``')}\``;
const text = (findings: { level: string; what: string }[]) => findings.map((f) => `${f.level} ${f.what}`);

describe('MysqlRoleProvider.check', () => {
  it('reports a healthy bot, a privilege from its default role included; nothing changes', async () => {
    const before = await snapshot();
    const result = await providerAs(BOT, { expiryEventSchema: SCHEMA }).check([APP_RW, APP_RO, HOSTILE]);
    const lines = text(result.findings);
    expect(lines[0]).toMatch(new RegExp(`^ok connected as '${BOT}'@'%' \\(MariaDB \\d+\\.\\d+\\.\\d+\\)$`));
    expect(lines.slice(1, -1)).toEqual([
      `ok may grant ${q(APP_RW)} (ADMIN OPTION)`,
      `ok may grant ${q(APP_RO)} (ADMIN OPTION)`,
      `ok may grant ${q(HOSTILE)} (ADMIN OPTION)`,
      'ok holds CREATE USER ON *.*',
      'ok holds PROCESS ON *.*',
      'ok holds CONNECTION ADMIN ON *.*',
      'ok holds UPDATE ON `mysql`.*',
      'ok may read mysql.roles_mapping',
      'ok may read mysql.global_priv',
      `ok may create expiry events in \`${SCHEMA}\``,
    ]);
    // The scheduler is a server setting another test file toggles: either finding is right, neither fails.
    expect(lines.at(-1)).toMatch(/^(ok event_scheduler is ON|warn event_scheduler is OFF: expiry events will not run)/);
    expect(result.ok).toBe(true);
    expect(await snapshot()).toEqual(before);
  });

  it('reports what a bot misses, each with the statement that fixes it', async () => {
    const before = await snapshot();
    const result = await providerAs(WEAK, { expiryEventSchema: SCHEMA }).check([APP_RW, APP_RO, MISSING]);
    expect(result.ok).toBe(false);
    const lines = text(result.findings);
    const me = `'${WEAK}'@'%'`;
    expect(lines).toEqual(
      expect.arrayContaining([
        `ok may grant ${q(APP_RW)} (ADMIN OPTION)`,
        `fail cannot grant ${q(APP_RO)}: the bot holds it without ADMIN OPTION; GRANT ${q(APP_RO)} TO ${me} WITH ADMIN OPTION`,
        `fail cannot grant ${q(MISSING)}: no such role, or no ADMIN OPTION on it; GRANT ${q(MISSING)} TO ${me} WITH ADMIN OPTION`,
        'ok holds CREATE USER ON *.*',
        'ok holds PROCESS ON *.*',
        `fail missing CONNECTION ADMIN ON *.* (ends the principal's sessions on revoke): GRANT CONNECTION ADMIN ON *.* TO ${me}`,
        `fail missing UPDATE ON \`mysql\`.* (SET DEFAULT ROLE for another account needs it on the whole schema): GRANT UPDATE ON \`mysql\`.* TO ${me}`,
        'ok may read mysql.roles_mapping',
        `warn expiry_event_schema: missing EVENT ON \`${SCHEMA}\`.*, so grants get no expiry event (our revoke still ends them): GRANT EVENT ON \`${SCHEMA}\`.* TO ${me}`,
      ]),
    );
    const globalPriv = lines.find((l) => l.includes('mysql.global_priv'));
    expect(globalPriv).toMatch(new RegExp(`^fail cannot read mysql\\.global_priv \\(MariaDB error 1142 .*\\): GRANT SELECT ON mysql\\.global_priv TO ${me}$`));
    expect(await snapshot()).toEqual(before);
  });

  it('tells a role that does not exist from one without ADMIN OPTION when it may read mysql.global_priv', async () => {
    const result = await providerAs(BOT).check([MISSING]);
    expect(text(result.findings)).toContain(`fail role ${q(MISSING)} does not exist on the target`);
    expect(result.ok).toBe(false);
  });

  it('reports a server that does not answer, naming neither the host nor the password', async () => {
    const result = await providerAs(BOT, { port: 1 }).check([APP_RW]);
    expect(result).toEqual({ ok: false, findings: [{ level: 'fail', what: 'cannot connect: driver error ECONNREFUSED' }] });
    expect(JSON.stringify(result)).not.toContain(PASSWORD);
  });
});
