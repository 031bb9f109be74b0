/**
 * `npm run bench`: hot-path figures against a bare baseline measured in the same process, on the local
 * PostgreSQL and Redis. Everything it creates (a scratch database, a BullMQ key prefix) is removed at the
 * end, also when interrupted. Nothing here asserts a speed: the checks are about correctness only (every
 * measured operation did what it should; exactly one winner under contention). See bench/README.md.
 */
import os from 'node:os';
import { parseCommand } from '../src/domain/command.js';
import { review } from '../src/domain/request.js';
import { BullJobQueue } from '../src/jobs/bullmq-queue.js';
import { CAPPED_BACKOFF, JOB, revokeJobId } from '../src/jobs/names.js';
import { PostgresRequestStore } from '../src/store/request-store.js';
import type { ApplyOutcome } from '../src/use-cases/ports.js';
import { APPROVER, CROWD, POLICY, createPending, newRequestId } from './fixtures.js';
import { compareAsync, compareSync, formatTable, sinkValue, type Row } from './measure.js';
import { createScratch, type Scratch } from './scratch.js';

/** Sized to finish in well under a minute on a 2-core machine. */
const PLAN = {
  parse: { warmup: 50_000, iterations: 300_000, blocks: 10, batch: 100 },
  save: { warmup: 100, iterations: 1_000, blocks: 10 },
  contended: { warmup: 3, iterations: 30, blocks: 5 },
  enqueue: { warmup: 300, iterations: 3_000, blocks: 10 },
};
/** The app's pool size (`openDatabase` default). */
const POOL = 10;

const stopping = new AbortController();
const signal = stopping.signal;

const COMMAND = 'request prod-db read 2h INC-4821 hotfix';
const HOUR = 3600_000;

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`bench check failed: ${message}`);
}

const startedAt = performance.now();
const progress = (message: string) => process.stderr.write(`· ${((performance.now() - startedAt) / 1000).toFixed(1).padStart(5)} s  ${message}\n`);

async function benchParse(): Promise<Row> {
  const parsed = parseCommand(COMMAND);
  check(parsed.ok && parsed.command.kind === 'request' && parsed.command.durationMs === 2 * HOUR, 'parseCommand parses the benchmark command');
  progress('command parsing');
  const [baseline, subject] = await compareSync({ ...PLAN.parse, signal }, [() => COMMAND.split(/\s+/).length, () => parseCommand(COMMAND).ok]);
  check(sinkValue() > 0, 'results were consumed');
  return { name: 'parseCommand', subject, baseline };
}

