/**
 * PostgreSQL "membership" provider: grants an existing role (`app_rw`) to an existing login role (the
 * principal, who signs in with SSO, IAM or a certificate) and revokes it again.
 *
 * The bot logs in as a non-superuser with ADMIN OPTION on each grantable role and membership in
 * `pg_signal_backend`; nothing here needs more. The connection URL is a secret: no error, log line or thrown
 * text built here contains it, its password, or the host (see `describePgError`).
 *
 * `mode: login` (an ephemeral login role per grant, `jit_<request id>`, like Vault's dynamic credentials) is
 * the same class with `mode: 'login'`: see the `login*` methods and `postgres-login.ts`. It needs CREATEROLE
 * too, and its `VALID UNTIL` is a second lock on new logins.
 *
 * Left out on purpose: an in-database expiry sweeper (pg_cron). Membership has no native expiry in
 * PostgreSQL, so in `mode: membership` our own revoke job and sweeper are the only lock.
 */
import postgres from 'postgres';
import { z } from 'zod';
import {
  PermanentProviderError,
  type AccessProvider,
  type GrantTarget,
  type GrantedObject,
  type LoginCredentials,
  type ProviderCheck,
} from '../use-cases/ports.js';
import { CheckReport, uniqueGrants } from './check.js';
import { envConnection, envName, resolveEnv, TIMEOUT_DEFAULTS, timeoutShape, timeoutsOf, type ProviderDefinition, type TargetTimeouts } from './definition.js';
import { derivePassword, loginRoleName, requestIdOfLoginRole, scramVerifier } from './postgres-login.js';
import { surviveConnectionLoss } from '../store/connection-loss.js';

/** SQLSTATEs that retrying cannot fix. */
const PERMANENT_SQLSTATES = new Set([
  '42704', // undefined_object: the role or the principal does not exist
  '42501', // insufficient_privilege: the bot lacks ADMIN OPTION on the role (or pg_signal_backend)
  '0LP01', // invalid_grant_operation: the grant would make a membership loop
]);
/**
 * A statement the target gave up on: lock_not_available (it waited longer than `lock_timeout`, e.g. behind a
 * DBA's open transaction on the same membership) and query_canceled (`statement_timeout`). Retryable, like
 * every SQLSTATE not listed above; named here for the message.
 */
const LOCK_NOT_AVAILABLE = '55P03';
const QUERY_CANCELED = '57014';
const UNDEFINED_OBJECT = '42704';
/** dependent_objects_still_exist: DROP ROLE of a role that owns objects or holds privileges on them. */
const DEPENDENT_OBJECTS = '2BP01';

/** PostgreSQL silently truncates longer identifiers, so a longer name would grant a different role. */
const MAX_IDENTIFIER_BYTES = 63;
/** How long revoke waits for each terminated session to exit (PostgreSQL 14+ `pg_terminate_backend(pid, ms)`). */
const TERMINATE_WAIT_MS = 5_000;

export interface PostgresRoleProviderOptions {
  /** Connection URL of the target database. A secret. */
  url: string;
  /**
   * `membership` (default): grant roles to the principal's existing login. `login`: create a login role per
   * grant (`jit_<request id>`), member of the roles, whose password derives from `passwordKey`.
   */
  mode?: 'membership' | 'login';
  /** `mode: login` only: the HMAC key the passwords derive from. A secret. */
  passwordKey?: string;
  /** Bounds on every statement that reads or changes roles (default 10 s lock wait, 30 s per statement). */
  timeouts?: Partial<TargetTimeouts>;
}

export class PostgresRoleProvider implements AccessProvider {
  /** Role memberships are shared by every grant of the same role; a login role is the grant's own. */
  readonly perGrantObjects: boolean;
  readonly mode: 'membership' | 'login';
  readonly #sql: postgres.Sql;
  readonly #passwordKey: string | undefined;
  readonly #timeouts: TargetTimeouts;

