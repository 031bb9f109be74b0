/** Shared by every PostgreSQL transaction the app runs: the system of record's (`db.ts`) and the targets'. */
import { connectionLost } from '../use-cases/ambiguous-write.js';

/**
 * Works around a postgres.js 3.4.9 defect (porsager/postgres#1208, #1154; fixes still open upstream). When the
 * server cuts a connection in the middle of a transaction (a restart, a failover, pg_terminate_backend),
 * `sql.begin` then sends its ROLLBACK (or its COMMIT, if the work finished after the cut) to the dead
 * connection: the write runs in a setImmediate on a null socket, throws an uncaught TypeError that kills the
 * process, and leaves that pooled connection unable to ever connect again. There is nothing to send: the
 * server rolled the transaction back when it cut the session, and `begin` already rejects with
 * CONNECTION_CLOSED. So once the connection is gone, the transaction body is never allowed to settle, and
 * postgres.js writes nothing more to it. (A body that merely failed with a connection-loss code while its
 * own connection is still open is released after a short wait, so a misjudged error cannot hold locks.)
 */
export function surviveConnectionLoss<Tx, T>(begin: (body: (tx: Tx) => Promise<T>) => Promise<T>, work: (tx: Tx) => Promise<T>): Promise<T> {
  let cut = false;
  const hold = (error: unknown) =>
    new Promise<never>((_, reject) => {
      setTimeout(() => cut || reject(error), HOLD_MS).unref();
    });
  const run = begin(async (tx) => {
    let result: T;
    try {
      result = await work(tx);
    } catch (error) {
      if (cut || connectionLost(error)) return hold(error);
      throw error;
    }
    return cut ? new Promise<never>(() => {}) : result;
  });
  // `begin` settles before its body only when the connection closed under it.
  run.catch(() => (cut = true));
  return run;
}

const HOLD_MS = 5_000;
