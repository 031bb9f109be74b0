/**
 * Ending access on the target: every session of the user killed (revoke), and the best-effort per-account
 * expiry event that drops the bundle and kills the sessions even when the bot is down (grant).
 */
import type { Logger } from '../../use-cases/ports.js';
import { describeMysqlError, ER_NO_SUCH_THREAD, serverErrno } from './errors.js';
import { accountName, expiryEventName, id } from './names.js';
import { select, type Conn } from './session.js';

/** Kills every session of the user name (any host part: PROCESSLIST has no account host), never our own. */
export async function killSessions(c: Conn, principal: string): Promise<void> {
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

/** The expiry events in `expiry_event_schema`, warning once when `event_scheduler` is not ON. */
export class ExpiryEvents {
  readonly #schema: string;
  readonly #host: string;
  readonly #log: Pick<Logger, 'warn'>;
  #schedulerWarned = false;

  constructor(schema: string, host: string, log: Pick<Logger, 'warn'>) {
    this.#schema = schema;
    this.#host = host;
    this.#log = log;
  }

  /**
   * One event per account at the latest `expiresAt` of its grants (`CREATE OR REPLACE` moves it later,
   * never earlier). Its body drops the bundle and kills the user's sessions, running as its definer (the
   * bot). Never fails the grant.
   */
  async schedule(c: Conn, principal: string, bundle: string, expiresAt: Date): Promise<void> {
    const schema = this.#schema;
    const event = expiryEventName(principal, this.#host);
    const account = accountName(principal, this.#host);
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
}
