/**
 * `BullJobQueue.ensureRevoke` against the real BullMQ on the real Redis (a private key prefix per file).
 *
 * The case that matters: a revoke job that was re-delayed (the worker found it "not due" after an extension,
 * or `changeDelay`) keeps its original `timestamp` while BullMQ stores the new delay counted from the moment of
 * the re-delay, so `timestamp + delay` is not its due time. ensureRevoke(now) ("Revoke now", the reconciler
 * for a `revoking` row) must still make it run now, not at the extended end.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DelayedError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { BullJobQueue } from '../../src/jobs/bullmq-queue.js';
import { revokeJobId } from '../../src/jobs/names.js';
import { REDIS_URL, uniqueSuffix } from '../support/env.js';

const prefix = `test-jobs-${uniqueSuffix()}`;
const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const queue = new BullJobQueue(connection, prefix);
const workers: Worker[] = [];

// Each test starts from an empty queue: a job one test left behind is not run by the next test's worker.
afterEach(async () => {
  await queue.access.obliterate({ force: true });
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await queue.close();
  let cursor = '0';
  do {
    const [next, keys] = await connection.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await connection.del(...keys);
  } while (cursor !== '0');
  await connection.quit();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let seq = 0;
const newRequestId = () => `req${++seq}-${uniqueSuffix()}`;

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(25);
  }
}

/** When BullMQ will really run a delayed job: the score in the delayed set is `dueMs * 0x1000 + counter`. */
async function scoreOf(jobId: string): Promise<number | null> {
  const s = await connection.zscore(queue.access.keys.delayed!, jobId);
  return s === null ? null : Number(s);
}
async function dueOf(jobId: string): Promise<number | null> {
  const s = await scoreOf(jobId);
  return s === null ? null : Math.floor(s / 0x1000);
}
const job = async (requestId: string): Promise<Job> => (await queue.access.getJob(revokeJobId(requestId)))!;
const stateOf = async (requestId: string) => (await job(requestId)).getState();

/**
 * A worker that behaves like the real revoke handler: before `end()` it is "not due" and moves itself to
 * delayed for `end()` (`job.moveToDelayed` + `DelayedError`, as src/jobs/workers.ts does); after, it revokes.
 */
function revokeWorker(end: () => number, runs: { at: number; done: boolean }[]): Worker {
  const worker = new Worker(
    queue.access.name,
    async (j: Job, token?: string) => {
      const at = Date.now();
      if (at < end()) {
        runs.push({ at, done: false });
        await j.moveToDelayed(end(), token);
        throw new DelayedError();
      }
      runs.push({ at, done: true });
      return 'revoked';
    },
    { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix, drainDelay: 1 },
  );
  workers.push(worker);
  return worker;
}

describe('ensureRevoke on a revoke job that was re-delayed', () => {
  it('runs it now when the worker had re-delayed it for an extended end (Revoke now after an extension)', async () => {
    const id = newRequestId();
    const t0 = Date.now();
    await queue.ensureRevoke(id, new Date(t0 + 3_000)); // the original end of the window
    const extendedEnd = t0 + 6_000;
    await queue.ensureRevoke(id, new Date(extendedEnd)); // extended: the earlier job is left alone
    const runs: { at: number; done: boolean }[] = [];
    let end = extendedEnd;
    const worker = revokeWorker(() => end, runs);
    try {
      // The job fires at the original end, is not due, and re-delays itself to the extended end.
      await until(() => runs.length === 1);
      await until(async () => (await stateOf(id)) === 'delayed');
      const j = await job(id);
      expect(j.attemptsMade).toBe(0);
      expect(Math.abs((await dueOf(revokeJobId(id)))! - extendedEnd)).toBeLessThan(50);
      expect(j.timestamp + (j.delay ?? 0)).toBeLessThan(extendedEnd - 2_000); // why timestamp + delay is wrong

      const revokedAt = Date.now(); // "Revoke now": the request is `revoking`, due from now on
      end = revokedAt;
      await queue.ensureRevoke(id, new Date(revokedAt));
      await until(() => runs.some((r) => r.done), 5_000);
      const done = runs.find((r) => r.done)!;
      expect(done.at - revokedAt).toBeLessThan(2_000);
      expect(done.at).toBeLessThan(extendedEnd - 1_500);
    } finally {
      await worker.close();
    }
  });

  it('promotes it (waiting) when it was re-delayed with changeDelay and the revoke is due now', async () => {
    const id = newRequestId();
    const t0 = Date.now();
    await queue.ensureRevoke(id, new Date(t0 + 2_000));
    await sleep(2_500); // no worker: the job stays in the delayed set past its time
    await (await job(id)).changeDelay(3_000); // now due at ~t0 + 5.5s; timestamp + delay says ~t0 + 3s
    const wanted = Date.now();
    await queue.ensureRevoke(id, new Date(wanted));
    expect(await stateOf(id)).toBe('waiting');
    expect(await scoreOf(revokeJobId(id))).toBeNull();
  });

  it('moves it to the wanted time when the window was shortened to a time still ahead', async () => {
    const id = newRequestId();
    const t0 = Date.now();
    await queue.ensureRevoke(id, new Date(t0 + 2_000));
    await sleep(2_500);
    await (await job(id)).changeDelay(5_000); // now due at ~t0 + 7.5s; timestamp + delay says ~t0 + 5s
    const wanted = Date.now() + 2_500; // ~t0 + 5s
    await queue.ensureRevoke(id, new Date(wanted));
    expect(await stateOf(id)).toBe('delayed');
    expect(Math.abs((await dueOf(revokeJobId(id)))! - wanted)).toBeLessThan(200);
  });
});

