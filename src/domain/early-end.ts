/**
 * Ending a request early: its requester withdraws it while pending (`cancel`), or someone gives an active grant
 * back before its window ends (`requestRevoke`). Part of the lifecycle in `request.ts`.
 */
import { err, ok, type Result } from './errors.js';
import { canOversee, type Policy } from './policy.js';
import type { AccessRequest, Decision, Transition } from './request.js';
import { denyMayOverride } from './review.js';
import { bump, notIn } from './transition-helpers.js';

/**
 * The requester withdraws a pending request, or an approved one whose grant has not started (the approval
 * grace, when a deny would still win). Late clicks on its card are then refused as NOT_PENDING.
 */
export function cancel(request: AccessRequest, decisions: Decision[], actorId: string): Result<Transition> {
  if (actorId !== request.requesterId) return err({ code: 'NOT_YOURS', requestId: request.id });
  // Approved but not yet granting (the approval grace, decision 31): the requester's cancel wins like a deny.
  if (request.status !== 'pending' && !denyMayOverride(request)) {
    return err({ code: 'NOT_PENDING', requestId: request.id, status: request.status, decidedBy: decisions.map((d) => d.approverId) });
  }
  return ok({
    next: bump(request, { status: 'cancelled' }),
    audit: { action: 'request.cancelled', actor: actorId, details: {} },
    effects: [{ type: 'refresh-cards' }],
  });
}

/**
 * Someone gives access back before the window ends: the requester ("I'm done"), or an approver or admin of
 * the role, who must say why. The revoke job is brought forward to now; it is the one that revokes.
 */
export function requestRevoke(
  request: AccessRequest,
  policy: Policy,
  input: { actorId: string; note: string | null; actorGroups?: readonly string[] | undefined },
  now: Date,
): Result<Transition> {
  const isRequester = input.actorId === request.requesterId;
  if (!isRequester && !canOversee(policy, request, input.actorId, input.actorGroups ?? [])) return err({ code: 'NOT_YOURS', requestId: request.id });
  if (!isRequester && !input.note) return err({ code: 'REASON_REQUIRED', requestId: request.id });
  if (request.status !== 'active') return err(notIn(request, ['active']));
  return ok({
    next: bump(request, { status: 'revoking', revokeReason: 'early', revokedBy: input.actorId, revokeNote: input.note }),
    audit: { action: 'revoke.requested', actor: input.actorId, details: { note: input.note } },
    effects: [{ type: 'schedule-revoke', at: now }, { type: 'refresh-cards' }],
  });
}
