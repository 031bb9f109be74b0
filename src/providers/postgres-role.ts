/**
 * PostgreSQL "membership" provider: grants an existing role (`app_rw`) to an existing login role (the
 * principal, who signs in with SSO, IAM or a certificate) and revokes it again.
 *
 * The bot logs in as a non-superuser with ADMIN OPTION on each grantable role and membership in
 * `pg_signal_backend`; nothing here needs more. The connection URL is a secret: no error, log line or thrown
 * text built here contains it, its password, or the host (see `describePgError`).
 *
 * Left out on purpose: the ephemeral-login-role mode (CREATE ROLE … VALID UNTIL) and an in-database expiry
 * sweeper (pg_cron). Membership has no native expiry in PostgreSQL, so our own revoke job and sweeper are the
 * only lock.
 */
import postgres from 'postgres';
import { z } from 'zod';
import { PermanentProviderError, type AccessProvider, type GrantTarget, type GrantedObject, type ProviderCheck } from '../use-cases/ports.js';
import { CheckReport, uniqueGrants } from './check.js';
import { envConnection, resolveEnv, type ProviderDefinition } from './definition.js';

/** SQLSTATEs that retrying cannot fix. */
const PERMANENT_SQLSTATES = new Set([
  '42704', // undefined_object: the role or the principal does not exist
  '42501', // insufficient_privilege: the bot lacks ADMIN OPTION on the role (or pg_signal_backend)
  '0LP01', // invalid_grant_operation: the grant would make a membership loop
]);
const UNDEFINED_OBJECT = '42704';

/** PostgreSQL silently truncates longer identifiers, so a longer name would grant a different role. */
const MAX_IDENTIFIER_BYTES = 63;
/** How long revoke waits for each terminated session to exit (PostgreSQL 14+ `pg_terminate_backend(pid, ms)`). */
const TERMINATE_WAIT_MS = 5_000;

export interface PostgresRoleProviderOptions {
  /** Connection URL of the target database. A secret. */
  url: string;
}

export class PostgresRoleProvider implements AccessProvider {
  /** Role memberships are shared by every grant of the same role. */
  readonly perGrantObjects = false;
  readonly #sql: postgres.Sql;

