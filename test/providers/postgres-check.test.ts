/**
 * `PostgresRoleProvider.check` against the real local server: a healthy bot (ADMIN OPTION on every role,
 * pg_signal_backend), a bot missing both for some roles, a CREATEROLE bot, and a server that does not answer.
 * Roles are cluster-global and other files run in parallel, so every name carries a random suffix; the
 * target database is this file's own, and everything is dropped afterwards.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresRoleProvider } from '../../src/providers/postgres-role.js';
import { ADMIN_URL, uniqueSuffix, urlFor } from '../support/env.js';

const sfx = uniqueSuffix();
const TARGET_DB = `chk_target_${sfx}`;
const BOT = `chk_bot_${sfx}`;
const WEAK = `chk_weak_${sfx}`;
const CREATOR = `chk_creator_${sfx}`;
const APP_RW = `chk_app_rw_${sfx}`;
const APP_RO = `chk_app_ro_${sfx}`;
const MISSING = `chk_nobody_${sfx}`;
const PASSWORD = `pw-${sfx}-secret`;
const ROLES = [BOT, WEAK, CREATOR, APP_RW, APP_RO];

let admin: postgres.Sql;
const providers: PostgresRoleProvider[] = [];

function providerAs(user: string, url = urlFor(TARGET_DB)): PostgresRoleProvider {
  const u = new URL(url);
  u.username = user;
  u.password = PASSWORD; // trust auth ignores it; it only proves that no finding carries it
  const provider = new PostgresRoleProvider({ url: u.toString() });
  providers.push(provider);
  return provider;
}

async function ddl(template: string, ...names: string[]): Promise<void> {
  const [row] = await admin<{ stmt: string }[]>`SELECT format(${template}::text, VARIADIC ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(names)}::text::jsonb))) AS stmt`;
  await admin.unsafe(row!.stmt);
}

/** Every membership among this file's roles, to prove a check changes none. */
async function memberships(): Promise<string[]> {
  const rows = await admin<{ m: string }[]>`
    SELECT u.rolname || ' in ' || r.rolname || ' admin=' || m.admin_option AS m
    FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
    WHERE u.rolname LIKE ${`chk_%_${sfx}`} ORDER BY 1`;
  return rows.map((r) => r.m);
}

beforeAll(async () => {
  admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await ddl('CREATE DATABASE %I', TARGET_DB);
  await ddl('CREATE ROLE %I LOGIN', BOT);
  await ddl('CREATE ROLE %I LOGIN', WEAK);
  await ddl('CREATE ROLE %I LOGIN CREATEROLE', CREATOR);
  await ddl('CREATE ROLE %I NOLOGIN', APP_RW);
  await ddl('CREATE ROLE %I NOLOGIN', APP_RO);
  await ddl('GRANT %I TO %I WITH ADMIN OPTION', APP_RW, BOT);
  await ddl('GRANT %I TO %I WITH ADMIN OPTION', APP_RO, BOT);
  await ddl('GRANT pg_signal_backend TO %I', BOT);
  await ddl('GRANT %I TO %I WITH ADMIN OPTION', APP_RW, WEAK);
  await ddl('GRANT %I TO %I', APP_RO, WEAK); // a member, but without ADMIN OPTION
  await ddl('GRANT pg_signal_backend TO %I', CREATOR);
});

afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  if (!admin) return;
  await ddl('DROP DATABASE IF EXISTS %I WITH (FORCE)', TARGET_DB);
  for (const role of ROLES) await ddl('DROP ROLE IF EXISTS %I', role);
  await admin.end();
});

const text = (findings: { level: string; what: string }[]) => findings.map((f) => `${f.level} ${f.what}`);

