/**
 * The measuring loop and the report table. Timing is `performance.now()` around each operation (or each
 * batch, for operations too short to time one by one); warm-up runs are executed and discarded.
 */
import { performance } from 'node:perf_hooks';

export interface Stats {
  /** Operations completed per second over the time spent measuring this operation (its blocks, summed). */
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  iterations: number;
}

export interface Plan {
  /** Per operation, before anything is recorded. */
  warmup: number;
  /** Per operation, recorded. */
  iterations: number;
  /**
   * The measured iterations are run in this many alternating blocks (baseline block, subject block, …), so
   * a load change on the machine during the run hits both sides alike instead of skewing the ratio.
   */
  blocks: number;
  /** Checked before every operation (every batch, for synchronous ones): an abort stops the run by throwing. */
  signal?: AbortSignal;
}

/** One `Stats` per operation passed in, in the same order. */
type StatsOf<T extends readonly unknown[]> = { -readonly [K in keyof T]: Stats };

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

class Recorder {
  private readonly latencies: Float64Array;
  private count = 0;
  private elapsedMs = 0;
  ops = 0;

  constructor(samples: number) {
    this.latencies = new Float64Array(samples);
  }

  sample(ms: number): void {
    this.latencies[this.count++] = ms;
  }

  elapsed(ms: number, ops: number): void {
    this.elapsedMs += ms;
    this.ops += ops;
  }

  stats(): Stats {
    const sorted = this.latencies.slice(0, this.count).sort();
    return {
      opsPerSec: this.ops / (this.elapsedMs / 1000),
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      iterations: this.ops,
    };
  }
}

/** Splits `total` into `blocks` near-equal block sizes. */
function blockSizes(total: number, blocks: number): number[] {
  const n = Math.max(1, Math.min(blocks, total));
  return Array.from({ length: n }, (_, b) => Math.floor(((b + 1) * total) / n) - Math.floor((b * total) / n));
}

const YIELD_EVERY_BATCHES = 16;

/** Keeps synchronous results observable, so the JIT cannot drop the work being measured. */
let sink = 0;
export function sinkValue(): number {
  return sink;
}

/**
 * Synchronous operations (the first is the baseline), timed in batches of `batch` calls: one call takes well
 * under a microsecond, less than the resolution and overhead of `performance.now()`. Latency percentiles
 * are over per-batch means, and ops/s is over the time spent in batches.
 */
export async function compareSync<const T extends readonly (() => unknown)[]>(plan: Plan & { batch: number }, ops: T): Promise<StatsOf<T>> {
  const batches = (calls: number) => Math.ceil(calls / plan.batch);
  const recorders = ops.map(() => new Recorder(batches(plan.iterations)));
  const run = async (op: () => unknown, count: number, rec: Recorder | null) => {
    let busyMs = 0;
    for (let b = 0; b < count; b++) {
      plan.signal?.throwIfAborted();
      const t0 = performance.now();
      for (let i = 0; i < plan.batch; i++) if (op()) sink++;
      const dt = performance.now() - t0;
      busyMs += dt;
      rec?.sample(dt / plan.batch);
      // Yield now and then, outside the timing: tsx SIGKILLs a child that does not take a Ctrl-C within ~60 ms.
      if (b % YIELD_EVERY_BATCHES === YIELD_EVERY_BATCHES - 1) await new Promise(setImmediate);
    }
    rec?.elapsed(busyMs, count * plan.batch);
  };
  for (const op of ops) await run(op, batches(plan.warmup), null);
  for (const size of blockSizes(batches(plan.iterations), plan.blocks)) {
    for (let k = 0; k < ops.length; k++) await run(ops[k]!, size, recorders[k]!);
  }
  return recorders.map((r) => r.stats()) as StatsOf<T>;
}

/**
 * Asynchronous operations (the first is the baseline), each awaited alone (no overlap), so p50/p99 are
 * single-operation latencies and ops/s is the serial throughput of one caller. Every operation gets the
 * indexes 0 … warmup+iterations-1 exactly once, in order (warm-up first), so per-iteration fixtures never
 * repeat; within a block the operations run in the order given, so a later one may rely on an earlier
 * one having handled the same index.
 */
export async function compareAsync<const T extends readonly ((index: number) => Promise<void>)[]>(plan: Plan, ops: T): Promise<StatsOf<T>> {
  const recorders = ops.map(() => new Recorder(plan.iterations));
  const next = ops.map(() => 0);
  const run = async (k: number, count: number, rec: Recorder | null) => {
    const op = ops[k]!;
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      plan.signal?.throwIfAborted();
      const t0 = performance.now();
      await op(next[k]!++);
      rec?.sample(performance.now() - t0);
    }
    rec?.elapsed(performance.now() - start, count);
  };
  for (let k = 0; k < ops.length; k++) await run(k, plan.warmup, null);
  for (const size of blockSizes(plan.iterations, plan.blocks)) {
    for (let k = 0; k < ops.length; k++) await run(k, size, recorders[k]!);
  }
  return recorders.map((r) => r.stats()) as StatsOf<T>;
}

export interface Row {
  name: string;
  subject: Stats;
  baseline: Stats;
  /** What "ops/s" counts, when it is not one call (e.g. one round of 50 concurrent calls). */
  unit?: string;
}

const fmtOps = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const fmtMs = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n >= 0.01 ? n.toFixed(3) : n.toFixed(5));

export function formatTable(rows: Row[]): string {
  const header = ['benchmark', 'ops/s', 'p50 ms', 'p99 ms', 'baseline ops/s', 'ratio (slower ×)'];
  const body = rows.map((r) => [
    r.unit ? `${r.name} [${r.unit}]` : r.name,
    fmtOps(r.subject.opsPerSec),
    fmtMs(r.subject.p50Ms),
    fmtMs(r.subject.p99Ms),
    fmtOps(r.baseline.opsPerSec),
    `${(r.baseline.opsPerSec / r.subject.opsPerSec).toFixed(2)}×`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