  constructor(options: PostgresRoleProviderOptions) {
    this.mode = options.mode ?? 'membership';
    this.perGrantObjects = this.mode === 'login';
    if (this.mode === 'login' && !options.passwordKey) throw new Error('mode login needs a password key');
    this.#passwordKey = options.passwordKey;
    this.#timeouts = { ...TIMEOUT_DEFAULTS, ...options.timeouts };
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

  async held(target: GrantTarget): Promise<string[]> {
    // The login role stands in for the principal: what it is a member of is what the grant holds.
    if (this.mode === 'login') return this.#heldBy(loginRoleName(target.requestId), target.grants);
    return this.#heldBy(target.principal, target.grants);
  }

  async #heldBy(principal: string, grants: string[]): Promise<string[]> {
    checkIdentifiers(principal, grants);
    if (grants.length === 0) return [];
    let rows: { rolname: string }[];
    try {
      // Direct memberships only: what GRANT/REVOKE of this provider changes. A principal that does not exist
      // simply matches no row. DISTINCT because PostgreSQL 16+ keeps one row per grantor.
      rows = await this.#bounded((tx) => tx<{ rolname: string }[]>`
        SELECT DISTINCT r.rolname
        FROM pg_auth_members m
        JOIN pg_roles r ON r.oid = m.roleid
        JOIN pg_roles u ON u.oid = m.member
        WHERE u.rolname = ${principal}
          AND r.rolname IN (SELECT jsonb_array_elements_text(${jsonList(grants)}::text::jsonb))`);
    } catch (error) {
      throw this.#error(error, `cannot read the memberships of "${principal}"`);
    }
    const names = new Set(rows.map((row) => row.rolname));
    return grants.filter((grant) => names.has(grant));
  }

  /**
   * `expiresAt` is unused: PostgreSQL has no native expiry for role memberships (VALID UNTIL only expires a
   * password), so the revoke job and the sweeper end the grant.
   */
  async grant(target: GrantTarget): Promise<void> {
    if (this.mode === 'login') return this.#grantLogin(target);
    const { principal, grants } = target;
    checkIdentifiers(principal, grants);
    if (grants.length === 0) return;
    try {
      // One transaction: a failure on any role leaves none of them granted. Granting a held role is a NOTICE.
      await this.#bounded(async (tx) => {
        for (const stmt of await statements(tx, 'GRANT %I TO %I', grants, principal)) await tx.unsafe(stmt);
      });
    } catch (error) {
      throw this.#error(error, `cannot grant ${quoteList(grants)} to "${principal}"`);
    }
  }

  /**
   * Revokes each role on its own (no transaction), so one failing role never keeps the others granted, then
   * ends every session of the principal: a session that ran `SET ROLE` keeps the role's privileges after
   * REVOKE, until it disconnects. Each REVOKE is its own short transaction under the timeouts: one blocked by
   * another session's lock fails (retryably) after `lock_timeout` instead of waiting without end.
   */
  async revoke(target: GrantTarget): Promise<void> {
    if (this.mode === 'login') return this.#revokeLogin(target);
    const { principal, grants } = target;
    checkIdentifiers(principal, grants);
    if (grants.length === 0) return;
    const failures: Error[] = [];
    try {
      const stmts = await statements(this.#sql, 'REVOKE %I FROM %I', grants, principal);
      for (const [i, stmt] of stmts.entries()) {
        try {
          await this.#bounded((tx) => tx.unsafe(stmt));
        } catch (error) {
          // A missing role or principal holds nothing: already revoked. Not granted at all is only a WARNING.
          if (sqlstate(error) === UNDEFINED_OBJECT) continue;
          failures.push(this.#error(error, `cannot revoke "${grants[i] ?? '?'}" from "${principal}"`));
        }
      }
    } catch (error) {
      failures.push(this.#error(error, `cannot revoke ${quoteList(grants)} from "${principal}"`));
    }
    // Outside the timeouts: it takes no lock, and waits at most TERMINATE_WAIT_MS for each session it ends.
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

  // ---- mode: login ----

  /**
   * Creates the grant's login role, `jit_<request id>`: `CREATE ROLE … LOGIN PASSWORD <SCRAM verifier>
   * VALID UNTIL <end> IN ROLE <grants…>`, built by the server with `format()`, plus a comment naming the
   * request and the principal (what a DBA sees next to `jit_…` in `pg_stat_activity` and the server log),
   * in one transaction. When the role exists (a retried job, or an extension with a later `expiresAt`), the
   * same transaction moves `VALID UNTIL` to `expiresAt` and grants any missing membership instead; the
   * password is left as it is (it is the same one). The plaintext password never reaches the server.
   */
  async #grantLogin({ requestId, principal, grants, expiresAt }: GrantTarget): Promise<void> {
    const role = loginRoleName(requestId);
    checkIdentifiers(role, grants);
    const until = expiresAt.toISOString();
    const list = jsonList(grants);
    try {
      await this.#bounded(async (tx) => {
        const [found] = await tx<{ one: number }[]>`SELECT 1 AS one FROM pg_roles WHERE rolname = ${role}`;
        if (!found) {
          const verifier = scramVerifier(derivePassword(this.#passwordKey as string, requestId));
          const [create] = await tx<{ stmt: string }[]>`
            SELECT format('CREATE ROLE %I WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L VALID UNTIL %L',
                          ${role}::text, ${verifier}::text, ${until}::text)
                   || coalesce(' IN ROLE ' || (
                        SELECT string_agg(format('%I', g), ', ' ORDER BY n)
                        FROM jsonb_array_elements_text(${list}::text::jsonb) WITH ORDINALITY AS t(g, n)), '') AS stmt`;
          await tx.unsafe(create!.stmt);
        } else {
          const [alter] = await tx<{ stmt: string }[]>`SELECT format('ALTER ROLE %I VALID UNTIL %L', ${role}::text, ${until}::text) AS stmt`;
          await tx.unsafe(alter!.stmt);
          // Granting a held membership is only a NOTICE.
          for (const stmt of await statements(tx, 'GRANT %I TO %I', grants, role)) await tx.unsafe(stmt);
        }
        const [comment] = await tx<{ stmt: string }[]>`
          SELECT format('COMMENT ON ROLE %I IS %L', ${role}::text, ${`accessbot login for ${principal}, request ${requestId}, until ${until}`}::text) AS stmt`;
        await tx.unsafe(comment!.stmt);
      });
    } catch (error) {
      throw this.#error(error, `cannot create or renew the login role "${role}" in ${quoteList(grants)}`);
    }
  }

  /**
   * Ends the grant's login role whatever `grants` says (the role is the grant's own): `NOLOGIN` first, so
   * nobody logs in again while the rest runs; then every session of the role is terminated; then `DROP ROLE
   * IF EXISTS`. A role that owns objects or holds privileges on them (a table the requester created) cannot
   * be dropped: the bot does not `REASSIGN OWNED`/`DROP OWNED` (that needs the privileges of the role, i.e.
   * of the data it was granted, and would silently delete or take over the requester's work). It removes
   * the role's memberships instead, so the locked role holds nothing, and refuses with a
   * PermanentProviderError naming the objects; the revoke job keeps retrying and the approvers are alerted,
   * until a DBA moves or drops them. A role that is already gone is success.
   */
  async #revokeLogin({ requestId }: GrantTarget): Promise<void> {
    const role = loginRoleName(requestId);
    checkIdentifiers(role, []);
    try {
      // NOLOGIN commits before the sessions are ended, so nobody logs in again meanwhile.
      const found = await this.#bounded(async (tx) => {
        const [row] = await tx<{ one: number }[]>`SELECT 1 AS one FROM pg_roles WHERE rolname = ${role}`;
        if (!row) return false;
        const [nologin] = await tx<{ stmt: string }[]>`SELECT format('ALTER ROLE %I NOLOGIN', ${role}::text) AS stmt`;
        await tx.unsafe(nologin!.stmt);
        return true;
      });
      if (!found) return;
      await this.#sql`
        SELECT pg_terminate_backend(pid, ${TERMINATE_WAIT_MS}::bigint)
        FROM pg_stat_activity
        WHERE usename = ${role} AND pid <> pg_backend_pid()`;
      await this.#bounded(async (tx) => {
        const [drop] = await tx<{ stmt: string }[]>`SELECT format('DROP ROLE IF EXISTS %I', ${role}::text) AS stmt`;
        await tx.unsafe(drop!.stmt);
      });
    } catch (error) {
      if (error instanceof postgres.PostgresError && error.code === UNDEFINED_OBJECT) return; // dropped meanwhile
      if (!(error instanceof postgres.PostgresError) || error.code !== DEPENDENT_OBJECTS) {
        throw this.#error(error, `cannot drop the login role "${role}"`);
      }
      const objects = oneLine(error.detail ?? 'objects not listed');
      try {
        await this.#bounded(async (tx) => {
          const memberships = await tx<{ stmt: string }[]>`
            SELECT format('REVOKE %I FROM %I', r.rolname, u.rolname) AS stmt
            FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
            WHERE u.rolname = ${role}`;
          for (const { stmt } of memberships) await tx.unsafe(stmt);
        });
      } catch (cleanup) {
        throw this.#error(cleanup, `cannot drop the login role "${role}" (it owns or holds objects: ${objects}), nor revoke its roles`);
      }
      throw new PermanentProviderError(
        `cannot drop the login role "${role}": it owns or holds objects (${objects}). It can no longer log in and holds no role; ` +
          `a DBA must REASSIGN OWNED BY or DROP OWNED BY "${role}" in each database named, then the revoke completes`,
      );
    }
  }

  /**
   * `mode: login`: the user name and the password of the request's login role, and where to connect (host,
   * port and database of the connection URL; never the bot's own user or password). Null in `mode:
   * membership`, which creates no login.
   */
  async credentialsFor({ requestId }: GrantTarget): Promise<LoginCredentials | null> {
    if (this.mode !== 'login') return null;
    const { host, port, database } = this.#sql.options;
    return {
      username: loginRoleName(requestId),
      password: derivePassword(this.#passwordKey as string, requestId),
      host: host[0] ?? 'localhost',
      port: port[0] ?? 5432,
      database,
    };
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
      const [bot] = await this.#bounded((tx) => tx<{ superuser: boolean }[]>`SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`);
      if (bot?.superuser !== false) {
        throw new PermanentProviderError(
          `${context}: the bot is a superuser, whose grants cannot be told from other superusers'; use a dedicated role with ADMIN OPTION`,
        );
      }
      rows = await this.#bounded((tx) => tx<{ principal: string; grant: string }[]>`
        SELECT DISTINCT u.rolname AS principal, r.rolname AS grant
        FROM pg_auth_members m
        JOIN pg_roles r ON r.oid = m.roleid
        JOIN pg_roles u ON u.oid = m.member
        WHERE m.grantor = (SELECT oid FROM pg_roles WHERE rolname = current_user)
          AND r.rolname IN (SELECT jsonb_array_elements_text(${jsonList(grants)}::text::jsonb))
        ORDER BY 2, 1`);
    } catch (error) {
      throw this.#error(error, context);
    }
    if (this.mode === 'login') {
      // A login role is named after its request, which decides; roles named otherwise are not ours to judge.
      return rows.flatMap(({ principal, grant }) => {
        const requestId = requestIdOfLoginRole(principal);
        return requestId === null ? [] : [{ principal, grant, requestId }];
      });
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
    if (this.mode === 'login' && !bot.superuser) {
      if (bot.createrole) report.ok(`${me} may create and drop the login roles (CREATEROLE)`);
      else report.fail(`${me} cannot create the login roles of mode: login: ALTER ROLE ${me} CREATEROLE`);
    }
    if (bot.superuser) {
      report.warn(`${me} is a superuser: it can do far more than grant these roles; use a dedicated role with ADMIN OPTION on each of them`);
    } else if (bot.createrole && bot.version < 160_000 && this.mode !== 'login') {
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

  /**
   * A transaction on the target that a target restart cannot turn into a crash of the whole bot (the
   * postgres.js defect `surviveConnectionLoss` works around): the attempt fails and the job retries.
   */
  #begin<T>(work: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
    return surviveConnectionLoss<postgres.TransactionSql, T>((body) => this.#sql.begin(body) as Promise<T>, work);
  }

  /**
   * A transaction whose statements wait at most `lock_timeout` for a lock and run at most `statement_timeout`:
   * `SET LOCAL` (through `set_config(…, true)`), not startup parameters or a session `SET`, so it holds through
   * a transaction-pooling proxy too (PgBouncer refuses unknown startup parameters, and a session setting
   * would leak to its other clients). Exceeding either fails the statement with 55P03 or 57014: retryable.
   */
  #bounded<T>(work: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
    const { lockMs, statementMs } = this.#timeouts;
    return this.#begin(async (tx) => {
      await tx`SELECT set_config('lock_timeout', ${String(lockMs)}, true), set_config('statement_timeout', ${String(statementMs)}, true)`;
      return work(tx);
    });
  }

  /** A provider error, saying which bound a timed-out statement hit. */
  #error(error: unknown, context: string): Error {
    const state = sqlstate(error);
    if (state === LOCK_NOT_AVAILABLE) {
      return new Error(`${context}: waited longer than lock_timeout (${seconds(this.#timeouts.lockMs)}) for a lock another session holds on the target (SQLSTATE ${state}); retryable`);
    }
    if (state === QUERY_CANCELED) {
      return new Error(`${context}: cancelled on the target, by statement_timeout (${seconds(this.#timeouts.statementMs)}) or by an administrator (SQLSTATE ${state}); retryable`);
    }
    return providerError(error, context);
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

function seconds(ms: number): string {
  return `${ms / 1000}s`;
}

/** A server DETAIL on one line. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
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

/** The shortest `password_key` accepted: 32 characters (`openssl rand -base64 32` gives 44). */
const MIN_PASSWORD_KEY = 32;

/**
 * `provider: postgres` in the policy: `connection: { env: NAME }` names the variable holding the URL;
 * `mode: membership` (default) or `login`; `password_key: { env: NAME }` (mode login only, required there)
 * names the variable holding the key the login passwords derive from.
 */
const settingsSchema = z.object({
  connection: envConnection,
  ...timeoutShape,
  mode: z
    .enum(['membership', 'login'], {
      error: 'must be membership (grant roles to an existing user) or login (create a login role per grant)',
    })
    .optional(),
  password_key: z
    .strictObject(
      { env: envName },
      { error: 'use { env: NAME } naming the environment variable that holds the key; secrets never go in the policy file' },
    )
    .optional(),
});

function envNamesOf(settings: Readonly<Record<string, unknown>>): { setting: string; variable: string }[] {
  const { connection, mode, password_key } = settingsSchema.parse(settings);
  const names = [{ setting: 'connection.env', variable: connection.env }];
  if (mode === 'login' && password_key) names.push({ setting: 'password_key.env', variable: password_key.env });
  return names;
}

export const postgresProvider: ProviderDefinition = {
  name: 'postgres',
  shape: settingsSchema.shape,
  envNames: envNamesOf,
  create(settings, env, path) {
    const { connection, mode = 'membership', password_key, ...timeouts } = settingsSchema.parse(settings);
    const url = resolveEnv(env, connection.env, `${path}.connection.env`);
    let passwordKey: string | undefined;
    if (mode === 'login') {
      if (!password_key) {
        throw new Error(
          `${path}.password_key: required with mode: login; use { env: NAME } naming the environment variable that holds the key the login passwords derive from (at least ${MIN_PASSWORD_KEY} characters, e.g. openssl rand -base64 32)`,
        );
      }
      passwordKey = resolveEnv(env, password_key.env, `${path}.password_key.env`);
      if (passwordKey.length < MIN_PASSWORD_KEY) {
        throw new Error(`${path}.password_key.env: environment variable ${password_key.env} is too short: at least ${MIN_PASSWORD_KEY} characters`);
      }
    } else if (password_key) {
      throw new Error(`${path}.password_key: only used with mode: login`);
    }
    try {
      return new PostgresRoleProvider({ url, mode, timeouts: timeoutsOf(timeouts), ...(passwordKey ? { passwordKey } : {}) });
    } catch {
      throw new Error(`${path}.connection.env: environment variable ${connection.env} is not a valid connection URL`);
    }
  },
};
