/**
 * Button clicks: approve, deny, acknowledge (break-glass), revoke, cancel, extend, and "Request access" on the App Home. The card itself is
 * updated from the outbox, for everyone; a click in the App Home also republishes the clicker's Home at once.
 */
import type { App, BlockButtonAction } from '@slack/bolt';
import { cancelRequest } from '../../../use-cases/cancel-request.js';
import type { UseCaseDeps } from '../../../use-cases/deps.js';
import { reviewRequest } from '../../../use-cases/review-request.js';
import { acknowledgeRequest } from '../../../use-cases/break-glass.js';
import { revokeEarly } from '../../../use-cases/revoke-early.js';
import { extendModal } from '../blocks.js';
import {
  ACTION_ACKNOWLEDGE,
  ACTION_APPROVE,
  ACTION_CANCEL,
  ACTION_DENY,
  ACTION_EXTEND,
  ACTION_OPEN_REQUEST_FORM,
  ACTION_REVOKE,
  DENY_REASON_ACTION,
  DENY_REASON_BLOCK,
  REVOKE_REASON_ACTION,
  REVOKE_REASON_BLOCK,
} from '../ids.js';
import { REASON_MAX_LENGTH, reasonProblem } from '../../../domain/command.js';
import { openRequestForm } from './ack-budget.js';
import { MISMATCHED_BUTTON, buttonRequestId, clickedInHome, outcomeText, refreshClickersHome, revokingText, settle, settleResult, tellClicker } from './replies.js';

/** What was typed in a card's reason box: none, the note (Slack caps the box at 500), or why it is refused. */
function typedReason(value: string | null | undefined): { note: string | null } | { problem: string } {
  const text = value?.trim() ?? '';
  if (text === '') return { note: null };
  const problem = reasonProblem(text);
  return problem ? { problem: `Nothing was changed: ${problem}.` } : { note: text.slice(0, REASON_MAX_LENGTH) };
}

export function registerActions(app: App, deps: UseCaseDeps): void {
  app.action<BlockButtonAction>({ type: 'block_actions', action_id: new RegExp(`^(${ACTION_APPROVE}|${ACTION_DENY})$`) }, async ({ ack, body, action, client }) => {
    await ack();
    const deciderId = body.user.id;
    const requestId = buttonRequestId(action);
    if (!requestId) return tellClicker(client, null, body, MISMATCHED_BUTTON);
    const deny = action.action_id === ACTION_DENY;
    const typed = deny ? typedReason(body.state?.values?.[DENY_REASON_BLOCK]?.[DENY_REASON_ACTION]?.value) : { note: null };
    if ('problem' in typed) return tellClicker(client, null, body, typed.problem);
    const outcome = await settleResult(
      deps,
      () =>
        reviewRequest(deps, {
          requestId,
          deciderId,
          outcome: deny ? 'deny' : 'approve',
          reason: typed.note,
        }),
      { user: deciderId, action: action.action_id },
    );
    if (!outcome.ok) await tellClicker(client, null, body, outcomeText(outcome));
    await refreshClickersHome(deps, body);
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_REVOKE }, async ({ ack, body, action, client, respond }) => {
    await ack();
    const actorId = body.user.id;
    const requestId = buttonRequestId(action);
    if (!requestId) return tellClicker(client, respond, body, MISMATCHED_BUTTON);
    const typed = typedReason(body.state?.values?.[REVOKE_REASON_BLOCK]?.[REVOKE_REASON_ACTION]?.value);
    if ('problem' in typed) return tellClicker(client, respond, body, typed.problem);
    const note = typed.note;
    const outcome = await settleResult(deps, () => revokeEarly(deps, { requestId, actorId, note }), { user: actorId, action: action.action_id });
    // In the Home, the republished Home shows "Being revoked…"; elsewhere the clicker is told here.
    if (!outcome.ok || !clickedInHome(body)) await tellClicker(client, respond, body, outcome.ok ? revokingText(outcome.value) : outcomeText(outcome));
    await refreshClickersHome(deps, body);
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_ACKNOWLEDGE }, async ({ ack, body, action, client }) => {
    await ack();
    const actorId = body.user.id;
    const requestId = buttonRequestId(action);
    if (!requestId) return tellClicker(client, null, body, MISMATCHED_BUTTON);
    const outcome = await settleResult(deps, () => acknowledgeRequest(deps, { requestId, actorId }), { user: actorId, action: action.action_id });
    // The card itself says "Acknowledged by …" once refreshed; only a refusal is told, privately.
    if (!outcome.ok) await tellClicker(client, null, body, outcomeText(outcome));
    await refreshClickersHome(deps, body);
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_CANCEL }, async ({ ack, body, action, client, respond }) => {
    await ack();
    const actorId = body.user.id;
    const requestId = buttonRequestId(action);
    if (!requestId) return tellClicker(client, respond, body, MISMATCHED_BUTTON);
    const outcome = await settleResult(deps, () => cancelRequest(deps, { requestId, actorId }), { user: actorId, action: action.action_id });
    if (!outcome.ok || !clickedInHome(body)) {
      await tellClicker(client, respond, body, outcome.ok ? `Request \`${requestId}\` is cancelled.` : outcomeText(outcome));
    }
    await refreshClickersHome(deps, body);
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_EXTEND }, async ({ ack, body, action, client, respond }) => {
    await ack();
    const requestId = buttonRequestId(action);
    if (!requestId) return tellClicker(client, respond, body, MISMATCHED_BUTTON);
    // trigger_id lives ~3 s: open the form first; whether the grant may be extended is checked on submit. The
    // one read before it is by primary key; a store that does not answer is said, not swallowed.
    const found = await settle(deps, () => deps.store.get(requestId), { user: body.user.id, action: ACTION_EXTEND });
    if (!found.ok) return tellClicker(client, respond, body, outcomeText(found));
    const snapshot = found.value;
    if (!snapshot || snapshot.request.requesterId !== body.user.id) {
      return tellClicker(client, respond, body, outcomeText({ ok: false, error: { code: 'NOT_FOUND', requestId } }));
    }
    await client.views.open({ trigger_id: body.trigger_id, view: extendModal(snapshot.request) });
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_OPEN_REQUEST_FORM }, async ({ ack, body, client }) => {
    await ack();
    await openRequestForm(deps, client, body.user.id, body.trigger_id);
  });
}
