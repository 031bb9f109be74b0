/**
 * A requester asks for a role: the policy engine decides what happens (refuse, auto-approve, or ask N
 * approvers, flagging what stands out), their identity on the target is resolved, the request is recorded
 * and its card posted. For a role that can auto-approve, one person's submissions for it are serialised, so
 * the rate brake (`max_per_day`) counts every earlier auto-approval, even one a moment ago.
 */
import { err, ok, type Result } from '../domain/errors.js';
import { evaluate } from '../domain/evaluate.js';
import { findRole, principalFor, type Policy } from '../domain/policy.js';
import { autoApprove, submit, type Transition } from '../domain/request.js';
import { HISTORY_LOOKBACK_MS } from '../domain/risk.js';
import { createAndRunEffects } from './ambiguous-write.js';
import type { UseCaseDeps } from './deps.js';
import { groupsOf } from './groups.js';
import type { RequestSnapshot } from './ports.js';

export interface SubmitInput {
  requesterId: string;
  resource: string;
  role: string;
  /** Null: left empty on the request form; the role's `default_duration` is used (refused if it has none). */
  durationMs: number | null;
  reason: string;
}

export async function submitRequest(deps: UseCaseDeps, input: SubmitInput): Promise<Result<RequestSnapshot>> {
  const role = findRole(deps.policy.current(), input.resource, input.role);
  if (!role.ok || !role.value.autoApprove) return decideAndRecord(deps, input);
  // The target lock is taken on a key of its own (no target is named "requester:…"): one person, one role.
  return deps.store.withTargetLock(`${input.resource}/${input.role}`, `requester:${input.requesterId}`, () => decideAndRecord(deps, input));
}

async function decideAndRecord(deps: UseCaseDeps, given: SubmitInput): Promise<Result<RequestSnapshot>> {
  const policy = deps.policy.current();
  const now = deps.clock.now();
  const input = { ...given, durationMs: given.durationMs ?? defaultDuration(policy, given) };
  const groups = await groupsOf(deps, policy, input.requesterId);
  const history = await deps.store.recentRequestsOf(input.requesterId, new Date(now.getTime() - HISTORY_LOOKBACK_MS));
  const verdict = evaluate(policy, input, history, now, groups);
  if (verdict.outcome === 'deny') {
    await deps.store.audit({ action: 'request.refused', actor: input.requesterId, details: { ...input, code: verdict.error.code } });
    return err(verdict.error);
  }
  const email = Object.hasOwn(policy.principals, input.requesterId) ? null : await deps.directory.emailOf(input.requesterId);
  const principal = principalFor(policy, input.resource, input.requesterId, email);
  if (!principal) {
    await deps.store.audit({ action: 'request.refused', actor: input.requesterId, details: { ...input, code: 'NO_PRINCIPAL' } });
    return err({ code: 'NO_PRINCIPAL', userId: input.requesterId });
  }
  const { rolePolicy } = verdict;
  const submitted = submit({
    id: deps.newId(),
    extendsId: null,
    platform: 'slack',
    requesterId: input.requesterId,
    principal,
    resource: input.resource,
    role: input.role,
    grants: [...rolePolicy.grants],
    durationMs: input.durationMs,
    reason: input.reason,
    approvalsRequired: verdict.outcome === 'needs-approval' ? verdict.approvals : rolePolicy.approvals,
    channel: rolePolicy.channel,
    createdAt: now,
    pendingUntil: new Date(now.getTime() + rolePolicy.requestTtlMs),
    remindAt: rolePolicy.remindAfterMs === null ? null : new Date(now.getTime() + rolePolicy.remindAfterMs),
    warnBeforeMs: rolePolicy.warnBeforeMs,
    escalateAt: rolePolicy.escalation ? new Date(now.getTime() + rolePolicy.escalation.afterMs) : null,
    escalationChannel: rolePolicy.escalation?.channel ?? null,
    flags: verdict.outcome === 'needs-approval' ? verdict.flags : [],
  });
  const transition = verdict.outcome === 'auto-approve' ? autoApproved(submitted, verdict.rule, now) : withWhyNot(submitted, verdict.notAutoApproved);
  // A lost commit reply is re-read by the id generated above: a request that was saved is confirmed, not redone.
  await createAndRunEffects(deps, transition);
  return ok({ request: transition.next, decisions: [] });
}

/**
 * The role's `default_duration` for a form left empty. A role without one gets an impossible duration, so
 * the request is refused as too long (DURATION_TOO_LONG names the maximum) rather than silently granted
 * the maximum; the form requires a duration for such roles anyway.
 */
function defaultDuration(policy: Policy, input: Pick<SubmitInput, 'resource' | 'role'>): number {
  const role = findRole(policy, input.resource, input.role);
  if (!role.ok) return 0; // evaluate() refuses the unknown role
  return role.value.defaultDurationMs ?? Number.POSITIVE_INFINITY;
}

/** Saved approved at once: one row, one audit entry (`request.auto-approved`), the card, the grant job. */
function autoApproved(submitted: Transition, rule: string, now: Date): Transition {
  const approved = autoApprove(submitted.next, rule, now);
  if (!approved.ok) throw new Error(`auto-approval refused: ${approved.error.code}`);
  return approved.value;
}

/** A role that could have auto-approved says in the audit entry why it did not. */
function withWhyNot(submitted: Transition, why: string | null): Transition {
  if (why === null) return submitted;
  return { ...submitted, audit: { ...submitted.audit, details: { ...submitted.audit.details, notAutoApproved: why } } };
}
