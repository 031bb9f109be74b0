/**
 * `npm run bench`: hot-path figures against a bare baseline measured in the same process, on the local
 * PostgreSQL and Redis. Everything it creates (a scratch database, a BullMQ key prefix) is removed at the
 * end, also when interrupted. Nothing here asserts a speed: the checks are about correctness only (every
 * measured operation did what it should; exactly one winner under contention). See bench/README.md.
 */
import os from 'node:os';
import { drizzle } from 'drizzle-orm/postgres-js';
import { parseCommand } from '../src/domain/command.js';
import { review } from '../src/domain/request.js';
import { BullJobQueue } from '../src/jobs/bullmq-queue.js';
import { CAPPED_BACKOFF, JOB, revokeJobId } from '../src/jobs/names.js';
import { watchGraceMs } from '../src/app/revoke-watchdog.js';
import { PostgresRequestStore } from '../src/store/request-store.js';
import { PostgresRevokeWatch } from '../src/store/revoke-watch.js';
import * as schema from '../src/store/schema.js';
import { PostgresSlackSignatures } from '../src/store/slack-signatures.js';
import type { ApplyOutcome } from '../src/use-cases/ports.js';
import { stallCutoffs } from '../src/use-cases/watch-revokes.js';
import { APPROVER, CROWD, POLICY, createGrants, createPending, fillSignatures, newRequestId, newSignature } from './fixtures.js';
import { compareAsync, compareSync, formatTable, sinkValue, type Row } from './measure.js';
import { createScratch, type Scratch } from './scratch.js';

/** Sized to finish in well under a minute on a 2-core machine. */
const PLAN = {
  parse: { warmup: 50_000, iterations: 300_000, blocks: 10, batch: 100 },
  save: { warmup: 100, iterations: 1_000, blocks: 10 },
  contended: { warmup: 3, iterations: 30, blocks: 5 },
  enqueue: { warmup: 300, iterations: 3_000, blocks: 10 },
  signature: { warmup: 300, iterations: 3_000, blocks: 10 },
  watchdog: { warmup: 30, iterations: 300, blocks: 10 },
};
/** The replay guard's steady state: a busy workspace's 10-minute retention (≈ 33 Slack requests a second). */
const SIGNATURES_KEPT = 20_000;
/** The watchdog's table: grants in their window now, and the history of finished (revoked) ones. */
const GRANTS = { active: 300, finished: 3_000 };
/** The watchdog's settings in production: grace = watchGraceMs(default RECONCILE_INTERVAL 30 s), revoke backoff cap 5 min (app.ts). */
const WATCH_SETTINGS = { graceMs: watchGraceMs(30_000), revokeBackoffCapMs: 5 * 60_000 };
const WATCH_BATCH = 50;
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

async function benchReplayGuard(scratch: Scratch, notes: string[]): Promise<Row[]> {
  const sql = scratch.db.sql;
  const guard = new PostgresSlackSignatures(scratch.db.db);
  progress(`pre-filling ${SIGNATURES_KEPT.toLocaleString('en-US')} signatures over the last 10 minutes`);
  const kept = await fillSignatures(sql, SIGNATURES_KEPT);
  // The baseline's table: one text primary key, holding as many keys as the guard's, so both indexes are alike in size.
  await sql`CREATE TABLE bench_bare_signatures (signature text PRIMARY KEY)`;
  await sql`INSERT INTO bench_bare_signatures SELECT * FROM unnest(${kept.map(() => newSignature())}::text[])`;
  await sql`ANALYZE slack_request_signatures`;
  await sql`ANALYZE bench_bare_signatures`;

  const n = PLAN.signature.warmup + PLAN.signature.iterations;
  const fresh = Array.from({ length: n }, newSignature);
  const bare = Array.from({ length: n }, newSignature);
  const [before] = await sql<{ old: number }[]>`SELECT count(*)::int AS old FROM slack_request_signatures WHERE signature = ANY(${kept})`;

  progress('replay guard');
  const [baseline, claimNew, claimReplay] = await compareAsync({ ...PLAN.signature, signal }, [
    async (i) => {
      const res = await sql`INSERT INTO bench_bare_signatures VALUES (${bare[i]!})`;
      check(res.count === 1, 'bare INSERT inserted its row');
    },
    async (i) => check((await guard.claim(fresh[i]!)) === true, `claim of new signature ${i} returned true`),
    // The signature claimed just above (same index, same block) arrives again: a replay.
    async (i) => check((await guard.claim(fresh[i]!)) === false, `claim of replayed signature ${i} returned false`),
  ]);
  const [after] = await sql<{ recorded: number; old: number; total: number }[]>`
    SELECT (SELECT count(*)::int FROM slack_request_signatures WHERE signature = ANY(${fresh})) AS recorded,
           (SELECT count(*)::int FROM slack_request_signatures WHERE signature = ANY(${kept})) AS old,
           (SELECT count(*)::int FROM slack_request_signatures) AS total`;
  check(after?.recorded === n, `every new signature recorded once (${JSON.stringify(after)})`);
  notes.push(
    `replay guard: ${SIGNATURES_KEPT.toLocaleString('en-US')} signatures pre-filled over 10 min (${before?.old} present at start); ` +
      `the claims purged ${(before?.old ?? 0) - after.old} that aged past 10 min during the run; ${after.total.toLocaleString('en-US')} rows at the end.`,
  );
  return [
    { name: 'replay guard: claim (new signature)', subject: claimNew, baseline },
    { name: 'replay guard: claim (replay)', subject: claimReplay, baseline },
  ];
}