async function benchDecisionSave(scratch: Scratch, notes: string[]): Promise<Row[]> {
  const store = new PostgresRequestStore(scratch.db.db);
  const sql = scratch.db.sql;
  const approve = (requestId: string, deciderId: string): Promise<ApplyOutcome> =>
    store.apply(requestId, (s) => review(s.request, s.decisions, POLICY, { deciderId, outcome: 'approve', reason: null }, new Date()));

  // Uncontended: one fresh pending request per iteration, for the subject and for the baseline alike.
  const n = PLAN.save.warmup + PLAN.save.iterations;
  progress(`creating ${2 * n} pending requests`);
  const saveIds = await createPending(store, n, POOL, signal);
  const bareIds = await createPending(store, n, POOL, signal);

  progress('decision save');
  const [bare, save, refused] = await compareAsync({ ...PLAN.save, signal }, [
    async (i) => {
      const res = await sql`UPDATE access_requests SET version = version + 1 WHERE id = ${bareIds[i]!}`;
      check(res.count === 1, 'bare UPDATE hit its row');
    },
    async (i) => {
      const out = await approve(saveIds[i]!, APPROVER);
      check(out.ok && out.transition.next.status === 'approved', `apply approved ${saveIds[i]}`);
    },
    // A second approver clicks the request approved just above (same index, same block): a refusal.
    async (i) => {
      const out = await approve(saveIds[i]!, CROWD[0]!);
      check(!out.ok && out.error.code === 'NOT_PENDING', `late click on ${saveIds[i]} refused NOT_PENDING`);
    },
  ]);
  const [saved] = await sql<{ approved: number; decisions: number }[]>`
    SELECT (SELECT count(*)::int FROM access_requests WHERE id = ANY(${saveIds}) AND status = 'approved' AND version = 2) AS approved,
           (SELECT count(*)::int FROM decisions WHERE request_id = ANY(${saveIds})) AS decisions`;
  check(saved?.approved === n && saved.decisions === n, `every save approved exactly once (${JSON.stringify(saved)})`);

  // Contended: CROWD.length approvers click Approve on ONE request at the same moment, one request per round.
  const rounds = PLAN.contended.warmup + PLAN.contended.iterations;
  progress(`creating ${2 * rounds} pending requests`);
  const hotIds = await createPending(store, rounds, POOL, signal);
  const bareHotIds = await createPending(store, rounds, POOL, signal);
  const wins = new Map<string, number>();
  const losses = new Map<string, number>();

  progress(`decision save, ${CROWD.length} concurrent on one request`);
  const [bareHot, hot] = await compareAsync({ ...PLAN.contended, signal }, [
    async (i) => {
      await Promise.all(CROWD.map(() => sql`UPDATE access_requests SET version = version + 1 WHERE id = ${bareHotIds[i]!}`));
    },
    async (i) => {
      const outs = await Promise.all(CROWD.map((decider) => approve(hotIds[i]!, decider)));
      const winners = outs.flatMap((o, k) => (o.ok ? [CROWD[k]!] : []));
      check(winners.length === 1, `exactly one of ${CROWD.length} concurrent approvals wins (got ${winners.length})`);
      wins.set(winners[0]!, (wins.get(winners[0]!) ?? 0) + 1);
      for (const o of outs) if (!o.ok) losses.set(o.error.code, (losses.get(o.error.code) ?? 0) + 1);
    },
  ]);
  const perRequest = await sql<{ decisions: number; audits: number; status: string; version: number }[]>`
    SELECT r.status, r.version,
           (SELECT count(*)::int FROM decisions d WHERE d.request_id = r.id) AS decisions,
           (SELECT count(*)::int FROM audit_events a WHERE a.request_id = r.id) AS audits
      FROM access_requests r WHERE r.id = ANY(${hotIds})`;
  check(
    perRequest.length === rounds && perRequest.every((r) => r.status === 'approved' && r.version === 2 && r.decisions === 1 && r.audits === 2),
    'each contended request has one decision, one approval audit entry, version 2',
  );
  const [bareHotCheck] = await sql<{ ok: number }[]>`
    SELECT count(*)::int AS ok FROM access_requests WHERE id = ANY(${bareHotIds}) AND version = ${1 + CROWD.length}`;
  check(bareHotCheck?.ok === rounds, 'every bare contended UPDATE applied');

  const winnerList = [...wins.entries()].sort((a, b) => b[1] - a[1]).map(([who, k]) => `${who} ×${k}`).join(', ');
  const lossList = [...losses.entries()].map(([code, k]) => `${code} ×${k}`).join(', ');
  notes.push(
    `contention: ${rounds} rounds (incl. ${PLAN.contended.warmup} warm-up) of ${CROWD.length} concurrent applies on one request, pool of ${POOL}: ` +
      `exactly 1 winner every round (${winnerList}); refused: ${lossList}. ` +
      `≈ ${Math.round(hot.opsPerSec * CROWD.length).toLocaleString('en-US')} applies/s resolved.`,
  );
  return [
    { name: 'decision save: apply(review approve)', subject: save, baseline: bare },
    { name: 'decision refused: apply on approved request', subject: refused, baseline: bare },
    { name: `decision save: ${CROWD.length} concurrent on 1 request`, unit: `op = round of ${CROWD.length}`, subject: hot, baseline: bareHot },
  ];
}

