/**
 * Repairs, from PostgreSQL alone, everything the queue might have lost (Redis flushed, a process killed):
 * every grant past its end gets a revoke now, every active grant has its timed revoke, every approved
 * request has its grant job, every undelivered notification is delivered. Runs at start and on a schedule;
 * safe to run any number of times, in any number of processes, because every enqueue is idempotent.
 */
import { warningTime } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';

const BATCH = 1000;

export interface ReconcileReport {
  overdue: number;
  scheduled: number;
  grants: number;
  deliveries: number;
  checks: number;
}

export async function reconcile(deps: Pick<UseCaseDeps, 'store' | 'queue' | 'clock'>): Promise<ReconcileReport> {
  const now = deps.clock.now();
  const report: ReconcileReport = { overdue: 0, scheduled: 0, grants: 0, deliveries: 0, checks: 0 };
  for (const request of await deps.store.listByStatus(['active', 'revoking'], BATCH)) {
    const due = request.expiresAt === null || request.expiresAt <= now || request.status === 'revoking';
    await deps.queue.ensureRevoke(request.id, due ? now : (request.expiresAt as Date));
    if (due) report.overdue += 1;
    else report.scheduled += 1;
  }
  for (const request of await deps.store.listByStatus(['pending'], BATCH)) {
    await deps.queue.ensureCheck(request.id, 'expire', request.pendingUntil);
    if (request.remindAt && !request.remindedAt) await deps.queue.ensureCheck(request.id, 'remind', request.remindAt);
    if (request.escalateAt && !request.escalatedAt) await deps.queue.ensureCheck(request.id, 'escalate', request.escalateAt);
    report.checks += 1;
  }
  for (const request of await deps.store.listByStatus(['active'], BATCH)) {
    const warnAt = request.expiresAt && !request.warnedAt ? warningTime(request, request.expiresAt) : null;
    if (warnAt) await deps.queue.ensureCheck(request.id, 'warn', warnAt);
  }
  for (const request of await deps.store.listByStatus(['approved'], BATCH)) {
    // A grant job lost inside the approval grace is due when the grace ends; after it, at once.
    await deps.queue.ensureGrant(request.id, request.grantAfter ?? now);
    report.grants += 1;
  }
  // No grace period is needed: a delivery in flight still holds its job id, and a delivered row is skipped.
  // A notification chat refused for good was given up (deliver-notification.ts) and is not listed here.
  for (const id of await deps.store.listUndelivered(now, BATCH)) {
    await deps.queue.ensureDelivery(id);
    report.deliveries += 1;
  }
  return report;
}
