/**
 * Fakes `JobQueue` the way `BullJobQueue` behaves: job ids derive from the request or notification id
 * (`grant-<id>`, `revoke-<id>`, `deliver-<id>`, from `jobs/names.ts`), an existing job is left alone, a job
 * that failed for good is revived, and a completed one is replaced by a fresh one. A revoke still waiting
 * (no attempt made) for more than a second past the time asked for is brought forward to it; a later time
 * never moves it. `down = true` makes every call reject as ioredis does when Redis is gone. Every call is
 * recorded, including the refused ones.
 * Left out on purpose: running jobs (tests call the use case a job would run, then `complete`, `fail` or
 * `attemptFailed` here), delays firing, backoff times, stalled-job detection, and the `:` ban on ids (the
 * derived ids never contain one).
 */
import { checkJobId, deliverJobId, grantJobId, revokeJobId } from '../../src/jobs/names.js';
import type { TimedCheck } from '../../src/domain/request.js';
import type { Clock, JobQueue } from '../../src/use-cases/ports.js';

export type JobKind = 'grant' | 'revoke' | 'deliver' | 'check';
export type JobState = 'waiting' | 'delayed' | 'completed' | 'failed';

export interface FakeJob {
  id: string;
  kind: JobKind;
  /** The request id (grant, revoke) or the notification id (deliver). */
  target: string;
  /** When the job is due (a grant after its approval grace, a revoke, a check); null for deliveries. */
  at: Date | null;
  state: JobState;
  attemptsMade: number;
}

export interface QueueCall {
  method: 'ensureGrant' | 'ensureRevoke' | 'ensureDelivery' | 'ensureCheck';
  target: string;
  at?: Date;
  refused: boolean;
}

export class FakeJobQueue implements JobQueue {
  /** While true, every call rejects: Redis is unreachable. */
  down = false;
  readonly calls: QueueCall[] = [];
  readonly #jobs = new Map<string, FakeJob>();
  /** How many jobs were added (not left alone): "enqueued nothing new" means this did not move. */
  added = 0;

  constructor(private readonly clock: Clock = { now: () => new Date() }) {}

  async ensureGrant(requestId: string, at: Date): Promise<void> {
    this.#ensure('ensureGrant', 'grant', grantJobId(requestId), requestId, new Date(at));
  }

  async ensureRevoke(requestId: string, at: Date): Promise<void> {
    this.#ensure('ensureRevoke', 'revoke', revokeJobId(requestId), requestId, new Date(at));
  }

  async ensureDelivery(notificationId: string): Promise<void> {
    this.#ensure('ensureDelivery', 'deliver', deliverJobId(notificationId), notificationId, null);
  }

  async ensureCheck(requestId: string, check: TimedCheck, at: Date): Promise<void> {
    this.#ensure('ensureCheck', 'check', checkJobId(check, requestId), requestId, new Date(at));
  }

  job(id: string): FakeJob | undefined {
    const job = this.#jobs.get(id);
    return job && { ...job };
  }

  jobs(kind?: JobKind): FakeJob[] {
    return [...this.#jobs.values()].filter((j) => kind === undefined || j.kind === kind).map((j) => ({ ...j }));
  }

  /** Ids of jobs still to run (waiting or delayed), in the order they were added. */
  pendingIds(kind?: JobKind): string[] {
    return this.jobs(kind)
      .filter((j) => j.state === 'waiting' || j.state === 'delayed')
      .map((j) => j.id);
  }

  complete(id: string): void {
    this.#set(id, 'completed');
  }

  /** An attempt failed and the job waits out its backoff. */
  attemptFailed(id: string): void {
    const job = this.#jobs.get(id);
    if (!job) throw new Error(`no job ${id} in the fake queue`);
    job.attemptsMade += 1;
    job.state = 'delayed';
  }

  /** The job used up its attempts. */
  fail(id: string): void {
    this.#set(id, 'failed');
  }

  #set(id: string, state: JobState): void {
    const job = this.#jobs.get(id);
    if (!job) throw new Error(`no job ${id} in the fake queue`);
    job.state = state;
  }

  #ensure(method: QueueCall['method'], kind: JobKind, id: string, target: string, at: Date | null): void {
    this.calls.push({ method, target, ...(at ? { at } : {}), refused: this.down });
    if (this.down) throw new Error('Connection is closed.');
    const now = this.clock.now();
    const existing = this.#jobs.get(id);
    if (existing && kind === 'revoke' && at && existing.state === 'delayed' && existing.attemptsMade === 0) {
      if (existing.at && existing.at.getTime() > at.getTime() + 1_000) {
        existing.at = at;
        if (at <= now) existing.state = 'waiting';
      }
      return;
    }
    if (existing && existing.state !== 'completed') {
      if (existing.state === 'failed') existing.state = 'waiting';
      return;
    }
    this.#jobs.set(id, { id, kind, target, at, state: at && at > now ? 'delayed' : 'waiting', attemptsMade: 0 });
    this.added += 1;
  }
}