  constructor(options: PostgresRoleProviderOptions) {
    try {
      this.#sql = postgres(options.url, {
        max: 2,
        connect_timeout: 5,
        idle_timeout: 60,
        // GRANT/REVOKE repeats raise NOTICE/WARNING by design; they are not problems.
        onnotice: () => {},
        // Targets often sit behind a transaction-pooling proxy, where named prepared statements break.
        prepare: false,
        connection: { application_name: 'accessbot' },
      });
    } catch {
      // The driver's URL error carries the URL (with its password) in `input`: never pass it on.
      throw new Error('invalid PostgreSQL connection URL');
    }
  }

  async held({ principal, grants }: GrantTarget): Promise<string[]> {
    checkIdentifiers(principal, grants);
    if (grants.length === 0) return [];
    let rows: { rolname: string }[];
    try {
      // Direct memberships only: what GRANT/REVOKE of this provider changes. A principal that does not exist
      // simply matches no row. DISTINCT because PostgreSQL 16+ keeps one row per grantor.
      rows = await this.#sql<{ rolname: string }[]>`
        SELECT DISTINCT r.rolname
        FROM pg_auth_members m
        JOIN pg_roles r ON r.oid = m.roleid
        JOIN pg_roles u ON u.oid = m.member
        WHERE u.rolname = ${principal}
          AND r.rolname IN (SELECT jsonb_array_elements_text(${jsonList(grants)}::text::jsonb))`;
    } catch (error) {
      throw providerError(error, `cannot read the memberships of "${principal}"`);
    }
    const names = new Set(rows.map((row) => row.rolname));
    return grants.filter((grant) => names.has(grant));
  }

  /**
   * `expiresAt` is unused: PostgreSQL has no native expiry for role memberships (VALID UNTIL only expires a
   * password), so the revoke job and the sweeper end the grant.
   */
  async grant({ principal, grants }: GrantTarget): Promise<void> {
    checkIdentifiers(principal, grants);
    if (grants.length === 0) return;
    try {
      // One transaction: a failure on any role leaves none of them granted. Granting a held role is a NOTICE.
      await this.#sql.begin(async (tx) => {
        for (const stmt of await statements(tx, 'GRANT %I TO %I', grants, principal)) await tx.unsafe(stmt);
      });
    } catch (error) {
      throw providerError(error, `cannot grant ${quoteList(grants)} to "${principal}"`);
    }
  }

  /**
   * Revokes each role on its own (no transaction), so one failing role never keeps the others granted, then
   * ends every session of the principal: a session that ran `SET ROLE` keeps the role's privileges after
   * REVOKE, until it disconnects.
   */
  async revoke({ principal, grants }: GrantTarget): Promise<void> {
    checkIdentifiers(principal, grants);
    if (grants.length === 0) return;
    const failures: Error[] = [];
    try {
      const stmts = await statements(this.#sql, 'REVOKE %I FROM %I', grants, principal);
      for (const [i, stmt] of stmts.entries()) {
        try {
          await this.#sql.unsafe(stmt);
        } catch (error) {
          // A missing role or principal holds nothing: already revoked. Not granted at all is only a WARNING.
          if (sqlstate(error) === UNDEFINED_OBJECT) continue;
          failures.push(providerError(error, `cannot revoke "${grants[i] ?? '?'}" from "${principal}"`));
        }
      }
    } catch (error) {
      failures.push(providerError(error, `cannot revoke ${quoteList(grants)} from "${principal}"`));
    }
    try {
      await this.#sql`
        SELECT pg_terminate_backend(pid, ${TERMINATE_WAIT_MS}::bigint)
        FROM pg_stat_activity
        WHERE usename = ${principal} AND pid <> pg_backend_pid()`;
    } catch (error) {
      failures.push(providerError(error, `cannot end the sessions of "${principal}"`));
    }
    // A retryable failure wins: the retry redoes everything (all of it is idempotent).
    const failure = failures.find((f) => !(f instanceof PermanentProviderError)) ?? failures[0];
    if (failure) throw failure;
  }

  /**
   * Drift detection (read-only): the memberships of `grants` whose grantor is the bot's own role, i.e. what the
   * bot granted and nobody has revoked. A membership has no request name, so `requestId` is null: the use case
   * weighs it against the records. A membership a DBA granted (another grantor) is never listed; on PostgreSQL
   * 15 and older a membership keeps the grantor of its first GRANT, so one the bot granted on top of a DBA's is
   * the DBA's. A superuser bot is refused: it is often the very role DBAs use, and PostgreSQL 16+ records every
   * superuser's grant as the bootstrap superuser's, so its own grants cannot be told from anyone else's.
   */
  async listGranted(grants: string[]): Promise<GrantedObject[]> {
    for (const grant of grants) checkIdentifiers(grant, []);
    if (grants.length === 0) return [];
    const context = `cannot list the memberships of ${quoteList(grants)} granted by the bot`;
    let rows: { principal: string; grant: string }[];
    try {
      const [bot] = await this.#sql<{ superuser: boolean }[]>`SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`;
      if (bot?.superuser !== false) {
        throw new PermanentProviderError(
          `${context}: the bot is a superuser, whose grants cannot be told from other superusers'; use a dedicated role with ADMIN OPTION`,
        );
      }
      rows = await this.#sql<{ principal: string; grant: string }[]>`
        SELECT DISTINCT u.rolname AS principal, r.rolname AS grant
        FROM pg_auth_members m
        JOIN pg_roles r ON r.oid = m.roleid
        JOIN pg_roles u ON u.oid = m.member
        WHERE m.grantor = (SELECT oid FROM pg_roles WHERE rolname = current_user)
          AND r.rolname IN (SELECT jsonb_array_elements_text(${jsonList(grants)}::text::jsonb))
        ORDER BY 2, 1`;
    } catch (error) {
      throw providerError(error, context);
    }
    return rows.map(({ principal, grant }) => ({ principal, grant, requestId: null }));
  }

  /**
   * Read-only (`accessbot provider check`): connects, then checks what grant and revoke need. ADMIN OPTION on
   * each role is tested with `pg_has_role(current_user, role, 'MEMBER WITH ADMIN OPTION')`, which is what
   * GRANT itself checks on PostgreSQL 15 and 16+ alike (direct, or through a role the bot is a member of);
   * on 15 and older CREATEROLE also lets the bot grant any non-superuser role. Ending sessions needs the
   * privileges of `pg_signal_backend` (USAGE: inherited, as `pg_terminate_backend` checks them), and the
   * two-argument `pg_terminate_backend` needs PostgreSQL 14. Nothing is granted, revoked or ended.
   */
  async check(grants: string[]): Promise<ProviderCheck> {
    const report = new CheckReport();
    type Bot = { name: string; version: number; superuser: boolean; createrole: boolean; signal: boolean };
    let bot: Bot | undefined;
    try {
      [bot] = await this.#sql<Bot[]>`
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
    if (bot.superuser) {
      report.warn(`${me} is a superuser: it can do far more than grant these roles; use a dedicated role with ADMIN OPTION on each of them`);
    } else if (bot.createrole && bot.version < 160_000) {
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
      roles = await this.#sql<Role[]>`
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

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}

