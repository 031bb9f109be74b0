/** `accessbot provider check` for the postgres provider: reads, never grants, revokes or ends anything. */
import type postgres from 'postgres';
import type { ProviderCheck } from '../../use-cases/ports.js';
import { CheckReport, uniqueGrants } from '../check.js';
import { describePgError } from './errors.js';
import { checkIdentifiers, jsonList, quoteList } from './sql.js';

/**
 * Read-only (`accessbot provider check`): connects, then checks what grant and revoke need. ADMIN OPTION on
 * each role is tested with `pg_has_role(current_user, role, 'MEMBER WITH ADMIN OPTION')`, which is what
 * GRANT itself checks on PostgreSQL 15 and 16+ alike (direct, or through a role the bot is a member of);
 * on 15 and older CREATEROLE also lets the bot grant any non-superuser role. Ending sessions needs the
 * privileges of `pg_signal_backend` (USAGE: inherited, as `pg_terminate_backend` checks them), and the
 * two-argument `pg_terminate_backend` needs PostgreSQL 14. Nothing is granted, revoked or ended.
 */
export async function checkPostgres(sql: postgres.Sql, mode: 'membership' | 'login', grants: string[]): Promise<ProviderCheck> {
  const report = new CheckReport();
  type Bot = { name: string; version: number; superuser: boolean; createrole: boolean; signal: boolean };
  let bot: Bot | undefined;
  try {
    [bot] = await sql<Bot[]>`
      SELECT current_user AS name, current_setting('server_version_num')::int AS version, r.rolsuper AS superuser,
             r.rolcreaterole AS createrole, pg_has_role(current_user, 'pg_signal_backend', 'USAGE') AS signal
      FROM pg_roles r WHERE r.rolname = current_user`;
  } catch (error) {
    return report.fail(`cannot connect: ${describePgError(error)}`).result();
  }
  if (!bot) return report.fail("connected, but cannot read the bot's own role in pg_roles").result();
  const major = Math.floor(bot.version / 10_000);
  const me = `"${bot.name}"`;
  report.ok(`connected as ${me} (PostgreSQL ${major})`);
  if (bot.version < 140_000) {
    report.fail(`PostgreSQL ${major} is too old: revoke ends sessions with pg_terminate_backend(pid, timeout), which needs PostgreSQL 14 or later`);
  }
  if (mode === 'login' && !bot.superuser) {
    if (bot.createrole) report.ok(`${me} may create and drop the login roles (CREATEROLE)`);
    else report.fail(`${me} cannot create the login roles of mode: login: ALTER ROLE ${me} CREATEROLE`);
  }
  if (bot.superuser) {
    report.warn(`${me} is a superuser: it can do far more than grant these roles; use a dedicated role with ADMIN OPTION on each of them`);
  } else if (bot.createrole && bot.version < 160_000 && mode !== 'login') {
    report.warn(`${me} has CREATEROLE, which on PostgreSQL ${major} lets it change every non-superuser role; ADMIN OPTION on each granted role is enough`);
  }
  if (bot.signal) report.ok(`${me} may end the principals' sessions (pg_signal_backend)`);
  else report.fail(`${me} cannot end sessions, which revoke does: GRANT pg_signal_backend TO ${me}`);

  const names: string[] = [];
  for (const name of uniqueGrants(grants)) {
    try {
      checkIdentifiers(name, []);
      names.push(name);
    } catch (error) {
      report.fail((error as Error).message);
    }
  }
  if (names.length === 0) return report.result();
  type Role = { name: string; found: boolean; superuser: boolean; admin: boolean; usage: boolean };
  let roles: Role[];
  try {
    // pg_has_role is strict: a role that does not exist (NULL oid) yields NULL, never an error.
    roles = await sql<Role[]>`
      SELECT g.name, r.oid IS NOT NULL AS found, coalesce(r.rolsuper, false) AS superuser,
             coalesce(pg_has_role(current_user, r.oid, 'MEMBER WITH ADMIN OPTION'), false) AS admin,
             coalesce(pg_has_role(current_user, r.oid, 'USAGE'), false) AS usage
      FROM jsonb_array_elements_text(${jsonList(names)}::text::jsonb) WITH ORDINALITY AS g(name, n)
      LEFT JOIN pg_roles r ON r.rolname = g.name
      ORDER BY g.n`;
  } catch (error) {
    return report.fail(`cannot read the roles ${quoteList(names)}: ${describePgError(error)}`).result();
  }
  for (const role of roles) {
    const it = `"${role.name}"`;
    if (!role.found) {
      report.fail(`role ${it} does not exist on the target`);
      continue;
    }
    if (role.admin) report.ok(`may grant ${it} (ADMIN OPTION)`);
    else if (bot.createrole && bot.version < 160_000 && !role.superuser) report.ok(`may grant ${it} (through CREATEROLE)`);
    else report.fail(`cannot grant ${it}: no ADMIN OPTION on it; GRANT ${it} TO ${me} WITH ADMIN OPTION`);
    if (role.usage && !bot.superuser && bot.version >= 160_000) {
      report.warn(`${me} also holds the privileges of ${it}; grant it WITH ADMIN TRUE, INHERIT FALSE, SET FALSE`);
    }
  }
  return report.result();
}
