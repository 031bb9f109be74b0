/**
 * "Was it committed?" after a write whose answer was lost.
 *
 * A write is *ambiguous* when its connection to PostgreSQL is lost after the COMMIT was sent: the server may
 * have committed (and only the reply was lost) or not. The driver reports both the same way (a connection-loss
 * error), and telling the person "nothing was changed, try again" would then be false half of the time: a
 * click recorded while its clicker is told to click again, a request created while its requester is invited to
 * submit a duplicate. So the use case re-reads PostgreSQL, on another connection, and answers the truth:
 * committed (the normal success answer), or not (the error stands, and "nothing was changed" is then true).
 *
 * Re-reading is enough because every write it is used for leaves a mark that only that write can leave: a new
 * request's id is generated before the insert, and a decision is unique per (request, approver). Only errors
 * that mean the session is gone are re-read; a domain refusal or a constraint violation is an answer, never
 * ambiguous. The re-read is retried briefly (the pool reconnects, and the first query on a reconnected
 * connection may report the old session's end); if PostgreSQL cannot be read within that bound, the
 * original error stands.
 *
 * What a confirmed write did not do, because the reply carried it, is hand its outbox rows to the queue (their
 * ids came back with the commit). `afterConfirmed` ensures a delivery for every undelivered notification, as
 * the reconciler does on its next run anyway; the caller runs the transition's job effects itself.
 */
import type { Result } from '../domain/errors.js';
import type { Transition } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import { runEffects } from './effects.js';
import type { ApplyOutcome, RequestSnapshot } from './ports.js';

type Deps = Pick<UseCaseDeps, 'store' | 'queue' | 'clock' | 'log'>;

const LOST_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED', 'CONNECT_TIMEOUT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/**
 * The session is gone: a driver or socket code, or a SQLSTATE that ends the session (08xxx, 57P0x), on the
 * error or its causes. Shared with the store's transaction workaround (`src/store/connection-loss.ts`).
 */
export function connectionLost(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (LOST_CODES.has(code) || /^08...$|^57P0[1-3]$/.test(code))) return true;
  }
  return false;
}

/** Waits between re-read attempts: about 1.5 s in all, well inside Slack's 3 s for a slash command. */
export const REREAD_DELAYS_MS: readonly number[] = [0, 50, 100, 200, 400, 750];

export type Written<T, C> = { committed: 'heard'; value: T } | { committed: 'confirmed'; confirmed: C };

/**
 * Runs `write`. If it fails with a connection-loss error, `confirm` re-reads PostgreSQL: a value means the
 * write is there (committed, unheard), null means it is not. Any other error, a null, or a re-read that keeps
 * failing rethrows the write's own error.
 */
export async function writeOrConfirm<T, C>(
  deps: Pick<UseCaseDeps, 'log'>,
  context: Record<string, unknown>,
  write: () => Promise<T>,
  confirm: () => Promise<C | null>,
  delaysMs: readonly number[] = REREAD_DELAYS_MS,
): Promise<Written<T, C>> {
  try {
    return { committed: 'heard', value: await write() };
  } catch (error) {
    if (!connectionLost(error)) throw error;
    let lastReadError: unknown = null;
    for (const delay of delaysMs) {
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      let found: C | null;
      try {
        found = await confirm();
      } catch (readError) {
        lastReadError = readError;
        continue;
      }
      if (found === null) {
        deps.log.warn({ ...context, err: error }, 'connection lost during a write; re-read: not committed');
        throw error;
      }
      deps.log.warn({ ...context, err: error }, 'connection lost during a write; re-read: committed, answered as done');
      return { committed: 'confirmed', confirmed: found };
    }
    deps.log.error({ ...context, err: error, readErr: lastReadError }, 'connection lost during a write, and the re-read failed: outcome unknown');
    throw error;
  }
}

/**
 * After a confirmed write: its outbox rows were written, but their ids were in the lost reply. Ensures a
 * delivery for every undelivered notification (idempotent, as the reconciler does); a failure is logged only.
 */
export async function afterConfirmed(deps: Deps, context: Record<string, unknown>): Promise<void> {
  try {
    // Rows are stamped by the database's clock: a small margin covers an app clock slightly behind it.
    const ids = await deps.store.listUndelivered(new Date(deps.clock.now().getTime() + 60_000), 100);
    await Promise.all(ids.map((id) => deps.queue.ensureDelivery(id)));
  } catch (error) {
    deps.log.warn({ ...context, err: error }, 'could not enqueue the deliveries of a confirmed write; the reconciler will');
  }
}

/**
 * Saves a new request (`store.create`) and runs its effects. When the reply is lost, the request is there if a
 * row with its id is: the id was generated before the insert, so no other write can have made that row.
 */
export async function createAndRunEffects(deps: Deps, transition: Transition): Promise<void> {
  const context = { requestId: transition.next.id, write: 'create' };
  const written = await writeOrConfirm(deps, context, () => deps.store.create(transition), () => deps.store.get(transition.next.id));
  if (written.committed === 'heard') {
    await runEffects(deps, transition, written.value.notificationIds);
    return;
  }
  await runEffects(deps, transition, []);
  await afterConfirmed(deps, context);
}

/**
 * `store.apply`, and when the reply is lost, a re-read: the transition this call decided counts as saved when
 * `reached(snapshot, transition)` holds for the request as it is now (for a decision: this approver's decision
 * with this outcome, unique per request and approver). A call whose decision was refused, or that never got to
 * decide, has saved nothing, and its error stands. A confirmed outcome carries no notification ids (they were
 * in the lost reply); its deliveries are ensured here.
 */
export async function applyOrConfirm(
  deps: Deps,
  requestId: string,
  decide: (snapshot: RequestSnapshot) => Result<Transition>,
  reached: (now: RequestSnapshot, transition: Transition) => boolean,
  context: Record<string, unknown>,
): Promise<ApplyOutcome> {
  let decided: Transition | null = null;
  const ctx = { requestId, ...context };
  const written = await writeOrConfirm(
    deps,
    ctx,
    () =>
      deps.store.apply(requestId, (snapshot) => {
        const result = decide(snapshot);
        decided = result.ok ? result.value : null;
        return result;
      }),
    async () => {
      const transition: Transition | null = decided;
      if (!transition) return null;
      const now = await deps.store.get(requestId);
      return now && reached(now, transition) ? transition : null;
    },
  );
  if (written.committed === 'heard') return written.value;
  await afterConfirmed(deps, ctx);
  return { ok: true, transition: written.confirmed, notificationIds: [] };
}