describe('PostgresRoleProvider.check', () => {
  it('reports a healthy bot: connected, may end sessions, ADMIN OPTION on every role; nothing changes', async () => {
    const before = await memberships();
    const result = await providerAs(BOT).check([APP_RW, APP_RO, APP_RW]);
    const [row] = await admin<{ v: number }[]>`SELECT current_setting('server_version_num')::int AS v`;
    const major = Math.floor(row!.v / 10_000);
    const lines = text(result.findings);
    expect(lines.slice(0, 4)).toEqual([
      `ok connected as "${BOT}" (PostgreSQL ${major})`,
      `ok "${BOT}" may end the principals' sessions (pg_signal_backend)`,
      `ok may grant "${APP_RW}" (ADMIN OPTION)`,
      `ok may grant "${APP_RO}" (ADMIN OPTION)`,
    ]);
    // PostgreSQL 16+ can grant ADMIN OPTION without the role's privileges, and says so when the bot has both.
    expect(lines.slice(4).every((l) => l.startsWith('warn ') && l.includes('INHERIT FALSE, SET FALSE'))).toBe(true);
    if (major < 16) expect(lines).toHaveLength(4);
    expect(result.ok).toBe(true);
    expect(await memberships()).toEqual(before);
  });

  it('reports what a bot misses: pg_signal_backend, ADMIN OPTION, a role that does not exist', async () => {
    const before = await memberships();
    const result = await providerAs(WEAK).check([APP_RW, APP_RO, MISSING]);
    expect(result.ok).toBe(false);
    const lines = text(result.findings);
    expect(lines).toContain(`ok may grant "${APP_RW}" (ADMIN OPTION)`);
    expect(lines).toContain(`fail "${WEAK}" cannot end sessions, which revoke does: GRANT pg_signal_backend TO "${WEAK}"`);
    expect(lines).toContain(`fail cannot grant "${APP_RO}": no ADMIN OPTION on it; GRANT "${APP_RO}" TO "${WEAK}" WITH ADMIN OPTION`);
    expect(lines).toContain(`fail role "${MISSING}" does not exist on the target`);
    expect(await memberships()).toEqual(before);
  });

  it('on PostgreSQL 15 and older, accepts CREATEROLE instead of ADMIN OPTION, with a warning', async () => {
    const [row] = await admin<{ v: number }[]>`SELECT current_setting('server_version_num')::int AS v`;
    const result = await providerAs(CREATOR).check([APP_RW]);
    const lines = text(result.findings);
    if (row!.v < 160_000) {
      expect(result.ok).toBe(true);
      expect(lines).toContain(`ok may grant "${APP_RW}" (through CREATEROLE)`);
      expect(lines.some((l) => l.startsWith(`warn "${CREATOR}" has CREATEROLE`))).toBe(true);
    } else {
      expect(result.ok).toBe(false);
      expect(lines).toContain(`fail cannot grant "${APP_RW}": no ADMIN OPTION on it; GRANT "${APP_RW}" TO "${CREATOR}" WITH ADMIN OPTION`);
    }
  });

  it('refuses a role name PostgreSQL would truncate, without asking the server about it', async () => {
    const long = `r${'x'.repeat(70)}`;
    const result = await providerAs(BOT).check([long, APP_RW]);
    expect(result.ok).toBe(false);
    expect(text(result.findings)).toContain(`fail invalid PostgreSQL role name "${long}": must be 1 to 63 bytes without NUL`);
    expect(text(result.findings)).toContain(`ok may grant "${APP_RW}" (ADMIN OPTION)`);
  });

  it('reports a server that does not answer, naming neither the host nor the password', async () => {
    const down = new URL(urlFor(TARGET_DB));
    down.hostname = '127.0.0.1';
    down.port = '1';
    const result = await providerAs(BOT, down.toString()).check([APP_RW]);
    expect(result.ok).toBe(false);
    expect(result.findings).toEqual([{ level: 'fail', what: 'cannot connect: driver error ECONNREFUSED' }]);
    expect(JSON.stringify(result)).not.toContain(PASSWORD);
  });
});
