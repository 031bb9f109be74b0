/**
 * Runs the effects of a saved transition that are jobs, and hands its outbox notifications to the queue.
 * Called only after the transition is committed. An enqueue that fails (Redis down) is logged, not thrown:
 * the state is already safe in PostgreSQL and the reconciler enqueues the same work again from there.
 */
import type { Transition } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';

export async function runEffects(
  deps: Pick<UseCaseDeps, 'queue' | 'log'>,
  transition: Transition,
  notificationIds: string[],
): Promise<void> {
  const requestId = transition.next.id;
  const work: Promise<void>[] = notificationIds.map((id) => deps.queue.ensureDelivery(id));
  for (const effect of transition.effects) {
    if (effect.type === 'schedule-grant') work.push(deps.queue.ensureGrant(requestId, effect.at));
    if (effect.type === 'schedule-revoke') work.push(deps.queue.ensureRevoke(requestId, effect.at));
    if (effect.type === 'schedule-check') work.push(deps.queue.ensureCheck(requestId, effect.check, effect.at));
  }
  const results = await Promise.allSettled(work);
  for (const r of results) {
    if (r.status === 'rejected') {
      deps.log.warn({ requestId, err: r.reason }, 'could not enqueue follow-up work; the reconciler will retry it');
    }
  }
}

/** One line, no stack, no secrets: what goes into `last_error` columns and audit details. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s@/]*@/gi, '$1***@').slice(0, 500);
}
