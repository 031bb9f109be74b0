/**
 * Deciding a request: an approver's click (`review`), an auto-approval, and the grant job's claim that closes
 * the approval grace (`startGrant`). Part of the lifecycle in `request.ts`.
 */
import { BREAK_GLASS_FLAG } from './break-glass.js';
import { err, ok, type Result } from './errors.js';
import { DEFAULT_APPROVAL_GRACE_MS, checkDecider, findRole, type Policy } from './policy.js';
import { SYSTEM_ACTOR, approvalsOf, type AccessRequest, type Decision, type Transition } from './request.js';
import { bump, notIn } from './transition-helpers.js';

/**
 * A just-submitted request that the role's `auto_approve` rule approves, before it is first saved: it is
 * saved `approved` at once, its card is posted as a record (no buttons), its grant is scheduled, and no
 * approver is asked or reminded. Only an unflagged pending request can be auto-approved.
 */
export function autoApprove(request: AccessRequest, rule: string, now: Date): Result<Transition> {
  if (request.status !== 'pending') return err(notIn(request, ['pending']));
  // evaluate() never auto-approves a flagged request; this keeps any other caller from doing so.
  if (request.flags.length > 0) throw new Error(`request ${request.id} is flagged; a flagged request is never auto-approved`);
  return ok({
    next: bump(request, { status: 'approved', decidedAt: now, grantAfter: now, autoApprovedBy: rule }),
    audit: {
      action: 'request.auto-approved',
      actor: request.requesterId,
      details: { resource: request.resource, role: request.role, durationMs: request.durationMs, reason: request.reason, rule },
    },
    effects: [{ type: 'post-cards' }, { type: 'schedule-grant', at: now }],
  });
}

export interface ReviewInput {
  deciderId: string;
  /** The Slack user groups the decider is in, resolved by the use case; none by default. */
  deciderGroups?: readonly string[] | undefined;
  outcome: 'approve' | 'deny';
  reason: string | null;
}

/**
 * An approver's click. Refusals come back as errors (the caller audits them); the deciding approval moves
 * the request to `approved` and schedules the grant after the role's approval grace; a deny ends the request
 * at once.
 *
 * Deny beats approve: a deny that lands while the request is `approved` but its grant has not started (the
 * grace, plus any wait for a worker) still ends it, whatever approvals came first. Clicks from several
 * approvers cross in flight (each sees a card with buttons); the grace makes "who clicked first" irrelevant
 * for a deny. Once the grant job has claimed the request (`startGrant`), a deny is refused: what is granted
 * is taken back by a revoke, never by a decision. The row lock and compare-and-swap in the store order the
 * claim and the deny, so exactly one of them wins, whatever the processes' clocks say.
 */
export function review(
  request: AccessRequest,
  decisions: Decision[],
  policy: Policy,
  input: ReviewInput,
  now: Date,
): Result<Transition> {
  const refusal = checkDecider(policy, request, input.deciderId, input.deciderGroups ?? []);
  if (refusal) return err(refusal);
  const mine = decisions.find((d) => d.approverId === input.deciderId);
  const overrides = input.outcome === 'deny' && denyMayOverride(request);
  if (request.status !== 'pending' && !overrides) {
    return err({ code: 'NOT_PENDING', requestId: request.id, status: request.status, decidedBy: decisions.map((d) => d.approverId) });
  }
  if (mine) return err({ code: 'ALREADY_DECIDED', requestId: request.id, outcome: mine.outcome });

  const decision: Decision = { approverId: input.deciderId, outcome: input.outcome, reason: input.reason, at: now };
  if (input.outcome === 'deny') {
    const overridden = overrides ? { overrodeApprovals: approvalsOf(decisions).map((d) => d.approverId) } : {};
    return ok({
      next: bump(request, { status: 'denied', decidedAt: now, grantAfter: null }),
      decision,
      audit: { action: 'request.denied', actor: input.deciderId, details: { reason: input.reason, ...overridden } },
      effects: [{ type: 'refresh-cards' }, { type: 'notify-requester', notice: 'denied' }],
    });
  }
  const approvals = approvalsOf(decisions).length + 1;
  if (approvals < request.approvalsRequired) {
    return ok({
      next: bump(request, {}),
      decision,
      audit: { action: 'request.approval-recorded', actor: input.deciderId, details: { approvals, required: request.approvalsRequired } },
      effects: [{ type: 'refresh-cards' }],
    });
  }
  const grantAfter = new Date(now.getTime() + approvalGraceOf(policy, request));
  return ok({
    next: bump(request, { status: 'approved', decidedAt: now, grantAfter }),
    decision,
    audit: {
      action: 'request.approved',
      actor: input.deciderId,
      details: { approvals, required: request.approvalsRequired, grantAfter: grantAfter.toISOString() },
    },
    effects: [{ type: 'refresh-cards' }, { type: 'schedule-grant', at: grantAfter }],
  });
}

/** Approved by people, grant not started yet: a deny still ends it. Never an auto-approved or break-glass request. */
export function denyMayOverride(request: AccessRequest): boolean {
  return (
    request.status === 'approved' &&
    request.grantStartedAt === null &&
    request.autoApprovedBy === null &&
    !request.flags.some((f) => f.code === BREAK_GLASS_FLAG)
  );
}

function approvalGraceOf(policy: Policy, request: AccessRequest): number {
  const found = findRole(policy, request.resource, request.role);
  return found.ok ? (found.value.approvalGraceMs ?? DEFAULT_APPROVAL_GRACE_MS) : DEFAULT_APPROVAL_GRACE_MS;
}

/**
 * The grant job claims an approved request before it calls the provider. From then on a deny is refused; if a
 * deny was saved first, this fails and nothing is granted.
 */
export function startGrant(request: AccessRequest, now: Date): Result<Transition> {
  if (request.status !== 'approved' || request.grantStartedAt !== null) return err(notIn(request, ['approved']));
  return ok({
    next: bump(request, { grantStartedAt: now }),
    audit: { action: 'grant.started', actor: SYSTEM_ACTOR, details: {} },
    effects: [],
  });
}
