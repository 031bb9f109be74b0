/**
 * More time on an active grant. Asking creates an extension request that the role's approvers decide like
 * any other (its card says what it extends), with the same scrutiny: the role's justification rules, risk flags
 * raised afresh for the whole window, `flagged_approvals` when flagged, and never fewer approvals than the grant
 * it lengthens needed; once approved, the grant job applies it: the target's own
 * expiry is renewed where one exists, then the grant's window, its revoke and its warning move later in
 * one transaction with the extension, so an extension is applied once and the revoke is moved, never doubled.
 */
import { err, ok, type Result } from '../domain/errors.js';
import { checkJustification } from '../domain/evaluate.js';
import { findRole } from '../domain/policy.js';
import { HISTORY_LOOKBACK_MS, riskFlags } from '../domain/risk.js';
import { applyExtension, checkExtension, submit, type AccessRequest } from '../domain/request.js';
import { createAndRunEffects } from './ambiguous-write.js';
import type { UseCaseDeps } from './deps.js';
import { runEffects } from './effects.js';
import { addedBy } from './grant-scope.js';
import type { RequestSnapshot } from './ports.js';

export interface ExtendInput {
  requestId: string;
  requesterId: string;
  durationMs: number;
  reason: string;
}

export async function requestExtension(deps: UseCaseDeps, input: ExtendInput): Promise<Result<RequestSnapshot>> {
  const snapshot = await deps.store.get(input.requestId);
  // Someone else's request id is answered as unknown, so ids cannot be probed.
  if (!snapshot || snapshot.request.requesterId !== input.requesterId) return err({ code: 'NOT_FOUND', requestId: input.requestId });
  const original = snapshot.request;
  const role = findRole(deps.policy.current(), original.resource, original.role);
  if (!role.ok) return role;
  const pending = await deps.store.pendingExtensionOf(original.id);
  const refusal = checkExtension(original, {
    requesterId: input.requesterId,
    durationMs: input.durationMs,
    maxTotalMs: role.value.maxTotalMs ?? role.value.maxDurationMs,
    pendingExtension: pending !== null,
  });
  // The role's justification rules apply to the reason for more time as to any reason (decision 16).
  const refused = refusal ?? checkJustification(role.value, input.reason);
  if (refused) {
    await deps.store.audit({ action: 'extension.refused', actor: input.requesterId, details: { code: refused.code, durationMs: input.durationMs } }, original.id);
    return err(refused);
  }
  const now = deps.clock.now();
  const ttlEnd = now.getTime() + role.value.requestTtlMs;
  // As much scrutiny as the grant it lengthens, and as a new request would get now: the risk flags are raised
  // afresh for the whole window asked for, and a flagged extension needs the role's `flagged_approvals`.
  const history = await deps.store.recentRequestsOf(original.requesterId, new Date(now.getTime() - HISTORY_LOOKBACK_MS));
  const subject = { resource: original.resource, role: original.role, durationMs: original.durationMs + input.durationMs };
  const flags = riskFlags(role.value.risk, subject, history, now);
  const flagged = flags.length > 0 ? (role.value.risk?.flaggedApprovals ?? 0) : 0;
  const transition = submit({
    id: deps.newId(),
    extendsId: original.id,
    platform: original.platform,
    requesterId: original.requesterId,
    principal: original.principal,
    resource: original.resource,
    role: original.role,
    grants: [...original.grants],
    durationMs: input.durationMs,
    reason: input.reason,
    approvalsRequired: Math.max(role.value.approvals, flagged, original.approvalsRequired),
    channel: role.value.channel,
    createdAt: now,
    // An extension nobody decided before the grant ends is moot: it expires with the grant at the latest.
    pendingUntil: new Date(Math.min(ttlEnd, (original.expiresAt ?? now).getTime())),
    remindAt: role.value.remindAfterMs === null ? null : new Date(now.getTime() + role.value.remindAfterMs),
    warnBeforeMs: 0,
    escalateAt: role.value.escalation ? new Date(now.getTime() + role.value.escalation.afterMs) : null,
    escalationChannel: role.value.escalation?.channel ?? null,
    flags,
  });
  await createAndRunEffects(deps, transition); // a lost commit reply is re-read by the new id
  return ok({ request: transition.next, decisions: [] });
}

/**
 * The grant job of an approved extension (called by activate-grant under the target lock). Provider errors
 * propagate, so the job retries like a grant; the extension is then applied to the grant in one step.
 */
export async function applyApprovedExtension(deps: UseCaseDeps, extension: AccessRequest): Promise<'activated' | 'failed'> {
  const originalId = extension.extendsId as string;
  const original = await deps.store.get(originalId);
  const role = findRole(deps.policy.current(), extension.resource, extension.role);
  const maxTotalMs = role.ok ? (role.value.maxTotalMs ?? role.value.maxDurationMs) : 0;
  if (original && original.request.status === 'active' && original.request.expiresAt) {
    // Renew the target's own expiry (a condition, a policy date) for the lengthened window first; where the
    // target has none this is a harmless repeat of the grant.
    const provider = deps.providers.forResource(original.request.resource);
    const newEnd = new Date(original.request.expiresAt.getTime() + extension.durationMs);
    if (original.request.durationMs + extension.durationMs <= maxTotalMs) {
      const grants = await addedBy(deps.store, provider, original.request);
      await provider.grant({ requestId: originalId, principal: original.request.principal, grants, expiresAt: newEnd });
    }
  }
  const outcome = await deps.store.applyTogether([extension.id, originalId], ([e, o]) =>
    applyExtension((e as RequestSnapshot).request, (o as RequestSnapshot).request, maxTotalMs, deps.clock.now()),
  );
  if (!outcome.ok) return 'failed';
  for (const { transition, notificationIds } of outcome.applied) await runEffects(deps, transition, notificationIds);
  return outcome.applied[0]?.transition.next.status === 'applied' ? 'activated' : 'failed';
}
