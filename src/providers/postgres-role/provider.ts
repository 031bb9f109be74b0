/**
 * The postgres provider itself: `held`, `grant` and `revoke` of role memberships, or in `mode: login` of the
 * grant's own login role (see ../postgres-role.ts for the model).
 */
import postgres from 'postgres';
import {
  PermanentProviderError,
  type AccessProvider,
  type GrantTarget,
  type GrantedObject,
  type LoginCredentials,
  type ProviderCheck,
} from '../../use-cases/ports.js';
import { TIMEOUT_DEFAULTS, type TargetTimeouts } from '../definition.js';
import { derivePassword, loginRoleName } from '../postgres-login.js';
import { checkPostgres } from './check.js';
import { listPostgresGranted } from './drift.js';
import { providerError, sqlstate, UNDEFINED_OBJECT } from './errors.js';
import { grantLogin, revokeLogin } from './login.js';
import { checkIdentifiers, jsonList, quoteList, statements, TERMINATE_WAIT_MS } from './sql.js';
import { PgTarget } from './transaction.js';

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
  readonly #pg: PgTarget;

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
    this.#pg = new PgTarget(this.#sql, this.#timeouts);
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
      rows = await this.#pg.bounded((tx) => tx<{ rolname: string }[]>`
        SELECT DISTINCT r.rolname
        FROM pg_auth_members m
        JOIN pg_roles r ON r.oid = m.roleid
        JOIN pg_roles u ON u.oid = m.member
        WHERE u.rolname = ${principal}
          AND r.rolname IN (SELECT jsonb_array_elements_text(${jsonList(grants)}::text::jsonb))`);
    } catch (error) {
      throw this.#pg.error(error, `cannot read the memberships of "${principal}"`);
    }
    const names = new Set(rows.map((row) => row.rolname));
    return grants.filter((grant) => names.has(grant));
  }

  /**
   * `expiresAt` is unused: PostgreSQL has no native expiry for role memberships (VALID UNTIL only expires a
   * password), so the revoke job and the sweeper end the grant.
   */
  async grant(target: GrantTarget): Promise<void> {
    if (this.mode === 'login') return grantLogin(this.#pg, this.#passwordKey as string, target);
    const { principal, grants } = target;
    checkIdentifiers(principal, grants);
    if (grants.length === 0) return;
    try {
      // One transaction: a failure on any role leaves none of them granted. Granting a held role is a NOTICE.
      await this.#pg.bounded(async (tx) => {
        for (const stmt of await statements(tx, 'GRANT %I TO %I', grants, principal)) await tx.unsafe(stmt);
      });
    } catch (error) {
      throw this.#pg.error(error, `cannot grant ${quoteList(grants)} to "${principal}"`);
    }
  }

  /**
   * Revokes each role on its own (no transaction), so one failing role never keeps the others granted, then
   * ends every session of the principal: a session that ran `SET ROLE` keeps the role's privileges after
   * REVOKE, until it disconnects. Each REVOKE is its own short transaction under the timeouts: one blocked by
   * another session's lock fails (retryably) after `lock_timeout` instead of waiting without end.
   */
  async revoke(target: GrantTarget): Promise<void> {
    if (this.mode === 'login') return revokeLogin(this.#pg, target);
    const { principal, grants } = target;
    checkIdentifiers(principal, grants);
    if (grants.length === 0) return;
    const failures: Error[] = [];
    try {
      const stmts = await statements(this.#sql, 'REVOKE %I FROM %I', grants, principal);
      for (const [i, stmt] of stmts.entries()) {
        try {
          await this.#pg.bounded((tx) => tx.unsafe(stmt));
        } catch (error) {
          // A missing role or principal holds nothing: already revoked. Not granted at all is only a WARNING.
          if (sqlstate(error) === UNDEFINED_OBJECT) continue;
          failures.push(this.#pg.error(error, `cannot revoke "${grants[i] ?? '?'}" from "${principal}"`));
        }
      }
    } catch (error) {
      failures.push(this.#pg.error(error, `cannot revoke ${quoteList(grants)} from "${principal}"`));
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
  /** Drift detection (read-only): see `listPostgresGranted`. */
  async listGranted(grants: string[]): Promise<GrantedObject[]> {
    return listPostgresGranted(this.#pg, this.mode, grants);
  }

  /** Read-only (`accessbot provider check`): see `checkPostgres`. Nothing is granted, revoked or ended. */
  async check(grants: string[]): Promise<ProviderCheck> {
    return checkPostgres(this.#sql, this.mode, grants);
  }


  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}
