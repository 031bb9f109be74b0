/** The requester withdraws a pending request; its cards are retired and late clicks are refused. */
import { ok, type Result } from '../domain/errors.js';
import { cancel } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import { runEffects } from './effects.js';
import type { RequestSnapshot } from './ports.js';

export async function cancelRequest(deps: UseCaseDeps, input: { requestId: string; actorId: string }): Promise<Result<RequestSnapshot>> {
  const outcome = await deps.store.apply(input.requestId, (s) => cancel(s.request, s.decisions, input.actorId));
  if (!outcome.ok) {
    await deps.store.audit({ action: 'cancel.refused', actor: input.actorId, details: { code: outcome.error.code } }, input.requestId);
    return outcome;
  }
  await runEffects(deps, outcome.transition, outcome.notificationIds);
  return ok({ request: outcome.transition.next, decisions: (await deps.store.get(input.requestId))?.decisions ?? [] });
}
