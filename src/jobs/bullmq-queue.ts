/**
 * The BullMQ adapter of `JobQueue`. Every method is an idempotent "ensure": a job with the derived id that
 * already exists is left alone, one that failed for good is revived, a missing one is added.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobQueue } from '../use-cases/ports.js';
import type { TimedCheck } from '../domain/request.js';
import { ACCESS_QUEUE, CAPPED_BACKOFF, JOB, NOTIFY_QUEUE, checkJobId, deliverJobId, grantJobId, revokeJobId } from './names.js';

/** Effectively forever: a revoke is never abandoned (the reconciler also revives a failed one). */
const REVOKE_ATTEMPTS = 1_000_000;
export const GRANT_ATTEMPTS = 5;

export class BullJobQueue implements JobQueue {
  readonly access: Queue;
  readonly notify: Queue;

  constructor(connection: Redis, prefix: string) {
    this.access = new Queue(ACCESS_QUEUE, { connection, prefix });
    this.notify = new Queue(NOTIFY_QUEUE, { connection, prefix });
  }

  ensureGrant(requestId: string, at: Date): Promise<void> {
    return ensure(this.access, JOB.grant, grantJobId(requestId), { requestId }, {
      delay: Math.max(0, at.getTime() - Date.now()),
      attempts: GRANT_ATTEMPTS,
      backoff: { type: 'exponential', delay: 2_000 },
    });
  }

  async ensureRevoke(requestId: string, at: Date): Promise<void> {
    // A revoke waiting for a later time than the window now ends (the window was shortened, or "Revoke now")
    // is moved earlier. One waiting out a retry backoff (attemptsMade > 0) keeps its backoff. One due earlier
    // than `at` (the window was extended) is left alone: it runs, finds it is not due, and re-delays itself.
    const jobId = revokeJobId(requestId);
    const existing = await this.access.getJob(jobId);
    const due = existing && existing.attemptsMade === 0 ? await this.delayedUntil(jobId) : undefined;
    if (existing && due !== undefined) {
      const wanted = at.getTime();
      if (due > wanted + 1_000) {
        try {
          if (wanted <= Date.now()) await existing.promote();
          else await existing.changeDelay(wanted - Date.now());
        } catch (err) {
          // Left the delayed set meanwhile (a worker took it): it is running or about to, which is what we want.
          if ((await this.delayedUntil(jobId)) !== undefined) throw err;
        }
      }
      return;
    }
    return ensure(this.access, JOB.revoke, revokeJobId(requestId), { requestId }, {
      delay: Math.max(0, at.getTime() - Date.now()),
      attempts: REVOKE_ATTEMPTS,
      backoff: { type: CAPPED_BACKOFF },
    });
  }

  /**
   * When a delayed job will really run, or undefined if it is not in the delayed set. Not `timestamp + delay`:
   * a re-delayed job (`moveToDelayed`, `changeDelay`) keeps its first `timestamp` but stores the new delay
   * counted from the re-delay. BullMQ scores the delayed set `dueMs * 0x1000 + counter` (getDelayedScore.lua).
   */
  private async delayedUntil(jobId: string): Promise<number | undefined> {
    const client = await this.access.getBackend().client;
    const score = await client.zscore(this.access.keys.delayed!, jobId);
    return score === null ? undefined : Math.floor(Number(score) / 0x1000);
  }

  /**
   * 8 attempts, then the reconciler revives the failed job once per interval: a transient failure (429, 5xx,
   * the network) is retried for ever on purpose, since an outage ends and the message is still owed. A refusal
   * for good (`PermanentChatError`) never gets here as a failure: the delivery gives it up and completes.
   */
  ensureDelivery(notificationId: string): Promise<void> {
    return ensure(this.notify, JOB.deliver, deliverJobId(notificationId), { notificationId }, {
      attempts: 8,
      backoff: { type: 'exponential', delay: 1_000 },
    });
  }

  ensureCheck(requestId: string, check: TimedCheck, at: Date): Promise<void> {
    return ensure(this.access, JOB.check, checkJobId(check, requestId), { requestId, check }, {
      delay: Math.max(0, at.getTime() - Date.now()),
      attempts: 5,
      backoff: { type: 'exponential', delay: 2_000 },
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.access.close(), this.notify.close()]);
  }
}

async function ensure(queue: Queue, name: string, jobId: string, data: object, opts: JobsOptions): Promise<void> {
  const existing = await queue.getJob(jobId);
  if (existing) {
    const state = await existing.getState();
    if (state === 'failed') await existing.retry('failed');
    if (state !== 'completed' && state !== 'unknown') return;
    await existing.remove().catch(() => undefined);
  }
  await queue.add(name, data, { ...opts, jobId, removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } });
}
