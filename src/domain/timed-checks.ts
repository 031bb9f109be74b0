/**
 * Time-driven transitions: each fires once, from a delayed job the reconciler also recovers, and reports
 * NOT_DUE when it runs early. Their times are frozen on the request at submit.
 */
import { err, ok, type Result } from './errors.js';
import { SYSTEM_ACTOR, type AccessRequest, type Transition } from './request.js';
import { bump, notIn } from './transition-helpers.js';

/**
 * When to warn the requester that the window is about to end: `warnBeforeMs` before it, but only when the
 * window is at least twice that long (a 5-minute grant needs no 5-minute warning).
 */
export function warningTime(request: Pick<AccessRequest, 'warnBeforeMs' | 'durationMs'>, expiresAt: Date): Date | null {
  if (request.warnBeforeMs <= 0 || request.durationMs < 2 * request.warnBeforeMs) return null;
  return new Date(expiresAt.getTime() - request.warnBeforeMs);
}

/** No decision within the request's time-to-live: the request expires, the card is retired, the requester told. */
export function expirePending(request: AccessRequest, now: Date): Result<Transition> {
  if (request.status !== 'pending') return err(notIn(request, ['pending']));
  if (request.pendingUntil > now) return err({ code: 'NOT_DUE', requestId: request.id, expiresAt: request.pendingUntil });
  return ok({
    next: bump(request, { status: 'expired' }),
    audit: { action: 'request.expired', actor: SYSTEM_ACTOR, details: { pendingUntil: request.pendingUntil.toISOString() } },
    effects: [{ type: 'refresh-cards' }, { type: 'notify-requester', notice: 'expired' }],
  });
}

/** Reminds the approvers, once, of a request still pending. */
export function remind(request: AccessRequest, now: Date): Result<Transition> {
  if (request.status !== 'pending' || request.remindedAt !== null || request.remindAt === null) return err(notIn(request, ['pending']));
  if (request.remindAt > now) return err({ code: 'NOT_DUE', requestId: request.id, expiresAt: request.remindAt });
  return ok({
    next: bump(request, { remindedAt: now }),
    audit: { action: 'request.reminded', actor: SYSTEM_ACTOR, details: {} },
    effects: [{ type: 'alert-approvers', alert: 'reminder' }],
  });
}

/** Warns the requester, once, that the window ends soon. */
export function warnExpiry(request: AccessRequest, now: Date): Result<Transition> {
  if (request.status !== 'active' || request.warnedAt !== null || request.expiresAt === null) return err(notIn(request, ['active']));
  // Run late (workers or Redis down across the warning and the end): the window is over, and its revoke is due
  // at once; "ends soon" with an Extend button would be false.
  if (request.expiresAt <= now) return err(notIn(request, ['active']));
  const at = warningTime(request, request.expiresAt);
  if (!at) return err(notIn(request, ['active']));
  if (at > now) return err({ code: 'NOT_DUE', requestId: request.id, expiresAt: at });
  return ok({
    next: bump(request, { warnedAt: now }),
    audit: { action: 'grant.expiry-warned', actor: SYSTEM_ACTOR, details: {} },
    effects: [{ type: 'notify-requester', notice: 'expiring-soon' }],
  });
}

/**
 * Escalates, once, a request still pending at its escalation time: its card is posted to the escalation
 * channel as well and DMed to the escalation's users (who would otherwise not be told when the escalation names
 * no channel), and the escalation group may decide from then on (see `checkDecider`).
 */
export function escalate(request: AccessRequest, now: Date): Result<Transition> {
  if (request.status !== 'pending' || request.escalatedAt !== null || request.escalateAt === null) return err(notIn(request, ['pending']));
  if (request.escalateAt > now) return err({ code: 'NOT_DUE', requestId: request.id, expiresAt: request.escalateAt });
  return ok({
    next: bump(request, { escalatedAt: now }),
    audit: { action: 'request.escalated', actor: SYSTEM_ACTOR, details: { channel: request.escalationChannel } },
    effects: [{ type: 'post-cards', escalated: true }, { type: 'refresh-cards' }],
  });
}

