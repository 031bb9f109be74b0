/** Break-glass: access granted at once in an emergency, loud, and flagged until acknowledged. */
import { BREAK_GLASS_REASON_MIN_LENGTH } from './command.js';
import { err, ok, type Result } from './errors.js';
import { checkJustification } from './evaluate.js';
import { canOversee, checkRequest, type Policy } from './policy.js';
import { submit, type AccessRequest, type NewRequest, type RequestFlag, type Transition } from './request.js';
import { bump } from './transition-helpers.js';

/** The flag a break-glass request carries: shown on its card, and what `isBreakGlass` looks for. */
export const BREAK_GLASS_FLAG = 'break-glass';
/** A break-glass reason, trimmed, has at least this many characters: it is all the approvers have to go on. */
export const BREAK_GLASS_REASON_MIN = BREAK_GLASS_REASON_MIN_LENGTH;

export function isBreakGlass(request: Pick<AccessRequest, 'flags'>): boolean {
  return request.flags.some((f) => f.code === BREAK_GLASS_FLAG);
}

/** A break-glass grant nobody has acknowledged yet. */
export function awaitsAcknowledgement(request: Pick<AccessRequest, 'flags' | 'acknowledgedAt'>): boolean {
  return isBreakGlass(request) && request.acknowledgedAt === null;
}

/**
 * Break-glass: a requester takes a role that allows it (`break_glass: true`) at once, with no approver. The
 * request is saved `approved` and flagged, its grant is scheduled, its card (marked BREAK-GLASS, with an
 * Acknowledge button) goes to the approvers' channel and the policy admins are told by DM. It stays flagged
 * for review until an approver or admin acknowledges it (`acknowledge`). Nothing waits, so no expiry or
 * reminder is scheduled. `groups`: the requester's user groups, resolved by the caller.
 */
export function breakGlass(policy: Policy, input: NewRequest, now: Date, groups: readonly string[] = []): Result<Transition> {
  const checked = checkRequest(policy, input, groups);
  if (!checked.ok) return checked;
  if (checked.value.breakGlass !== true) return err({ code: 'BREAK_GLASS_NOT_ALLOWED', resource: input.resource, role: input.role });
  if (input.reason.trim().length < BREAK_GLASS_REASON_MIN) return err({ code: 'REASON_TOO_SHORT', minLength: BREAK_GLASS_REASON_MIN });
  const refusal = checkJustification(checked.value, input.reason);
  if (refusal) return err(refusal);
  const submitted = submit({ ...input, remindAt: null, escalateAt: null, escalationChannel: null });
  const flag: RequestFlag = { code: BREAK_GLASS_FLAG, reason: 'granted at once without an approver; to be acknowledged by an approver or admin' };
  return ok({
    next: bump(submitted.next, { status: 'approved', decidedAt: now, grantAfter: now, flags: [flag] }),
    audit: {
      action: 'request.break-glass',
      actor: input.requesterId,
      details: { resource: input.resource, role: input.role, durationMs: input.durationMs, reason: input.reason, reviewRequired: true },
    },
    effects: [{ type: 'post-cards' }, { type: 'alert-admins', notice: 'break-glass' }, { type: 'schedule-grant', at: now }],
  });
}

/**
 * An approver of the role or a policy admin acknowledges a break-glass grant, in any state (it may have ended
 * already): who and when are recorded and the card says so. Not the requester: four eyes, after the fact.
 */
export function acknowledge(
  request: AccessRequest,
  policy: Policy,
  input: { actorId: string; actorGroups?: readonly string[] | undefined },
  now: Date,
): Result<Transition> {
  if (input.actorId === request.requesterId) return err({ code: 'SELF_APPROVAL', requestId: request.id });
  if (!canOversee(policy, request, input.actorId, input.actorGroups ?? [])) return err({ code: 'NOT_AN_APPROVER', requestId: request.id });
  if (!isBreakGlass(request)) return err({ code: 'NOT_IN_STATE', requestId: request.id, status: request.status, expected: [BREAK_GLASS_FLAG] });
  if (request.acknowledgedBy !== null) return err({ code: 'ALREADY_ACKNOWLEDGED', requestId: request.id, by: request.acknowledgedBy });
  return ok({
    next: bump(request, { acknowledgedBy: input.actorId, acknowledgedAt: now }),
    audit: { action: 'request.acknowledged', actor: input.actorId, details: { status: request.status } },
    effects: [{ type: 'refresh-cards' }],
  });
}
