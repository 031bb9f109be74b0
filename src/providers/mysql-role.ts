/**
 * MariaDB role provider (`provider: mysql`): makes existing roles (`app_rw`) active for an existing account
 * (the principal `'alice'@'%'`, who signs in with a password, PAM or GSSAPI) and takes them back.
 *
 * MariaDB (10.11) activates ONE role per session: `SET DEFAULT ROLE` and `SET ROLE` take a single role, and
 * a role reached only through another role cannot be `SET ROLE`d. So a grant of several roles goes through a
 * per-account bundle role, `jit_<user>_<hash of user@host>`, owned by the bot: the requested roles are granted
 * to the bundle, the bundle to the account, and the bundle becomes the account's default role, so a fresh
 * login has every granted role active. Grants of the same role share the bundle's membership (like a
 * PostgreSQL membership, not a per-grant object); the use cases never revoke what another grant covers.
 *
 * revoke takes the roles out of the bundle (table and database privileges go at once, even in open sessions),
 * then kills every session of the account's user: global privileges, and a role a session activated itself
 * (granted directly, then `SET ROLE`), survive a REVOKE until the session ends. When the bundle is empty it is
 * dropped; the account keeps the bundle as its (dangling, harmless) default role, which a later grant revives.
 *
 * `expiry_event_schema` adds a second, target-side lock: one event per account, `jit_expire_<user>_<hash>`,
 * scheduled at the latest `expiresAt` of its grants, that drops the bundle and kills the user's sessions, so
 * access ends even if the bot is down. It is best-effort: it needs `event_scheduler=ON` (MariaDB's default is
 * OFF) and `EVENT` on the schema; when either is missing, grant still succeeds and a warning (names only) is
 * logged. It is per account, not per request, because the membership is shared: a per-request event would
 * take back a role that a longer, overlapping grant still covers.
 *
 * The bot account needs: each grantable role `WITH ADMIN OPTION`; `CREATE USER` (CREATE/DROP ROLE of the
 * bundles); `UPDATE ON mysql.*` (MariaDB's requirement for `SET DEFAULT ROLE … FOR` another account; a
 * table-level grant is not enough); `SELECT ON mysql.roles_mapping` and `SELECT ON mysql.global_priv`;
 * `PROCESS` and `CONNECTION ADMIN` (see and kill other users' sessions); `EVENT ON <expiry_event_schema>.*`.
 * That is close to an administrator: keep the bot's password in a secret store.
 *
 * The connection URL is a secret: no error, log line or thrown text built here contains it, its password, or
 * the host (see `describeMysqlError`). Names are escaped on the client (`escapeId`/`escape`) under a sql_mode
 * pinned per session (no NO_BACKSLASH_ESCAPES), never concatenated raw.
 *
 * Left out on purpose: MySQL 8 (roles work differently there: `mysql.role_edges`, several default roles,
 * `SET DEFAULT ROLE … TO`); it is refused at first use rather than half supported. Temporary users (CREATE
 * USER per request). A principal's other default role is never replaced: see `grant`.
 */
import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import { z } from 'zod';
import { PermanentProviderError, type AccessProvider, type GrantTarget, type Logger, type ProviderCheck } from '../use-cases/ports.js';
import { CheckReport, hasMariadbPrivilege, parseMariadbGrants, uniqueGrants } from './check.js';
import { envConnection, resolveEnv, TIMEOUT_DEFAULTS, timeoutShape, timeoutsOf, type ProviderDefinition, type TargetTimeouts } from './definition.js';

