/**
 * Honest ways to make a step of the app wait, so a fault can be injected at an exact point without a test
 * hook in src/: another session holds a lock the step needs, in an open transaction, until released.
 *
 * - `FOR NO KEY UPDATE` on a request row blocks the app's next transition of that request (`SELECT … FOR
 *   UPDATE`), but not the foreign-key checks of rows that point at it (grants, cards, outbox).
 * - An uncommitted `GRANT role TO p` blocks another session's GRANT of the same membership (unique index on
 *   pg_auth_members); an uncommitted `REVOKE role FROM p` blocks another session's REVOKE of it (row lock on
 *   the membership). Rolled back at release, so the test itself changes nothing.
 */
import postgres from 'postgres';

export interface HeldLock {
  /** The backend pid of the session that holds it (to tell it apart from the sessions that wait). */
  pid: number;
  /** Rolls the holding transaction back and closes its connection. */
  release(): Promise<void>;
}

export async function holdInTransaction(url: string, statements: string[]): Promise<HeldLock> {
  // Not sql.begin(): its automatic ROLLBACK on a connection the server has cut (a restart test does that)
  // hits a postgres.js 3.4.9 defect (porsager/postgres#1208). Here the transaction ends with the session:
  // closing the connection makes the server roll it back and release the locks before the socket closes.
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const conn = await sql.reserve();
  try {
    await conn`BEGIN`;
    const [me] = await conn<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    for (const statement of statements) await conn.unsafe(statement);
    let open = true;
    return {
      pid: me!.pid,
      async release() {
        if (!open) return;
        open = false;
        conn.release();
        await sql.end({ timeout: 5 });
      },
    };
  } catch (error) {
    conn.release();
    await sql.end({ timeout: 5 });
    throw error;
  }
}

/** Holds the request's row so the app's next transition of it waits (reads and foreign keys do not). */
export function holdRequestRow(databaseUrl: string, requestId: string): Promise<HeldLock> {
  return holdInTransaction(databaseUrl, [`SELECT 1 FROM access_requests WHERE id = '${requestId.replace(/'/g, "''")}' FOR NO KEY UPDATE`]);
}

/** Sessions of `database` (other than `except`) waiting on a heavyweight lock, optionally of one application. */
export async function sessionsWaitingOnLock(admin: postgres.Sql, database: string, options: { except?: number; application?: string } = {}): Promise<number[]> {
  const rows = await admin<{ pid: number }[]>`
    SELECT pid FROM pg_stat_activity
    WHERE datname = ${database} AND wait_event_type = 'Lock' AND pid <> ${options.except ?? 0}
      AND (${options.application ?? null}::text IS NULL OR application_name = ${options.application ?? null})`;
  return rows.map((r) => r.pid);
}

/**
 * `resourceSettings` for a harness whose test holds the bot's GRANT or REVOKE behind such a lock on purpose:
 * the target's lock wait outlasts the test's hold (seconds) instead of giving up after the 10 s default.
 */
export const LONG_LOCK_WAIT = '    lock_timeout: 1m\n    statement_timeout: 1m';
