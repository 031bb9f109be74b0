/** Background work: the jobs a transition schedules. */
import type { TimedCheck } from '../../domain/request.js';

/**
 * Background work. Every method is idempotent ("ensure"): job ids derive from the request id, an existing job
 * is left alone, and a job that has failed for good is revived. Losing the queue loses nothing: the
 * reconciler calls these again from PostgreSQL.
 */
export interface JobQueue {
  /** The grant job, due at `at` (the end of the approval grace; now or earlier: at once). */
  ensureGrant(requestId: string, at: Date): Promise<void>;
  ensureRevoke(requestId: string, at: Date): Promise<void>;
  ensureDelivery(notificationId: string): Promise<void>;
  /** A time-driven check (reminder, pending expiry, expiry warning) due at `at`. */
  ensureCheck(requestId: string, check: TimedCheck, at: Date): Promise<void>;
}
