/**
 * The mysql provider itself: `held`, `grant` and `revoke` of roles through the per-account bundle role (see
 * ../mysql-role.ts for the model), and `listGranted` for drift detection (drift.ts).
 */
import mysql from 'mysql2/promise';
import { PermanentProviderError, type AccessProvider, type GrantedObject, type GrantTarget, type Logger, type ProviderCheck } from '../../use-cases/ports.js';
import { TIMEOUT_DEFAULTS, type TargetTimeouts } from '../definition.js';
import { checkMysql } from './check.js';
import { listMysqlGranted } from './drift.js';
import { describeMysqlError, ER_CANNOT_REVOKE_ROLE, ER_INVALID_ROLE, providerError, serverErrno } from './errors.js';
import { ExpiryEvents, killSessions } from './events.js';
import { accountName, bundleName, checkHost, checkNames, expiryEventName, id, quoteList } from './names.js';
import { connectionOptions, MysqlSessions, select } from './session.js';

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

export class MysqlRoleProvider implements AccessProvider {
  /** Role memberships are shared by every grant of the same role. */
  readonly perGrantObjects = false;
  readonly #pool: mysql.Pool;
  readonly #host: string;
  readonly #eventSchema: string | undefined;
  readonly #log: Pick<Logger, 'warn'>;
  readonly #timeouts: TargetTimeouts;
  readonly #sessions: MysqlSessions;
  readonly #events: ExpiryEvents | undefined;

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
    this.#sessions = new MysqlSessions(this.#pool, this.#timeouts);
    this.#events = this.#eventSchema === undefined ? undefined : new ExpiryEvents(this.#eventSchema, this.#host, this.#log);
  }

  async held({ principal, grants }: GrantTarget): Promise<string[]> {
    checkNames(principal, grants);
    if (grants.length === 0) return [];
    const bundle = bundleName(principal, this.#host);
    let rows: { role: string }[];
    try {
      // Direct grants to the account or to its bundle: what a login can activate, and what revoke changes.
      rows = await this.#sessions.run((c) =>
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
      await this.#sessions.run(async (c) => {
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
        if (this.#events !== undefined) await this.#events.schedule(c, principal, bundle, expiresAt);
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
    await this.#sessions.run(async (c) => {
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

  /** Drift detection (read-only): see `listMysqlGranted`. */
  async listGranted(grants: string[]): Promise<GrantedObject[]> {
    return listMysqlGranted(this.#sessions, this.#host, grants);
  }

  /** Read-only (`accessbot provider check`): see `checkMysql`. Nothing is granted, revoked or killed. */
  async check(grants: string[]): Promise<ProviderCheck> {
    return checkMysql(this.#sessions, this.#eventSchema, grants);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  #account(principal: string): string {
    return accountName(principal, this.#host);
  }
}
