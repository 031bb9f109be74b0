/** A requester asks for a role: check the policy, resolve their identity on the target, record, post cards. */
import { err, ok, type Result } from '../domain/errors.js';
import { checkRequest, principalFor } from '../domain/policy.js';
import { submit } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import { runEffects } from './effects.js';
import type { RequestSnapshot } from './ports.js';

export interface SubmitInput {
  requesterId: string;
  resource: string;
  role: string;
  durationMs: number;
  reason: string;
}

export async function submitRequest(deps: UseCaseDeps, input: SubmitInput): Promise<Result<RequestSnapshot>> {
  const policy = deps.policy.current();
  const checked = checkRequest(policy, input);
  if (!checked.ok) {
    await deps.store.audit({ action: 'request.refused', actor: input.requesterId, details: { ...input, code: checked.error.code } });
    return checked;
  }
  const email = Object.hasOwn(policy.principals, input.requesterId) ? null : await deps.directory.emailOf(input.requesterId);
  const principal = principalFor(policy, input.resource, input.requesterId, email);
  if (!principal) {
    await deps.store.audit({ action: 'request.refused', actor: input.requesterId, details: { ...input, code: 'NO_PRINCIPAL' } });
    return err({ code: 'NO_PRINCIPAL', userId: input.requesterId });
  }
  const rolePolicy = checked.value;
  const now = deps.clock.now();
  const transition = submit({
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
    approvalsRequired: rolePolicy.approvals,
    channel: rolePolicy.channel,
    createdAt: now,
    pendingUntil: new Date(now.getTime() + rolePolicy.requestTtlMs),
    remindAt: rolePolicy.remindAfterMs === null ? null : new Date(now.getTime() + rolePolicy.remindAfterMs),
    warnBeforeMs: rolePolicy.warnBeforeMs,
    escalateAt: rolePolicy.escalation ? new Date(now.getTime() + rolePolicy.escalation.afterMs) : null,
    escalationChannel: rolePolicy.escalation?.channel ?? null,
  });
  const { notificationIds } = await deps.store.create(transition);
  await runEffects(deps, transition, notificationIds);
  return ok({ request: transition.next, decisions: [] });
}
