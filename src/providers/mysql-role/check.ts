/** `accessbot provider check` for the mysql provider: reads, never grants, revokes or kills anything. */
import mysql from 'mysql2/promise';
import { PermanentProviderError, type ProviderCheck } from '../../use-cases/ports.js';
import { CheckReport, hasMariadbPrivilege, parseMariadbGrants, uniqueGrants } from '../check.js';
import { describeMysqlError } from './errors.js';
import { checkNames } from './names.js';
import { select, type MysqlSessions } from './session.js';

/**
 * Read-only (`accessbot provider check`): connects (refusing a server that is not MariaDB 10.4+, as every
 * call does), then checks what grant and revoke need: ADMIN OPTION on each role (the same
 * `APPLICABLE_ROLES` test grant makes), the global privileges and the grant tables (from `SHOW GRANTS`,
 * whose lines are never shown: one carries the password hash; SELECT on the two grant tables is probed with
 * `LIMIT 0`), and with `expiry_event_schema` the EVENT privilege there and `event_scheduler`. Those last
 * two are warnings, as in grant: the event is a best-effort second lock.
 */
export async function checkMysql(sessions: MysqlSessions, eventSchema: string | undefined, grants: string[]): Promise<ProviderCheck> {
  const report = new CheckReport();
  let connected = false;
  try {
    await sessions.run(async (c) => {
      connected = true;
      const [who] = await select<{ user: string; version: string; scheduler: string }>(
        c,
        'SELECT CURRENT_USER() AS user, VERSION() AS version, @@GLOBAL.event_scheduler AS scheduler',
      );
      // As SQL: `'user'@'host'` (CURRENT_USER() reads user@host; a user name may hold @, a host may not).
      const at = (who?.user ?? '').lastIndexOf('@');
      const me = at < 0 ? 'CURRENT_USER()' : `${mysql.escape(who!.user.slice(0, at))}@${mysql.escape(who!.user.slice(at + 1))}`;
      report.ok(`connected as ${me} (MariaDB ${/^[\d.]+/.exec(who?.version ?? '')?.[0] ?? '?'})`);

      // The roles: the bot must hold each WITH ADMIN OPTION.
      const names: string[] = [];
      for (const name of uniqueGrants(grants)) {
        try {
          checkNames(name, []);
          names.push(name);
        } catch (error) {
          report.fail((error as Error).message);
        }
      }
      if (names.length > 0) {
        const binary = [names.map((n) => Buffer.from(n, 'utf8'))];
        const applicable = await select<{ role: string; grantable: string }>(
          c,
          `SELECT ROLE_NAME AS role, IS_GRANTABLE AS grantable FROM information_schema.APPLICABLE_ROLES
           WHERE GRANTEE = CURRENT_USER() AND CAST(ROLE_NAME AS BINARY) IN (?)`,
          binary,
        );
        const grantable = new Set(applicable.filter((r) => r.grantable === 'YES').map((r) => r.role));
        const withoutAdmin = new Set(applicable.filter((r) => r.grantable !== 'YES').map((r) => r.role));
        let existing: Set<string> | undefined;
        if (names.some((n) => !grantable.has(n) && !withoutAdmin.has(n))) {
          existing = await select<{ role: string }>(c, `SELECT User AS role FROM mysql.global_priv WHERE Host = '' AND CAST(User AS BINARY) IN (?)`, binary)
            .then((rows) => new Set(rows.map((r) => r.role)))
            .catch(() => undefined); // no SELECT on mysql.global_priv: reported below
        }
        for (const name of names) {
          const it = mysql.escapeId(name, true);
          if (grantable.has(name)) report.ok(`may grant ${it} (ADMIN OPTION)`);
          else if (withoutAdmin.has(name)) report.fail(`cannot grant ${it}: the bot holds it without ADMIN OPTION; GRANT ${it} TO ${me} WITH ADMIN OPTION`);
          else if (existing && !existing.has(name)) report.fail(`role ${it} does not exist on the target`);
          else report.fail(`cannot grant ${it}: no such role, or no ADMIN OPTION on it; GRANT ${it} TO ${me} WITH ADMIN OPTION`);
        }
      }

      // The bot's own privileges.
      const [rows] = await c.query<mysql.RowDataPacket[]>({ sql: 'SHOW GRANTS', rowsAsArray: true });
      const held = parseMariadbGrants((rows as unknown as unknown[][]).map((row) => String(row[0] ?? '')));
      const needs: [string, string, string | undefined][] = [
        ['CREATE USER', 'creates and drops the per-account bundle roles', undefined],
        ['PROCESS', "sees the principal's sessions", undefined],
        ['CONNECTION ADMIN', "ends the principal's sessions on revoke", undefined],
        ['UPDATE', 'SET DEFAULT ROLE for another account needs it on the whole schema', 'mysql'],
      ];
      for (const [privilege, why, schema] of needs) {
        const on = schema === undefined ? '*.*' : `\`${schema}\`.*`;
        if (hasMariadbPrivilege(held, privilege, schema)) report.ok(`holds ${privilege} ON ${on}`);
        else report.fail(`missing ${privilege} ON ${on} (${why}): GRANT ${privilege} ON ${on} TO ${me}`);
      }
      for (const table of ['roles_mapping', 'global_priv']) {
        try {
          await c.query(`SELECT 1 FROM mysql.${table} LIMIT 0`);
          report.ok(`may read mysql.${table}`);
        } catch (error) {
          report.fail(`cannot read mysql.${table} (${describeMysqlError(error)}): GRANT SELECT ON mysql.${table} TO ${me}`);
        }
      }

      // The optional second lock.
      if (eventSchema !== undefined) {
        const schema = eventSchema;
        const present = await select(c, 'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [schema]);
        if (present.length === 0) {
          report.warn(`expiry_event_schema: schema \`${schema}\` does not exist or is not visible to the bot; no expiry events (our revoke still ends grants)`);
        } else if (!hasMariadbPrivilege(held, 'EVENT', schema)) {
          report.warn(`expiry_event_schema: missing EVENT ON \`${schema}\`.*, so grants get no expiry event (our revoke still ends them): GRANT EVENT ON \`${schema}\`.* TO ${me}`);
        } else {
          report.ok(`may create expiry events in \`${schema}\``);
        }
        if (who?.scheduler === 'ON') report.ok('event_scheduler is ON');
        else report.warn(`event_scheduler is ${who?.scheduler ?? 'unknown'}: expiry events will not run (our revoke still does); set event_scheduler=ON in the server configuration`);
      }
    });
  } catch (error) {
    if (error instanceof PermanentProviderError) report.fail(error.message); // e.g. not MariaDB 10.4+
    else report.fail(`${connected ? 'the check stopped' : 'cannot connect'}: ${describeMysqlError(error)}`);
  }
  return report.result();
}
