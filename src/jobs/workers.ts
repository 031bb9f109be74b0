/**
 * The workers: grant, revoke and reconcile jobs on the `access` queue, chat deliveries on the `notify`
 * queue, and the reconcile job scheduler (which BullMQ keeps idempotent across processes and deploys).
 * Drift detection rides on the reconcile job: once at start, then after every `DRIFT_EVERY`-th reconcile this
 * process runs (each reconcile runs in one process, so across processes the cadence is the same on average).
 * It lists the targets, which is slower than reconciling from PostgreSQL, hence the lower cadence.
 */
import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { activateGrant } from '../use-cases/activate-grant.js';
import type { UseCaseDeps } from '../use-cases/deps.js';
import { deliverNotification } from '../use-cases/deliver-notification.js';
import { detectDrift } from '../use-cases/detect-drift.js';
import { reconcile } from '../use-cases/reconcile.js';
import { revokeGrant } from '../use-cases/revoke-grant.js';
import { runCheck } from '../use-cases/run-check.js';
import type { TimedCheck } from '../domain/request.js';
import type { BullJobQueue } from './bullmq-queue.js';
import { GRANT_ATTEMPTS } from './bullmq-queue.js';
import { CAPPED_BACKOFF, JOB, RECONCILE_SCHEDULER_ID, cappedBackoff, type BackoffSettings } from './names.js';

/** Drift detection runs after every this many reconciles (of this process). */
export const DRIFT_EVERY = 10;

export interface WorkerSettings {
  prefix: string;
  reconcileIntervalMs: number;
  revokeBackoff: BackoffSettings;
  concurrency?: number;
}

export interface Workers {
  close(): Promise<void>;
}

export async function startWorkers(
  deps: UseCaseDeps,
  queue: BullJobQueue,
  connection: Redis,
  settings: WorkerSettings,
): Promise<Workers> {
  let reconciles = 0;
  // Never fatal: a failure is logged and the next run tries again.
  const checkDrift = async (): Promise<void> => {
    try {
      const report = await detectDrift(deps);
      if (report.drift > 0 || report.failed > 0) deps.log.warn({ ...report }, 'drift check done');
      else deps.log.info({ ...report }, 'drift check done');
    } catch (err) {
      deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'drift check failed; trying again later');
    }
  };
  const access = new Worker(
    queue.access.name,
    async (job: Job, token?: string) => {
      const { requestId } = job.data as { requestId: string };
      switch (job.name) {
        case JOB.grant:
          return activateGrant(deps, requestId, { finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? GRANT_ATTEMPTS) });
        case JOB.revoke: {
          const outcome = await revokeGrant(deps, requestId, 'expired');
          if (outcome.kind === 'not-due') {
            // Ran early (clock skew between processes): wait for the real end of the window.
            await job.moveToDelayed(outcome.at.getTime(), token);
            throw new DelayedError();
          }
          return outcome.kind;
        }
        case JOB.reconcile: {
          const report = await reconcile(deps);
          reconciles += 1;
          if (reconciles % DRIFT_EVERY === 0) await checkDrift();
          return report;
        }
        case JOB.check: {
          const outcome = await runCheck(deps, requestId, (job.data as { check: TimedCheck }).check);
          if (outcome.kind === 'not-due') {
            await job.moveToDelayed(outcome.at.getTime(), token);
            throw new DelayedError();
          }
          return outcome.kind;
        }
        default:
          throw new Error(`unknown job ${job.name}`);
      }
    },
    {
      connection,
      prefix: settings.prefix,
      concurrency: settings.concurrency ?? 4,
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string) =>
          type === CAPPED_BACKOFF ? cappedBackoff(attemptsMade, settings.revokeBackoff) : 1000 * 2 ** (attemptsMade - 1),
      },
    },
  );
  const notify = new Worker(
    queue.notify.name,
    async (job: Job) => deliverNotification(deps, (job.data as { notificationId: string }).notificationId),
    { connection, prefix: settings.prefix, concurrency: settings.concurrency ?? 4 },
  );
  for (const w of [access, notify]) {
    w.on('failed', (job, err) => deps.log.warn({ job: job?.id, err: err.message }, 'job attempt failed'));
    w.on('error', (err) => deps.log.error({ err: err.message }, 'worker error'));
  }
  const ensureScheduler = () =>
    queue.access.upsertJobScheduler(
      RECONCILE_SCHEDULER_ID,
      { every: settings.reconcileIntervalMs },
      { name: JOB.reconcile, data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
  await ensureScheduler();
  // The scheduler itself lives in Redis: if Redis loses its data, the schedule is gone too. A local
  // watchdog notices within one interval, restores it and reconciles at once, so a lost queue never delays
  // a revoke by more than about one interval.
  const watchdog = setInterval(() => {
    void (async () => {
      if (await queue.access.getJobScheduler(RECONCILE_SCHEDULER_ID)) return;
      deps.log.warn({}, 'reconcile schedule missing from Redis (data lost?); restoring it and reconciling now');
      await ensureScheduler();
      await reconcile(deps);
    })().catch((err: unknown) => deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'reconcile watchdog failed'));
  }, settings.reconcileIntervalMs);
  watchdog.unref();
  // After the start-up reconcile (run before the workers start), in the background: listing targets may be slow.
  const startupDrift = checkDrift();
  return {
    async close() {
      clearInterval(watchdog);
      await Promise.all([access.close(), notify.close(), startupDrift]);
    },
  };
}