async function benchEnqueue(scratch: Scratch, notes: string[]): Promise<Row[]> {
  const queue = new BullJobQueue(scratch.redis, scratch.prefix);
  scratch.onCleanup(() => queue.close());
  const n = PLAN.enqueue.warmup + PLAN.enqueue.iterations;
  const ensuredIds = Array.from({ length: n }, newRequestId);
  const bareIds = Array.from({ length: n }, newRequestId);

  progress('enqueue');
  // The bare add uses ensureRevoke's own options, so the ratio is the cost of the "ensure" part alone.
  const revokeAt = () => new Date(Date.now() + 2 * HOUR);
  const [bare, fresh, existing] = await compareAsync({ ...PLAN.enqueue, signal }, [
    async (i) => {
      const id = bareIds[i]!;
      await queue.access.add(
        JOB.revoke,
        { requestId: id },
        {
          jobId: revokeJobId(id),
          delay: 2 * HOUR,
          attempts: 1_000_000,
          backoff: { type: CAPPED_BACKOFF },
          removeOnComplete: true,
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      );
    },
    (i) => queue.ensureRevoke(ensuredIds[i]!, revokeAt()),
    // The same id again, right after (same block): the job exists, so ensure only looks (the reconciler's common case).
    (i) => queue.ensureRevoke(ensuredIds[i]!, revokeAt()),
  ]);
  const delayed = await queue.access.getDelayedCount();
  check(delayed === 2 * n, `every enqueue left one delayed job and re-ensure added none (${delayed} delayed, expected ${2 * n})`);
  notes.push(`enqueue: ${delayed} delayed jobs under prefix "${scratch.prefix}" before cleanup (no duplicates from re-ensure).`);
  return [
    { name: 'enqueue: ensureRevoke (new job)', subject: fresh, baseline: bare },
    { name: 'enqueue: ensureRevoke (job exists)', subject: existing, baseline: bare },
  ];
}

let cleanup: Scratch['cleanup'] | undefined;
// A signal stops the run after the operation in flight; cleanup then runs as on any other exit. Later signals
// are ignored (tsx relays the terminal's Ctrl-C, so it usually arrives twice); if the run has not unwound
// within 15 s, cleanup is forced.
for (const name of ['SIGINT', 'SIGTERM'] as const) {
  process.on(name, () => {
    if (stopping.signal.aborted) return;
    progress(`${name}: stopping, then cleaning up`);
    stopping.abort(new Error(`interrupted by ${name}`));
    setTimeout(() => {
      progress('still busy after 15 s: cleaning up now');
      void (cleanup?.() ?? Promise.resolve()).catch(() => undefined).finally(() => process.exit(130));
    }, 15_000).unref();
  });
}

async function main(): Promise<void> {
  const rows: Row[] = [await benchParse()];
  const notes: string[] = [];
  const scratch = await createScratch(POOL, (c) => (cleanup = c));
  const [pg] = await scratch.db.sql<{ server_version: string }[]>`SHOW server_version`;
  const redisInfo = await scratch.redis.info('server');
  const redisVersion = /redis_version:(\S+)/.exec(redisInfo)?.[1] ?? '?';
  let failure: unknown;
  try {
    rows.push(...(await benchDecisionSave(scratch, notes)));
    rows.push(...(await benchEnqueue(scratch, notes)));
  } catch (error) {
    failure = error;
  }
  const left = await scratch.cleanup();
  if (failure) throw failure;
  check(left.leftoverDatabases === 0 && left.leftoverKeys === 0, `cleanup left ${left.leftoverDatabases} databases, ${left.leftoverKeys} keys`);

  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  console.log(`# node ${process.version}, ${os.cpus().length} × ${cpu}; PostgreSQL ${pg?.server_version}, Redis ${redisVersion}`);
  console.log('# ops/s = serial throughput of one caller; p50/p99 = latency of one op; ratio = baseline ops/s ÷ ops/s');
  console.log('');
  console.log(formatTable(rows));
  console.log('');
  console.log('baselines: parseCommand ← text.split(/\\s+/); decision save ← one UPDATE … SET version = version + 1 round trip, same pool;');
  console.log(`           contended ← ${CROWD.length} concurrent bare UPDATEs on one row; enqueue ← bare queue.add, fresh id, same job options`);
  for (const note of notes) console.log(note);
  console.log(`scratch database ${scratch.dbName} dropped and Redis prefix ${scratch.prefix} deleted; total ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
}

main().catch(async (error: unknown) => {
  const interrupted = stopping.signal.aborted;
  if (!interrupted) console.error(error);
  process.exitCode = interrupted ? 130 : 1;
  let state = 'nothing had been created';
  if (cleanup) {
    try {
      const left = await cleanup();
      state =
        left.leftoverDatabases + left.leftoverKeys === 0
          ? 'scratch database and Redis keys removed'
          : `cleanup LEFT ${left.leftoverDatabases} database(s) and ${left.leftoverKeys} Redis key(s)`;
    } catch (cleanupError) {
      state = `cleanup FAILED: ${String(cleanupError)}`;
      process.exitCode = 1;
    }
  }
  progress(`${interrupted ? 'interrupted' : 'failed'}; ${state}`);
});
