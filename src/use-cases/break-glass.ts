/**
 * Break-glass: a requester takes a role that allows it at once, with no approver (`breakGlass` in the domain
 * decides), and an approver or admin acknowledges the grant afterwards. Both are audited, refusals too.
 */
import { ok, type Result } from '../domain/errors.js';
import { findRole, principalFor } from '../domain/policy.js';
import { acknowledge, breakGlass } from '../domain/request.js';
import { applyOrConfirm, createAndRunEffects } from './ambiguous-write.js';
import type { UseCaseDeps } from './deps.js';
import { runEffects } from './effects.js';
import { groupsOf } from './groups.js';
import type { RequestSnapshot } from './ports.js';

export interface BreakGlassInput {
  requesterId: string;
  resource: string;
  role: string;
  durationMs: number;
  reason: string;
}

export async function breakGlassRequest(deps: UseCaseDeps, input: BreakGlassInput): Promise<Result<RequestSnapshot>> {
  const policy = deps.policy.current();
  const now = deps.clock.now();
  const groups = await groupsOf(deps, policy, input.requesterId);
  const refuse = async (code: string) => deps.store.audit({ action: 'break-glass.refused', actor: input.requesterId, details: { ...input, code } });
  const email = Object.hasOwn(policy.principals, input.requesterId) ? null : await deps.directory.emailOf(input.requesterId);
  const principal = principalFor(policy, input.resource, input.requesterId, email);
  // Own properties only: `constructor` typed as a resource is refused by `breakGlass`, not a crash here.
  const found = findRole(policy, input.resource, input.role);
  const role = found.ok ? found.value : undefined;
  const decided = breakGlass(
    policy,
    {
      id: deps.newId(),
      extendsId: null,
      platform: 'slack',
      requesterId: input.requesterId,
      principal: principal ?? '',
      resource: input.resource,
      role: input.role,
      grants: [...(role?.grants ?? [])],
      durationMs: input.durationMs,
      reason: input.reason,
      approvalsRequired: 0,
      channel: role?.channel ?? '',
      createdAt: now,
      pendingUntil: now,
      remindAt: null,
      warnBeforeMs: role?.warnBeforeMs ?? 0,
      escalateAt: null,
      escalationChannel: null,
    },
    now,
    groups,
  );
  if (!decided.ok) {
    await refuse(decided.error.code);
    return decided;
  }
  if (!principal) {
    await refuse('NO_PRINCIPAL');
    return { ok: false, error: { code: 'NO_PRINCIPAL', userId: input.requesterId } };
  }
  await createAndRunEffects(deps, decided.value); // a lost commit reply is re-read by the new id
  return ok({ request: decided.value.next, decisions: [] });
}

export async function acknowledgeRequest(deps: UseCaseDeps, input: { requestId: string; actorId: string }): Promise<Result<RequestSnapshot>> {
  const policy = deps.policy.current();
  const now = deps.clock.now();
  // Resolved before the row lock, as for a decision.
  const actorGroups = await groupsOf(deps, policy, input.actorId);
  // A lost commit reply is re-read: acknowledged by this actor is what was asked for (only one can acknowledge).
  const outcome = await applyOrConfirm(
    deps,
    input.requestId,
    (s) => acknowledge(s.request, policy, { actorId: input.actorId, actorGroups }, now),
    (s) => s.request.acknowledgedBy === input.actorId,
    { write: 'acknowledge', user: input.actorId },
  );
  if (!outcome.ok) {
    await deps.store.audit({ action: 'acknowledge.refused', actor: input.actorId, details: { code: outcome.error.code } }, input.requestId);
    return outcome;
  }
  await runEffects(deps, outcome.transition, outcome.notificationIds);
  const snapshot = await deps.store.get(input.requestId);
  return ok(snapshot ?? { request: outcome.transition.next, decisions: [] });
}
