/**
 * The interactive parts shared by the renderers: the approve/deny controls (card and reminder), the revoke
 * controls (card, requester DMs, `/access list`) and the cancel button. Each button's `value` is the request id
 * and its block id is `decisionBlockId(request id)`; the listeners read both (see `ids.ts`).
 */
import type { types } from '@slack/bolt';
import { REASON_MAX_LENGTH } from '../../domain/command.js';
import type { AccessRequest } from '../../domain/request.js';
import {
  ACTION_ACKNOWLEDGE,
  ACTION_APPROVE,
  ACTION_CANCEL,
  ACTION_DENY,
  ACTION_REVOKE,
  DENY_REASON_ACTION,
  DENY_REASON_BLOCK,
  REVOKE_REASON_ACTION,
  REVOKE_REASON_BLOCK,
  decisionBlockId,
 ACTION_EXTEND } from './ids.js';
import { actions, button, confirmDialog, plain } from './format.js';

type Named = Pick<AccessRequest, 'id' | 'resource' | 'role'>;

/** The optional deny reason and the Approve / Deny buttons, for a pending request. */
/** `deny-only`: an approved request in its approval grace, where a deny still wins and an approval adds nothing. */
export function decisionControls(request: Named, offer: 'approve-or-deny' | 'deny-only' = 'approve-or-deny'): types.KnownBlock[] {
  const denyReason: types.InputBlock = {
    type: 'input',
    block_id: DENY_REASON_BLOCK,
    optional: true,
    label: plain('Reason for denying (optional)'),
    element: {
      type: 'plain_text_input',
      action_id: DENY_REASON_ACTION,
      max_length: REASON_MAX_LENGTH,
      placeholder: plain('Shown to the requester if you deny'),
    },
  };
  return [
    denyReason,
    actions(decisionBlockId(request.id), [
      ...(offer === 'approve-or-deny' ? [button('Approve', ACTION_APPROVE, request.id, { style: 'primary' })] : []),
      button('Deny', ACTION_DENY, request.id, { style: 'danger' }),
    ]),
  ];
}

/**
 * A Revoke button. `whose` words the confirmation: the requester gives their own access back, an approver or
 * admin ends someone else's (and must give a reason, typed in the box on the card or after the id).
 */
export function revokeButton(request: Named, label: string, whose: 'own' | 'theirs'): types.Button {
  const target = `${request.resource} / ${request.role}`;
  const confirm =
    whose === 'own'
      ? confirmDialog('Give the access back now?', `Your access to ${target} ends now, before its window does. You can request it again later.`, 'Revoke now', 'Keep it', 'danger')
      : confirmDialog(
          'Revoke this access now?',
          `The requester's access to ${target} ends now, before its window does. They are told who revoked it and the reason typed above.`,
          'Revoke',
          'Keep it',
          'danger',
        );
  return button(label, ACTION_REVOKE, request.id, { style: 'danger', confirm });
}

/** The Acknowledge button of a break-glass card not yet acknowledged. */
export function acknowledgeButton(request: Named): types.Button {
  return button('Acknowledge', ACTION_ACKNOWLEDGE, request.id, { style: 'primary' });
}

/**
 * The card's revoke controls while the request is active: an optional reason (required by the domain for anyone
 * but the requester) and Revoke, after an Acknowledge button when given one (`acknowledge`).
 */
export function revokeControls(request: Named, acknowledge = false): types.KnownBlock[] {
  const reason: types.InputBlock = {
    type: 'input',
    block_id: REVOKE_REASON_BLOCK,
    optional: true,
    label: plain('Reason for revoking early'),
    hint: plain("Needed to revoke someone else's access; shown to the requester."),
    element: {
      type: 'plain_text_input',
      action_id: REVOKE_REASON_ACTION,
      max_length: REASON_MAX_LENGTH,
      placeholder: plain('e.g. incident closed, no longer needed'),
    },
  };
  const buttons = [...(acknowledge ? [acknowledgeButton(request)] : []), revokeButton(request, 'Revoke', 'theirs')];
  return [reason, actions(decisionBlockId(request.id), buttons)];
}

/** "Revoke now" on the requester's own DMs. */
export function revokeNowActions(request: Named): types.ActionsBlock {
  return actions(decisionBlockId(request.id), [revokeButton(request, 'Revoke now', 'own'), button('Extend', ACTION_EXTEND, request.id)]);
}

/** "Cancel request" on the requester's "request sent" confirmation. */
export function cancelActions(request: Named): types.ActionsBlock {
  return actions(decisionBlockId(request.id), [button('Cancel request', ACTION_CANCEL, request.id)]);
}
