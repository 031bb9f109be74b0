/**
 * Repairs, from PostgreSQL alone, everything the queue might have lost (Redis flushed, a process killed):
 * every grant past its end gets a revoke now, every active grant has its timed revoke, every approved
 * request has its grant job, every undelivered notification is delivered. Runs at start and on a schedule;
 * safe to run any number of times, in any number of processes, because every enqueue is idempotent.
 */
import { warningTime, type AccessRequest } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';

/** Rows read per query; every run reads them all, a page at a time, so no row waits behind a full first page. */
const BATCH = 1000;

export interface ReconcileReport {
  overdue: number;
  scheduled: number;
  grants: number;
  deliveries: number;
  checks: number;
}

export async function reconcile(deps: Pick<UseCaseDeps, 'store' | 'queue' | 'clock'>, options: { batch?: number } = {}): Promise<ReconcileReport> {
  const batch = options.batch ?? BATCH;
  const now = deps.clock.now();
  const report: ReconcileReport = { overdue: 0, scheduled: 0, grants: 0, deliveries: 0, checks: 0 };
  const every = (statuses: AccessRequest['status'][]) => pages(batch, (after, limit) => deps.store.pageByStatus(statuses, after, limit), (r) => r.id);
  for await (const request of every(['active', 'revoking'])) {
    const due = request.expiresAt === null || request.expiresAt <= now || request.status === 'revoking';
    await deps.queue.ensureRevoke(request.id, due ? now : (request.expiresAt as Date));
    if (due) report.overdue += 1;
    else report.scheduled += 1;
    const warnAt = request.status === 'active' && request.expiresAt && !request.warnedAt ? warningTime(request, request.expiresAt) : null;
    if (warnAt) await deps.queue.ensureCheck(request.id, 'warn', warnAt);
  }
  for await (const request of every(['pending'])) {
    await deps.queue.ensureCheck(request.id, 'expire', request.pendingUntil);
    if (request.remindAt && !request.remindedAt) await deps.queue.ensureCheck(request.id, 'remind', request.remindAt);
    if (request.escalateAt && !request.escalatedAt) await deps.queue.ensureCheck(request.id, 'escalate', request.escalateAt);
    report.checks += 1;
  }
  for await (const request of every(['approved'])) {
    // A grant job lost inside the approval grace is due when the grace ends; after it, at once.
    await deps.queue.ensureGrant(request.id, request.grantAfter ?? now);
    report.grants += 1;
  }
  // No grace period is needed: a delivery in flight still holds its job id, and a delivered row is skipped.
  // A notification chat refused for good was given up (deliver-notification.ts) and is not listed here.
  for await (const id of pages(batch, (after, limit) => deps.store.listUndelivered(now, limit, after ?? undefined), (n) => n)) {
    await deps.queue.ensureDelivery(id);
    report.deliveries += 1;
  }
  return report;
}

/**
 * Every row of a keyset-paged query, `batch` at a time: rows that stay in their state for ever (a revoke failing
 * on a decommissioned target, a message Slack keeps refusing) can never hide the ones after them.
 */
async function* pages<T>(batch: number, page: (after: string | null, limit: number) => Promise<T[]>, keyOf: (row: T) => string): AsyncGenerator<T> {
  let after: string | null = null;
  for (;;) {
    const rows = await page(after, batch);
    yield* rows;
    const last = rows.at(-1);
    if (rows.length < batch || last === undefined) return;
    after = keyOf(last);
  }
}
