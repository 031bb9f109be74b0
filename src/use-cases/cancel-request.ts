/** The requester withdraws a pending request; its cards are retired and late clicks are refused. */
import { ok, type Result } from '../domain/errors.js';
import { cancel } from '../domain/request.js';
import { applyOrConfirm } from './ambiguous-write.js';
import type { UseCaseDeps } from './deps.js';
import { runEffects } from './effects.js';
import type { RequestSnapshot } from './ports.js';

export async function cancelRequest(deps: UseCaseDeps, input: { requestId: string; actorId: string }): Promise<Result<RequestSnapshot>> {
  // A lost commit reply is re-read: the request being cancelled is what was asked for.
  const outcome = await applyOrConfirm(
    deps,
    input.requestId,
    (s) => cancel(s.request, s.decisions, input.actorId),
    (s, t) => s.request.status === t.next.status,
    { write: 'cancel', user: input.actorId },
  );
  if (!outcome.ok) {
    await deps.store.audit({ action: 'cancel.refused', actor: input.actorId, details: { code: outcome.error.code } }, input.requestId);
    return outcome;
  }
  await runEffects(deps, outcome.transition, outcome.notificationIds);
  return ok({ request: outcome.transition.next, decisions: (await deps.store.get(input.requestId))?.decisions ?? [] });
}
