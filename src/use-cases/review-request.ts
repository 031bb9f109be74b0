/**
 * An approver clicks Approve or Deny. The clicker is checked against the policy in force now; the decision
 * is recorded under the request's row lock, so concurrent and repeated clicks yield exactly one outcome.
 * Every refused attempt is audited. A click whose commit reply was lost is answered from a re-read
 * (`ambiguous-write.ts`).
 */
import { ok, type Result } from '../domain/errors.js';
import { review, type ReviewInput } from '../domain/request.js';
import { applyOrConfirm } from './ambiguous-write.js';
import type { UseCaseDeps } from './deps.js';
import { runEffects } from './effects.js';
import { groupsOf } from './groups.js';
import type { RequestSnapshot } from './ports.js';

export async function reviewRequest(
  deps: UseCaseDeps,
  input: ReviewInput & { requestId: string },
): Promise<Result<RequestSnapshot>> {
  const policy = deps.policy.current();
  const now = deps.clock.now();
  // Resolved before the row lock: a directory call (possibly a Slack API call) is never made while holding it.
  const deciderGroups = input.deciderGroups ?? (await groupsOf(deps, policy, input.deciderId));
  // A lost reply is re-read: the click was recorded if this decider's decision, with this outcome, is there.
  const outcome = await applyOrConfirm(
    deps,
    input.requestId,
    (s) => review(s.request, s.decisions, policy, { ...input, deciderGroups }, now),
    (s) => s.decisions.some((d) => d.approverId === input.deciderId && d.outcome === input.outcome),
    { write: 'review', user: input.deciderId },
  );
  if (!outcome.ok) {
    await deps.store.audit(
      { action: 'decision.refused', actor: input.deciderId, details: { outcome: input.outcome, code: outcome.error.code } },
      input.requestId,
    );
    return outcome;
  }
  await runEffects(deps, outcome.transition, outcome.notificationIds);
  const snapshot = await deps.store.get(input.requestId);
  return ok(snapshot ?? { request: outcome.transition.next, decisions: [] });
}
