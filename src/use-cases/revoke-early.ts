/**
 * Access given back before the window ends: by the requester ("I'm done"), or by an approver or admin of
 * the role, with a reason. The request moves to `revoking` at once and its revoke job is brought forward; the
 * job revokes, exactly once, however this races with the scheduled revoke.
 */
import { ok, type Result } from '../domain/errors.js';
import { requestRevoke } from '../domain/request.js';
import { applyOrConfirm } from './ambiguous-write.js';
import type { UseCaseDeps } from './deps.js';
import { runEffects } from './effects.js';
import { groupsOf } from './groups.js';
import type { RequestSnapshot } from './ports.js';

export async function revokeEarly(
  deps: UseCaseDeps,
  input: { requestId: string; actorId: string; note: string | null },
): Promise<Result<RequestSnapshot>> {
  const policy = deps.policy.current();
  // An approver through a user group may revoke too; resolved before the row lock is taken.
  const actorGroups = await groupsOf(deps, policy, input.actorId);
  // A lost commit reply is re-read: the grant being revoked (or already revoked) is what was asked for.
  const outcome = await applyOrConfirm(
    deps,
    input.requestId,
    (s) => requestRevoke(s.request, policy, { actorId: input.actorId, note: input.note, actorGroups }, deps.clock.now()),
    (s) => s.request.status === 'revoking' || s.request.status === 'revoked',
    { write: 'revoke-early', user: input.actorId },
  );
  if (!outcome.ok) {
    await deps.store.audit({ action: 'revoke.refused', actor: input.actorId, details: { code: outcome.error.code } }, input.requestId);
    return outcome;
  }
  await runEffects(deps, outcome.transition, outcome.notificationIds);
  return ok({ request: outcome.transition.next, decisions: (await deps.store.get(input.requestId))?.decisions ?? [] });
}
