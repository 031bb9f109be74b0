/**
 * A time-driven check fires: remind the approvers of a pending request, expire a request nobody decided, or
 * warn the requester that the window ends soon. Each is a transition (so it happens once, whatever the
 * number of deliveries); a check that fires early reports when it is due, and one that no longer applies
 * (the request moved on) does nothing.
 */
import type { Result } from '../domain/errors.js';
import { escalate, expirePending, remind, warnExpiry, type AccessRequest, type TimedCheck, type Transition } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import { runEffects } from './effects.js';

export type CheckOutcome = { kind: 'done' } | { kind: 'not-due'; at: Date } | { kind: 'not-applicable' };

const TRANSITIONS: Record<TimedCheck, (request: AccessRequest, now: Date) => Result<Transition>> = {
  remind,
  expire: expirePending,
  warn: warnExpiry,
  escalate,
};

export async function runCheck(deps: UseCaseDeps, requestId: string, check: TimedCheck): Promise<CheckOutcome> {
  const outcome = await deps.store.apply(requestId, (s) => TRANSITIONS[check](s.request, deps.clock.now()));
  if (!outcome.ok) return outcome.error.code === 'NOT_DUE' ? { kind: 'not-due', at: outcome.error.expiresAt } : { kind: 'not-applicable' };
  await runEffects(deps, outcome.transition, outcome.notificationIds);
  return { kind: 'done' };
}