describe('ensureRevoke keeps what was right before', () => {
  it('moves a never-run job earlier when the window is shortened', async () => {
    const id = newRequestId();
    const t0 = Date.now();
    await queue.ensureRevoke(id, new Date(t0 + 60_000));
    const wanted = t0 + 5_000;
    await queue.ensureRevoke(id, new Date(wanted));
    expect(await stateOf(id)).toBe('delayed');
    expect(Math.abs((await dueOf(revokeJobId(id)))! - wanted)).toBeLessThan(200);
  });

  it('writes nothing when the job is already due at the wanted time (the reconciler, every interval)', async () => {
    const id = newRequestId();
    const at = new Date(Date.now() + 60_000);
    await queue.ensureRevoke(id, at);
    const score = await scoreOf(revokeJobId(id));
    expect(score).not.toBeNull();
    for (let i = 0; i < 3; i++) await queue.ensureRevoke(id, new Date(at.getTime() + (i - 1) * 400));
    // Any changeDelay would have re-scored the job (a new counter in the low 12 bits at least).
    expect(await scoreOf(revokeJobId(id))).toBe(score);
  });

  it('leaves a job waiting out a retry backoff alone, even for a revoke due now', async () => {
    const id = newRequestId();
    await queue.ensureRevoke(id, new Date());
    let failures = 0;
    const worker = new Worker(
      queue.access.name,
      async (): Promise<unknown> => {
        failures += 1;
        throw new Error('target unreachable');
      },
      {
        connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
        prefix,
        drainDelay: 1,
        settings: { backoffStrategy: () => 5_000 },
      },
    );
    workers.push(worker);
    try {
      await until(() => failures === 1);
      await until(async () => (await stateOf(id)) === 'delayed');
    } finally {
      await worker.close();
    }
    const j = await job(id);
    expect(j.attemptsMade).toBe(1);
    const score = await scoreOf(revokeJobId(id));
    await queue.ensureRevoke(id, new Date());
    expect(await stateOf(id)).toBe('delayed');
    expect(await scoreOf(revokeJobId(id))).toBe(score);
  });

  it('never runs the revoke before a window made later ends: the early job re-delays itself to the new end', async () => {
    const id = newRequestId();
    const t0 = Date.now();
    await queue.ensureRevoke(id, new Date(t0 + 1_000));
    const newEnd = t0 + 4_000;
    await queue.ensureRevoke(id, new Date(newEnd)); // extension
    const runs: { at: number; done: boolean }[] = [];
    const worker = revokeWorker(() => newEnd, runs);
    try {
      await until(() => runs.length === 1);
      await until(async () => (await stateOf(id)) === 'delayed');
      // The reconciler keeps asking for the (extended) end: the job stays where it is.
      const score = await scoreOf(revokeJobId(id));
      await queue.ensureRevoke(id, new Date(newEnd));
      expect(await scoreOf(revokeJobId(id))).toBe(score);
      await until(() => runs.some((r) => r.done), 8_000);
      expect(runs.find((r) => r.done)!.at).toBeGreaterThanOrEqual(newEnd);
    } finally {
      await worker.close();
    }
  });
});