/**
 * A driver error as text that is safe to log and show: the SQLSTATE and the server's message. Socket and
 * driver errors (ECONNREFUSED, CONNECT_TIMEOUT, CONNECTION_CLOSED, …) name the host and port in their
 * message, so only their code is kept.
 */
export function describePgError(error: unknown): string {
  if (error instanceof postgres.PostgresError) return `SQLSTATE ${error.code}: ${error.message}`;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]+$/.test(code)) return `driver error ${code}`;
  return `unexpected driver error (${error instanceof Error ? error.name : typeof error})`;
}

function sqlstate(error: unknown): string | undefined {
  return error instanceof postgres.PostgresError ? error.code : undefined;
}

/** Never passes the driver error on as `cause`: its properties may hold connection details. */
function providerError(error: unknown, context: string): Error {
  if (error instanceof PermanentProviderError) return error;
  const message = `${context}: ${describePgError(error)}`;
  const state = sqlstate(error);
  return state !== undefined && PERMANENT_SQLSTATES.has(state) ? new PermanentProviderError(message) : new Error(message);
}

/**
 * Utility statements take no bind parameters, so the server quotes the identifiers with `format('%I')` and
 * we run the text it returns. Identifiers are never concatenated here.
 */
async function statements(sql: postgres.Sql | postgres.TransactionSql, template: string, roles: string[], principal: string): Promise<string[]> {
  if (roles.length === 0) return [];
  const rows = await sql<{ stmt: string }[]>`
    SELECT format(${template}::text, role, ${principal}::text) AS stmt
    FROM jsonb_array_elements_text(${jsonList(roles)}::text::jsonb) WITH ORDINALITY AS t(role, n)
    ORDER BY n`;
  return rows.map((row) => row.stmt);
}

/**
 * A list parameter as JSON text, read with `$n::text::jsonb`. postgres.js 3.4.9 sends `sql.array([x])` as
 * the bare text `x` on a fresh connection (`malformed array literal`), and JSON-encodes a string bound
 * straight to `jsonb` a second time; a `text` parameter is sent as is.
 */
function jsonList(names: string[]): string {
  return JSON.stringify(names);
}

function checkIdentifiers(principal: string, grants: string[]): void {
  for (const name of [principal, ...grants]) {
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes === 0 || bytes > MAX_IDENTIFIER_BYTES || name.includes('\0')) {
      throw new PermanentProviderError(`invalid PostgreSQL role name "${name}": must be 1 to ${MAX_IDENTIFIER_BYTES} bytes without NUL`);
    }
  }
}

function quoteList(names: string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}

/** `provider: postgres` in the policy: `connection: { env: NAME }` names the variable holding the URL. */
const settingsSchema = z.object({ connection: envConnection });

export const postgresProvider: ProviderDefinition = {
  name: 'postgres',
  shape: settingsSchema.shape,
  envNames: (settings) => [{ setting: 'connection.env', variable: settingsSchema.parse(settings).connection.env }],
  create(settings, env, path) {
    const { connection } = settingsSchema.parse(settings);
    const url = resolveEnv(env, connection.env, `${path}.connection.env`);
    try {
      return new PostgresRoleProvider({ url });
    } catch {
      throw new Error(`${path}.connection.env: environment variable ${connection.env} is not a valid connection URL`);
    }
  },
};