/** Server error numbers that retrying cannot fix. */
const PERMANENT_ERRNOS = new Set([
  1044, // ER_DBACCESS_DENIED_ERROR: e.g. no UPDATE on mysql.* for SET DEFAULT ROLE
  1133, // ER_PASSWORD_NO_MATCH: the account does not exist
  1142, // ER_TABLEACCESS_DENIED_ERROR: e.g. no SELECT on mysql.roles_mapping
  1227, // ER_SPECIFIC_ACCESS_DENIED_ERROR: e.g. no CREATE USER, PROCESS or CONNECTION ADMIN
  1396, // ER_CANNOT_USER: CREATE/DROP ROLE refused
  1470, // ER_WRONG_STRING_LENGTH: a name over 128 characters
  1698, // ER_ACCESS_DENIED_NO_PASSWORD_ERROR: no ADMIN OPTION on the role
  1959, // ER_INVALID_ROLE: the role does not exist
]);
const ER_INVALID_ROLE = 1959;
/** "Cannot revoke role": not granted, or the grantee does not exist. */
const ER_CANNOT_REVOKE_ROLE = 1962;
const ER_NO_SUCH_THREAD = 1094;
/**
 * A statement the server gave up on: ER_LOCK_WAIT_TIMEOUT (`lock_wait_timeout` on a metadata lock,
 * `innodb_lock_wait_timeout` on a row lock) and ER_STATEMENT_TIMEOUT (`max_statement_time`, which also ends a
 * REVOKE waiting on a table lock, e.g. `LOCK TABLES mysql.roles_mapping WRITE`, or on FLUSH TABLES WITH READ
 * LOCK). Retryable, like every errno not listed above; named here for the message.
 */
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_STATEMENT_TIMEOUT = 1969;

/** mysql.global_priv / roles_mapping store names as CHAR(128) utf8mb3. */
const MAX_NAME_CHARS = 128;
const MAX_HOST_CHARS = 255;
/** Pinned per session: backslash escaping stays valid, GRANT never creates an account, events run in UTC. */
const SESSION_SETUP = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_CREATE_USER', time_zone = '+00:00'";

/**
 * The session's bounds, in seconds: `lock_wait_timeout` (metadata locks) and `innodb_lock_wait_timeout` (row
 * locks) take whole seconds (at least 1), `max_statement_time` (MariaDB only) fractions too.
 */
function timeoutSetup({ lockMs, statementMs }: TargetTimeouts): string {
  const lock = Math.max(1, Math.ceil(lockMs / 1000));
  return `SET SESSION lock_wait_timeout = ${lock}, innodb_lock_wait_timeout = ${lock}, max_statement_time = ${statementMs / 1000}`;
}

export interface MysqlRoleProviderOptions {
  /** `mysql://user:password@host:port/` (or `mariadb://`); `?ssl=true` turns on TLS. A secret. */
  url: string;
  /** The host part of every principal's account, `'alice'@'<host>'`. Default `%`. */
  host?: string;
  /** A schema where the bot may CREATE EVENT; enables the target-side expiry event. */
  expiryEventSchema?: string;
  /** Where best-effort problems go (names only, never the URL). Default: `process.emitWarning`. */
  log?: Pick<Logger, 'warn'>;
  /** Bounds on every statement (default 10 s lock wait, 30 s per statement). */
  timeouts?: Partial<TargetTimeouts>;
}

type Conn = mysql.PoolConnection;

export class MysqlRoleProvider implements AccessProvider {
  /** Role memberships are shared by every grant of the same role. */
  readonly perGrantObjects = false;
  readonly #pool: mysql.Pool;
  readonly #host: string;
  readonly #eventSchema: string | undefined;
  readonly #log: Pick<Logger, 'warn'>;
  readonly #timeouts: TargetTimeouts;
  /** Core connections that ran `SESSION_SETUP` and the timeouts. */
  readonly #ready = new WeakSet<object>();
  #serverChecked = false;
  #schedulerWarned = false;

