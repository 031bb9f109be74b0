/**
 * Queue and job naming. Job ids derive from the request id so the same work is never queued twice while it
 * exists. BullMQ refuses custom ids containing a single `:` ("Custom Id cannot contain :", bullmq
 * `classes/job.ts`), so the ids are `grant-<requestId>`, `revoke-<requestId>`, `deliver-<notificationId>` and `<check>-<requestId>`.
 */
export const ACCESS_QUEUE = 'access';
export const NOTIFY_QUEUE = 'notify';

export const JOB = { grant: 'grant', revoke: 'revoke', deliver: 'deliver', reconcile: 'reconcile', check: 'check' } as const;

export const grantJobId = (requestId: string) => `grant-${requestId}`;
export const revokeJobId = (requestId: string) => `revoke-${requestId}`;
export const deliverJobId = (notificationId: string) => `deliver-${notificationId}`;
/** `remind-<id>`, `expire-<id>`, `warn-<id>`. */
export const checkJobId = (check: string, requestId: string) => `${check}-${requestId}`;
export const RECONCILE_SCHEDULER_ID = 'reconcile';

/** Custom backoff type for revokes: exponential, capped, jittered, never giving up. */
export const CAPPED_BACKOFF = 'capped';

export interface BackoffSettings {
  baseMs: number;
  capMs: number;
}

export function cappedBackoff(attemptsMade: number, s: BackoffSettings, random: () => number = Math.random): number {
  const raw = Math.min(s.capMs, s.baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(raw * (0.75 + random() * 0.5));
}
