/**
 * The target connection and the bounded transaction every statement that reads or changes roles runs in.
 */
import type postgres from 'postgres';
import { surviveConnectionLoss } from '../../store/connection-loss.js';
import type { TargetTimeouts } from '../definition.js';
import { boundedError } from './errors.js';

/** The target's connection pool and the bounds on its statements, shared by grant, revoke, login and drift. */
export class PgTarget {
  readonly sql: postgres.Sql;
  readonly timeouts: TargetTimeouts;

  constructor(sql: postgres.Sql, timeouts: TargetTimeouts) {
    this.sql = sql;
    this.timeouts = timeouts;
  }

  /**
   * A transaction on the target that a target restart cannot turn into a crash of the whole bot (the
   * postgres.js defect `surviveConnectionLoss` works around): the attempt fails and the job retries.
   */
  #begin<T>(work: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
    return surviveConnectionLoss<postgres.TransactionSql, T>((body) => this.sql.begin(body) as Promise<T>, work);
  }

  /**
   * A transaction whose statements wait at most `lock_timeout` for a lock and run at most `statement_timeout`:
   * `SET LOCAL` (through `set_config(…, true)`), not startup parameters or a session `SET`, so it holds through
   * a transaction-pooling proxy too (PgBouncer refuses unknown startup parameters, and a session setting
   * would leak to its other clients). Exceeding either fails the statement with 55P03 or 57014: retryable.
   */
  bounded<T>(work: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
    const { lockMs, statementMs } = this.timeouts;
    return this.#begin(async (tx) => {
      await tx`SELECT set_config('lock_timeout', ${String(lockMs)}, true), set_config('statement_timeout', ${String(statementMs)}, true)`;
      return work(tx);
    });
  }

  /** A provider error, saying which bound a timed-out statement hit: see `boundedError`. */
  error(error: unknown, context: string): Error {
    return boundedError(error, context, this.timeouts);
  }
}