  constructor(options: MysqlRoleProviderOptions) {
    this.#host = options.host ?? '%';
    checkHost(this.#host);
    this.#eventSchema = options.expiryEventSchema;
    this.#timeouts = { ...TIMEOUT_DEFAULTS, ...options.timeouts };
    this.#log = options.log ?? { warn: (obj, msg) => process.emitWarning(`${msg ?? 'mysql provider'} ${JSON.stringify(obj)}`, 'AccessbotWarning') };
    // Lazy: createPool connects on first use.
    this.#pool = mysql.createPool({
      ...connectionOptions(options.url),
      connectionLimit: 2,
      maxIdle: 2,
      idleTimeout: 60_000,
      connectTimeout: 5_000,
      enableKeepAlive: true,
      multipleStatements: false,
      charset: 'utf8mb4',
    });
  }

  async held({ principal, grants }: GrantTarget): Promise<string[]> {
    checkNames(principal, grants);
    if (grants.length === 0) return [];
    const bundle = bundleName(principal, this.#host);
    let rows: { role: string }[];
    try {
      // Direct grants to the account or to its bundle: what a login can activate, and what revoke changes.
      rows = await this.#run((c) =>
        select<{ role: string }>(
          c,
          `SELECT DISTINCT Role AS role FROM mysql.roles_mapping
           WHERE ((User = ? AND Host = ?) OR (User = ? AND Host = '')) AND Role IN (?)`,
          [principal, this.#host, bundle, grants],
        ),
      );
    } catch (error) {
      throw providerError(error, `cannot read the roles of ${this.#account(principal)}`);
    }
    const names = new Set(rows.map((row) => row.role));
    return grants.filter((grant) => names.has(grant));
  }

  /**
   * Checks every role and the account before changing anything, so an unknown role or account grants none.
   * The bundle becomes the default role unless the account already has another default role: that one is
   * left in place (its owner chose it) with a warning, and the user activates the grant with
   * `SET ROLE <bundle>`.
   */
  async grant({ principal, grants, expiresAt }: GrantTarget): Promise<void> {
    checkNames(principal, grants);
    if (grants.length === 0) return;
    const account = this.#account(principal);
    const bundle = bundleName(principal, this.#host);
    try {
      await this.#run(async (c) => {
        const grantable = await select<{ role: string }>(
          c,
          `SELECT ROLE_NAME AS role FROM information_schema.APPLICABLE_ROLES
           WHERE GRANTEE = CURRENT_USER() AND IS_GRANTABLE = 'YES' AND CAST(ROLE_NAME AS BINARY) IN (?)`,
          [grants.map((g) => Buffer.from(g, 'utf8'))],
        );
        const names = new Set(grantable.map((row) => row.role));
        const missing = grants.filter((g) => !names.has(g));
        if (missing.length > 0) {
          throw new PermanentProviderError(`cannot grant ${quoteList(missing)} to ${account}: no such role, or the bot has no ADMIN OPTION on it`);
        }
        const accounts = await select<{ defaultRole: string | null }>(
          c,
          `SELECT JSON_VALUE(Priv, '$.default_role') AS defaultRole FROM mysql.global_priv WHERE User = ? AND Host = ?`,
          [principal, this.#host],
        );
        if (accounts.length === 0) throw new PermanentProviderError(`cannot grant ${quoteList(grants)} to ${account}: no such account`);
        const defaultRole = accounts[0]?.defaultRole ?? '';

        await c.query('CREATE ROLE IF NOT EXISTS ?', [id(bundle)]);
        for (const role of grants) await c.query('GRANT ? TO ?', [id(role), id(bundle)]); // a repeat is a no-op
        await c.query('GRANT ? TO ?@?', [id(bundle), principal, this.#host]);
        if (defaultRole === '') {
          await c.query('SET DEFAULT ROLE ? FOR ?@?', [id(bundle), principal, this.#host]);
        } else if (defaultRole !== bundle) {
          this.#log.warn(
            { account, bundle, defaultRole },
            'the account has another default role, left in place: the granted roles are active only after SET ROLE of the bundle',
          );
        }
        if (this.#eventSchema !== undefined) await this.#scheduleExpiry(c, principal, bundle, expiresAt);
      });
    } catch (error) {
      throw providerError(error, `cannot grant ${quoteList(grants)} to ${account}`);
    }
  }

  /**
   * Takes each role out of the bundle (a role not in it, or gone: success), kills every session of the user,
   * then drops the bundle and the expiry event once the bundle holds nothing (best-effort, warned). The kill
   * runs even when a REVOKE failed; a retryable failure wins, since the retry redoes all of it.
   */
  async revoke({ principal, grants }: GrantTarget): Promise<void> {
    checkNames(principal, grants);
    if (grants.length === 0) return;
    const account = this.#account(principal);
    const bundle = bundleName(principal, this.#host);
    const failures: Error[] = [];
    await this.#run(async (c) => {
      for (const role of grants) {
        try {
          await c.query('REVOKE ? FROM ?', [id(role), id(bundle)]);
        } catch (error) {
          const errno = serverErrno(error);
          if (errno === ER_CANNOT_REVOKE_ROLE || errno === ER_INVALID_ROLE) continue;
          failures.push(providerError(error, `cannot revoke "${role}" from ${account}`));
        }
      }
      try {
        await killSessions(c, principal);
      } catch (error) {
        failures.push(providerError(error, `cannot end the sessions of ${account}`));
      }
      if (failures.length > 0) return;
      let empty = false;
      try {
        const left = await select(c, `SELECT 1 FROM mysql.roles_mapping WHERE User = ? AND Host = '' LIMIT 1`, [bundle]);
        empty = left.length === 0;
      } catch (error) {
        failures.push(providerError(error, `cannot read the roles of ${account}`));
      }
      if (!empty) return;
      // Best-effort tidying: the roles are already gone, so a failure here must not keep the revoke failing.
      try {
        await c.query('DROP ROLE IF EXISTS ?', [id(bundle)]);
      } catch (error) {
        this.#log.warn({ account, bundle, err: describeMysqlError(error) }, 'cannot drop the empty bundle role');
      }
      if (this.#eventSchema !== undefined) {
        try {
          await c.query('DROP EVENT IF EXISTS ?.?', [id(this.#eventSchema), id(expiryEventName(principal, this.#host))]);
        } catch (error) {
          this.#log.warn({ account, schema: this.#eventSchema, err: describeMysqlError(error) }, 'cannot drop the expiry event');
        }
      }
    }).catch((error: unknown) => {
      failures.push(providerError(error, `cannot revoke ${quoteList(grants)} from ${account}`));
    });
    const failure = failures.find((f) => !(f instanceof PermanentProviderError)) ?? failures[0];
    if (failure) throw failure;
  }

  /**
   * Read-only (`accessbot provider check`): connects (refusing a server that is not MariaDB 10.4+, as every
   * call does), then checks what grant and revoke need: ADMIN OPTION on each role (the same
   * `APPLICABLE_ROLES` test grant makes), the global privileges and the grant tables (from `SHOW GRANTS`,
   * whose lines are never shown: one carries the password hash; SELECT on the two grant tables is probed with
   * `LIMIT 0`), and with `expiry_event_schema` the EVENT privilege there and `event_scheduler`. Those last
   * two are warnings, as in grant: the event is a best-effort second lock.
   */
  async check(grants: string[]): Promise<ProviderCheck> {
    const report = new CheckReport();
    let connected = false;
    try {
      await this.#run(async (c) => {
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
        if (this.#eventSchema !== undefined) {
          const schema = this.#eventSchema;
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

  async close(): Promise<void> {
    await this.#pool.end();
  }

  #account(principal: string): string {
    return `'${principal}'@'${this.#host}'`;
  }

  /**
   * One event per account at the latest `expiresAt` of its grants (`CREATE OR REPLACE` moves it later,
   * never earlier). Its body drops the bundle and kills the user's sessions, running as its definer (the
   * bot). Never fails the grant.
   */
  async #scheduleExpiry(c: Conn, principal: string, bundle: string, expiresAt: Date): Promise<void> {
    const schema = this.#eventSchema!;
    const event = expiryEventName(principal, this.#host);
    const account = this.#account(principal);
    try {
      const [existing] = await select<{ at: string | number | null }>(
        c,
        'SELECT UNIX_TIMESTAMP(EXECUTE_AT) AS at FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? AND EVENT_NAME = ?',
        [schema, event],
      );
      const at = Math.max(Math.ceil(expiresAt.getTime() / 1000), Math.ceil(Number(existing?.at ?? 0)));
      await c.query(
        `CREATE OR REPLACE EVENT ?.? ON SCHEDULE AT FROM_UNIXTIME(?) ON COMPLETION NOT PRESERVE COMMENT ? DO
         BEGIN
           DECLARE CONTINUE HANDLER FOR SQLEXCEPTION BEGIN END;
           DROP ROLE IF EXISTS ?;
           FOR p IN (SELECT ID FROM information_schema.PROCESSLIST WHERE CAST(USER AS BINARY) = CAST(? AS BINARY)) DO
             KILL CONNECTION p.ID;
           END FOR;
         END`,
        [id(schema), id(event), at, `accessbot: ends the JIT roles of ${account}`, id(bundle), principal],
      );
      if (!this.#schedulerWarned) {
        const [row] = await select<{ state: string }>(c, 'SELECT @@GLOBAL.event_scheduler AS state');
        if (row?.state !== 'ON') {
          this.#schedulerWarned = true;
          this.#log.warn({ eventScheduler: row?.state ?? 'unknown' }, 'event_scheduler is not ON: expiry events will not run (our revoke still does)');
        }
      }
    } catch (error) {
      this.#log.warn({ account, schema, err: describeMysqlError(error) }, 'cannot create the expiry event; the grant stands and our revoke still ends it');
    }
  }

  /** Runs `work` on one pooled connection, set up once with the pinned session settings and the timeouts. */
  async #run<T>(work: (c: Conn) => Promise<T>): Promise<T> {
    const c = await this.#pool.getConnection();
    try {
      if (!this.#ready.has(c.connection)) {
        await c.query(SESSION_SETUP);
        await c.query(timeoutSetup(this.#timeouts));
        this.#ready.add(c.connection);
      }
      if (!this.#serverChecked) {
        const [row] = await select<{ v: string }>(c, 'SELECT VERSION() AS v');
        checkServer(row?.v ?? '');
        this.#serverChecked = true;
      }
      return await work(c);
    } finally {
      c.release();
    }
  }
}

async function select<T>(c: Conn, sql: string, values?: unknown[]): Promise<T[]> {
  const [rows] = await c.query<mysql.RowDataPacket[]>(sql, values);
  return rows as T[];
}

/** Kills every session of the user name (any host part: PROCESSLIST has no account host), never our own. */
async function killSessions(c: Conn, principal: string): Promise<void> {
  const sessions = await select<{ id: number }>(
    c,
    'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE CAST(USER AS BINARY) = CAST(? AS BINARY) AND ID <> CONNECTION_ID()',
    [principal],
  );
  for (const { id: thread } of sessions) {
    try {
      await c.query('KILL CONNECTION ?', [Number(thread)]);
    } catch (error) {
      if (serverErrno(error) !== ER_NO_SUCH_THREAD) throw error; // it ended on its own meanwhile
    }
  }
}

/** An identifier, quoted whole: `??` would split `a.b` into a qualified name. */
function id(name: string): ReturnType<typeof mysql.raw> {
  return mysql.raw(mysql.escapeId(name, true));
}

/** `jit_<up to 24 safe characters of the user>_<16 hex of sha256(user@host)>`: deterministic, at most 45 characters. */
export function bundleName(principal: string, host: string): string {
  return `jit_${slug(principal)}_${digest(principal, host)}`;
}

/** The per-account expiry event: at most 52 of the 64 characters an event name may have. */
export function expiryEventName(principal: string, host: string): string {
  return `jit_expire_${slug(principal)}_${digest(principal, host)}`;
}

function slug(principal: string): string {
  return principal.replace(/[^A-Za-z0-9_]/g, '').slice(0, 24);
}

function digest(principal: string, host: string): string {
  return createHash('sha256').update(`${principal}\0${host}`).digest('hex').slice(0, 16);
}

/**
 * The server stores names as utf8mb3 CHAR(128): a 4-byte character is silently stored as `?` (so two
 * principals would share one account) and trailing spaces are dropped; both are refused here.
 */
function checkNames(principal: string, grants: string[]): void {
  for (const name of [principal, ...grants]) {
    if (!validName(name, MAX_NAME_CHARS)) {
      throw new PermanentProviderError(
        `invalid MariaDB name "${name}": must be 1 to ${MAX_NAME_CHARS} characters, without NUL, trailing spaces or characters outside the Basic Multilingual Plane`,
      );
    }
  }
}

function checkHost(host: string): void {
  if (!validName(host, MAX_HOST_CHARS)) throw new Error(`invalid account host "${host}"`);
}

function validName(name: string, max: number): boolean {
  return name.length > 0 && name.length <= max && !/[\u0000\uD800-\uDFFF]/.test(name) && !name.endsWith(' ');
}

function checkServer(version: string): void {
  const match = /^(\d+)\.(\d+)/.exec(version);
  const [major, minor] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (!/mariadb/i.test(version) || major < 10 || (major === 10 && minor < 4)) {
    throw new PermanentProviderError(`unsupported server ${version.slice(0, 40)}: the mysql provider needs MariaDB 10.4 or later (MySQL 8 roles are not supported yet)`);
  }
}

/**
 * The connection settings from the URL, parsed here so query parameters cannot switch on driver options
 * (mysql2 would take `?multipleStatements=true`). Throws a message without the URL.
 */
function connectionOptions(url: string): mysql.PoolOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('invalid MySQL connection URL');
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') throw new Error('invalid MySQL connection URL: the scheme must be mysql:// or mariadb://');
  const options: mysql.PoolOptions = {
    host: decodeURIComponent(parsed.hostname.replace(/^\[(.*)\]$/, '$1')) || 'localhost',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
  const database = decodeURIComponent(parsed.pathname.slice(1));
  if (database) options.database = database;
  for (const [key, value] of parsed.searchParams) {
    if (key === 'ssl' && (value === 'true' || value === 'false')) {
      if (value === 'true') options.ssl = {};
    } else {
      throw new Error('invalid MySQL connection URL: the only query parameter supported is ssl=true|false');
    }
  }
  return options;
}

/**
 * A driver error as text that is safe to log and show: the server's error number, SQLSTATE and message.
 * Socket and driver errors (ECONNREFUSED, ETIMEDOUT, …) name the host and port in their message, so only
 * their code is kept.
 */
export function describeMysqlError(error: unknown): string {
  const e = error as { errno?: unknown; sqlState?: unknown; sqlMessage?: unknown; code?: unknown } | null;
  if (typeof e?.sqlMessage === 'string' && typeof e.errno === 'number') {
    return `MariaDB error ${e.errno}${typeof e.sqlState === 'string' ? ` (${e.sqlState})` : ''}: ${e.sqlMessage}`;
  }
  if (typeof e?.code === 'string' && /^[A-Z0-9_]+$/.test(e.code)) return `driver error ${e.code}`;
  return `unexpected driver error (${error instanceof Error ? error.name : typeof error})`;
}

function serverErrno(error: unknown): number | undefined {
  const e = error as { errno?: unknown; sqlMessage?: unknown } | null;
  return typeof e?.sqlMessage === 'string' && typeof e.errno === 'number' ? e.errno : undefined;
}

/** Never passes the driver error on as `cause`: its properties may hold connection details. */
function providerError(error: unknown, context: string): Error {
  if (error instanceof PermanentProviderError) return error;
  const message = `${context}: ${describeMysqlError(error)}`;
  const errno = serverErrno(error);
  return errno !== undefined && PERMANENT_ERRNOS.has(errno) ? new PermanentProviderError(message) : new Error(message);
}

function quoteList(names: string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}

const accountHost = z.string().min(1).max(MAX_HOST_CHARS).refine((h) => validName(h, MAX_HOST_CHARS), { error: 'must be an account host part like % or 10.0.%' });
/** Unquoted-identifier characters only: it is a setting an operator types, not user input. */
const schemaName = z.string().regex(/^[A-Za-z0-9_$]{1,64}$/, { error: 'must be a schema name (letters, digits, _ and $, at most 64)' });

/**
 * `provider: mysql` in the policy: `connection: { env: NAME }` names the variable holding the URL; `host`
 * is the host part of every principal's account (default `%`); `expiry_event_schema` turns on the
 * best-effort expiry event; `lock_timeout` and `statement_timeout` bound every statement.
 */
const settingsSchema = z.object({ connection: envConnection, host: accountHost.optional(), expiry_event_schema: schemaName.optional(), ...timeoutShape });

export const mysqlProvider: ProviderDefinition = {
  name: 'mysql',
  shape: settingsSchema.shape,
  envNames: (settings) => [{ setting: 'connection.env', variable: settingsSchema.parse(settings).connection.env }],
  create(settings, env, path) {
    const { connection, host, expiry_event_schema, ...timeouts } = settingsSchema.parse(settings);
    const url = resolveEnv(env, connection.env, `${path}.connection.env`);
    try {
      return new MysqlRoleProvider({ url, timeouts: timeoutsOf(timeouts), ...(host !== undefined && { host }), ...(expiry_event_schema !== undefined && { expiryEventSchema: expiry_event_schema }) });
    } catch {
      throw new Error(`${path}.connection.env: environment variable ${connection.env} is not a valid mysql:// connection URL`);
    }
  },
};
