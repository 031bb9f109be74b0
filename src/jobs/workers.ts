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

/**
 * How fast a job whose worker died (SIGKILL, OOM, a lost node) is taken over by another worker. BullMQ (6.7)
 * finds it with its stall check, and nothing else does: the reconciler leaves an `active` job alone.
 *
 * - The running worker holds a lock on the job (`lockDuration`) and renews it every `lockRenewTime`. A dead
 *   worker stops renewing, so its lock lapses at most `lockDuration` after the crash.
 * - Every `stalledInterval` one worker (a Redis key keeps it to one check per interval across processes)
 *   moves the active jobs it marked at its previous check and whose lock has lapsed back to `wait`, where an
 *   idle worker takes them at once; then it marks all active jobs again (a renewal unmarks a job).
 *
 * So a crashed job is running again at most lockDuration + stalledInterval = 15 s after the crash (BullMQ's
 * defaults, 30 s + 30 s, gave 30–60 s), well inside the default RECONCILE_INTERVAL (30 s) the architecture
 * promises for a revoke whose job was lost. The renewal every 2.5 s (BullMQ's default would be 5 s) leaves a
 * live worker 7.5 s of missed renewals before its lock lapses. Cost: one stall-check script every 5 s per
 * queue and one lock renewal every 2.5 s per worker with a running job; nothing for Redis.
 *
 * A live worker can still lose its lock: its event loop blocked, or Redis unreachable, for longer than that
 * margin. The stall check then hands the job to another worker while the first one is still running it, and
 * the job runs twice, at the same time. That is safe here:
 * - grant and revoke run under the target lock (`withTargetLock`, a PostgreSQL advisory lock on resource and
 *   principal; activate-grant.ts, revoke-grant.ts), so the second run waits for the first and then re-reads
 *   the request under the lock: `approved`/`active`/`revoking` was already moved on, so it does nothing
 *   ('not-approved', 'nothing-to-do'). Every transition is also a compare-and-swap on the request's version,
 *   and the provider's grant and revoke are idempotent (GRANT of a held role, REVOKE of a missing one);
 * - a check (expire, remind, escalate, warn) is a compare-and-swap transition: the second one is refused;
 * - the reconcile job reads PostgreSQL and enqueues idempotently;
 * - a delivery is not serialised: a direct message could be sent twice (chat is at-least-once already, see
 *   docs/reliability.md); a card update is safe to repeat. The first run's completion is then refused by
 *   BullMQ (its lock is gone), which is logged as a worker error.
 *
 * `maxStalledCount` (BullMQ's default, 1, made explicit): a job may be taken over once; a job that stalls a
 * second time (a job that keeps killing its worker, say) is failed for good with "job stalled more than
 * allowable limit" by the next worker that picks it up (an unrecoverable failure: no retry, whatever its
 * `attempts`). Nothing is lost by that: the request's state is in PostgreSQL and the reconciler, within one
 * RECONCILE_INTERVAL, calls ensureRevoke / ensureGrant / ensureCheck / ensureDelivery for it, whose "ensure"
 * revives a job in the failed set (bullmq-queue.ts). Only a revoke that keeps crashing its worker is thereby
 * slowed down to one attempt per reconcile interval.
 *
 * Constants, not configuration: they are a bound of the safety promise ("revoked on time"), not a knob.
 */
export const STALL_SETTINGS = {
  lockDuration: 10_000,
  lockRenewTime: 2_500,
  stalledInterval: 5_000,
  maxStalledCount: 1,
} as const;
/** The longest a job whose worker died waits before another worker runs it again (plus the pick-up). */
export const CRASHED_JOB_TAKEOVER_MS = STALL_SETTINGS.lockDuration + STALL_SETTINGS.stalledInterval;

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
      ...STALL_SETTINGS,
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string) =>
          type === CAPPED_BACKOFF ? cappedBackoff(attemptsMade, settings.revokeBackoff) : 1000 * 2 ** (attemptsMade - 1),
      },
    },
  );
  const notify = new Worker(
    queue.notify.name,
    async (job: Job) => deliverNotification(deps, (job.data as { notificationId: string }).notificationId),
    { connection, prefix: settings.prefix, concurrency: settings.concurrency ?? 4, ...STALL_SETTINGS },
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