async function benchWatchdog(scratch: Scratch, notes: string[]): Promise<Row[]> {
  const sql = scratch.db.sql;
  // ~60,000 fixture transactions: built on a pool without commit flushes (see openFixturePool), 2 × POOL at a time.
  const fixtureStore = new PostgresRequestStore(scratch.openFixturePool(2 * POOL));
  progress(`creating ${GRANTS.active.toLocaleString('en-US')} active and ${GRANTS.finished.toLocaleString('en-US')} revoked grants`);
  const built = performance.now();
  const { activeIds, finishedIds } = await createGrants(fixtureStore, GRANTS, 2 * POOL, signal);
  const buildSeconds = (performance.now() - built) / 1000;
  // The steady state autovacuum keeps a table in: dead versions from the fixture updates removed, statistics
  // current (the planner sees the real row counts), and no autovacuum starting in the middle of the measurement.
  await sql`VACUUM (ANALYZE) access_requests, grants`;
  const [shape] = await sql<{ active: number; revoked: number; total: number; stalledPast: number }[]>`
    SELECT (SELECT count(*)::int FROM access_requests r JOIN grants g ON g.request_id = r.id
             WHERE r.id = ANY(${activeIds}) AND r.status = 'active' AND g.expires_at > now()) AS active,
           (SELECT count(*)::int FROM access_requests r JOIN grants g ON g.request_id = r.id
             WHERE r.id = ANY(${finishedIds}) AND r.status = 'revoked' AND g.expires_at < now() AND g.revoked_at IS NOT NULL) AS revoked,
           (SELECT count(*)::int FROM access_requests) AS total,
           (SELECT count(*)::int FROM access_requests WHERE stalled_alerted_at IS NOT NULL) AS "stalledPast"`;
  check(shape?.active === GRANTS.active && shape.revoked === GRANTS.finished && shape.stalledPast === 0, `grant fixtures as intended (${JSON.stringify(shape)})`);

  const watch = new PostgresRevokeWatch(scratch.db.db);
  const cutoffs = () => stallCutoffs(new Date(), WATCH_SETTINGS);

  // The statement claimStalled sends, captured from the real store through a logging drizzle on the same
  // client, then explained (ANALYZE, in a transaction rolled back: nothing is stalled, nothing is locked).
  let captured: { query: string; params: unknown[] } | undefined;
  const logged = drizzle(sql, { schema, logger: { logQuery: (query, params) => (captured ??= /^select/i.test(query) ? { query, params } : undefined) } });
  check((await new PostgresRevokeWatch(logged).claimStalled(cutoffs(), WATCH_BATCH)).length === 0, 'nothing stalled (captured run)');
  check(captured, 'claimStalled statement captured');
  const plan = await sql
    .begin(async (tx) => {
      const rows = await tx.unsafe<{ 'QUERY PLAN': string }[]>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${captured!.query}`, captured!.params as never[]);
      throw Object.assign(new Error('rollback'), { rows });
    })
    .catch((e: { rows?: { 'QUERY PLAN': string }[] }) => {
      if (!e.rows) throw e;
      return e.rows.map((r) => r['QUERY PLAN']);
    });

  progress('revoke watchdog');
  const [baseline, none] = await compareAsync({ ...PLAN.watchdog, signal }, [
    async () => {
      await sql`SELECT 1`;
    },
    async () => check((await watch.claimStalled(cutoffs(), WATCH_BATCH)).length === 0, 'claimStalled claims nothing when nothing is stalled'),
  ]);
  const [afterRun] = await sql<{ alerted: number; audited: number }[]>`
    SELECT (SELECT count(*)::int FROM access_requests WHERE stalled_alerted_at IS NOT NULL) AS alerted,
           (SELECT count(*)::int FROM audit_events WHERE action = 'revoke.stalled') AS audited`;
  check(afterRun?.alerted === 0 && afterRun.audited === 0, `the watchdog claimed and audited nothing (${JSON.stringify(afterRun)})`);

  notes.push(
    `revoke watchdog: access_requests holds ${shape.total.toLocaleString('en-US')} rows (${GRANTS.active.toLocaleString('en-US')} active, ` +
      `${GRANTS.finished.toLocaleString('en-US')} revoked, the rest from the rows above), built through the store in ${buildSeconds.toFixed(1)} s, then VACUUM ANALYZE; ` +
      `claimStalled's SELECT, EXPLAIN (ANALYZE, BUFFERS):\n    ${plan.join('\n    ')}`,
  );
  return [{ name: 'revoke watchdog: claimStalled (none stalled)', subject: none, baseline }];
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
    rows.push(...(await benchReplayGuard(scratch, notes)));
    rows.push(...(await benchWatchdog(scratch, notes)));
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
  console.log(`           contended ← ${CROWD.length} concurrent bare UPDATEs on one row; enqueue ← bare queue.add, fresh id, same job options;`);
  console.log('           replay guard ← bare INSERT of a fresh key into a one-column text primary key table of the same size, same pool;');
  console.log('           revoke watchdog ← SELECT 1 round trip, same pool');
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
