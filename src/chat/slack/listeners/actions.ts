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
import { requestableFor } from '../../../use-cases/groups.js';
import { extendModal, requestModal } from '../blocks.js';
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
import { REASON_MAX_LENGTH } from '../../../domain/command.js';
import { clickedInHome, outcomeText, refreshClickersHome, revokingText, settleResult, tellClicker } from './replies.js';

const typedReason = (value: string | null | undefined): string | null => (value?.trim() ? value.trim().slice(0, REASON_MAX_LENGTH) : null);

export function registerActions(app: App, deps: UseCaseDeps): void {
  app.action<BlockButtonAction>({ type: 'block_actions', action_id: new RegExp(`^(${ACTION_APPROVE}|${ACTION_DENY})$`) }, async ({ ack, body, action, client }) => {
    await ack();
    const deciderId = body.user.id;
    const deny = action.action_id === ACTION_DENY;
    const outcome = await settleResult(
      deps,
      () =>
        reviewRequest(deps, {
          requestId: action.value ?? '',
          deciderId,
          outcome: deny ? 'deny' : 'approve',
          reason: deny ? typedReason(body.state?.values?.[DENY_REASON_BLOCK]?.[DENY_REASON_ACTION]?.value) : null,
        }),
      { user: deciderId, action: action.action_id },
    );
    if (!outcome.ok) await tellClicker(client, null, body, outcomeText(outcome));
    await refreshClickersHome(deps, body);
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_REVOKE }, async ({ ack, body, action, client, respond }) => {
    await ack();
    const actorId = body.user.id;
    const note = typedReason(body.state?.values?.[REVOKE_REASON_BLOCK]?.[REVOKE_REASON_ACTION]?.value);
    const outcome = await settleResult(deps, () => revokeEarly(deps, { requestId: action.value ?? '', actorId, note }), { user: actorId, action: action.action_id });
    // In the Home, the republished Home shows "Being revoked…"; elsewhere the clicker is told here.
    if (!outcome.ok || !clickedInHome(body)) await tellClicker(client, respond, body, outcome.ok ? revokingText(outcome.value) : outcomeText(outcome));
    await refreshClickersHome(deps, body);
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_ACKNOWLEDGE }, async ({ ack, body, action, client }) => {
    await ack();
    const actorId = body.user.id;
    const outcome = await settleResult(deps, () => acknowledgeRequest(deps, { requestId: action.value ?? '', actorId }), { user: actorId, action: action.action_id });
    // The card itself says "Acknowledged by …" once refreshed; only a refusal is told, privately.
    if (!outcome.ok) await tellClicker(client, null, body, outcomeText(outcome));
    await refreshClickersHome(deps, body);
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_CANCEL }, async ({ ack, body, action, client, respond }) => {
    await ack();
    const actorId = body.user.id;
    const outcome = await settleResult(deps, () => cancelRequest(deps, { requestId: action.value ?? '', actorId }), { user: actorId, action: action.action_id });
    if (!outcome.ok || !clickedInHome(body)) {
      await tellClicker(client, respond, body, outcome.ok ? `Request \`${action.value ?? ''}\` is cancelled.` : outcomeText(outcome));
    }
    await refreshClickersHome(deps, body);
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_EXTEND }, async ({ ack, body, action, client, respond }) => {
    await ack();
    // trigger_id lives ~3 s: open the form first; whether the grant may be extended is checked on submit.
    const snapshot = await deps.store.get(action.value ?? '');
    if (!snapshot || snapshot.request.requesterId !== body.user.id) {
      await tellClicker(client, respond, body, outcomeText({ ok: false, error: { code: 'NOT_FOUND', requestId: action.value ?? '' } }));
      return;
    }
    await client.views.open({ trigger_id: body.trigger_id, view: extendModal(snapshot.request) });
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_OPEN_REQUEST_FORM }, async ({ ack, body, client }) => {
    await ack();
    // trigger_id lives ~3 s and is single-use: open the form before anything slow (as `/access request` does).
    await client.views.open({ trigger_id: body.trigger_id, view: requestModal(await requestableFor(deps, body.user.id)) });
  });
}
