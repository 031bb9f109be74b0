/**
 * Every Slack interaction id in one place, shared by the renderers, the listeners and `manifest.yml`
 * (`test/manifest.test.ts` checks the manifest against these). Changing one here changes the wire format of
 * cards already posted: old cards keep their old ids, so rename only with a listener for both.
 */

export const SLASH_COMMAND = '/access';

/**
 * Approve and Deny buttons on a pending approval card, repeated on the approvers' reminder. The button `value`
 * is the request id.
 */
export const ACTION_APPROVE = 'access_approve';
export const ACTION_DENY = 'access_deny';

/**
 * "Revoke" / "Revoke now": ends an active grant before its window does. On the approval card while the request is
 * `active`, on the requester's "granted" and "expiring-soon" DMs, and on each row of `/access list`. The button
 * `value` is the request id. Who clicked decides whether a reason is needed (see `REVOKE_REASON_BLOCK`).
 */
export const ACTION_REVOKE = 'access_revoke';

/**
 * "Acknowledge" on a break-glass card, until an approver of the role or an admin clicks it (the requester's own
 * click is refused). The button `value` is the request id.
 */
export const ACTION_ACKNOWLEDGE = 'access_acknowledge';

/** "Cancel request" on the requester's private "request sent" confirmation. The button `value` is the request id. */
export const ACTION_CANCEL = 'access_cancel';

/**
 * "Send again" on the admins' DM saying Slack refused a request's card for good, for once the cause is fixed
 * (decision 36). The button `value` is the request id; only a policy admin's click is carried out.
 */
export const ACTION_RESEND = 'access_resend';

/**
 * Every block of ours that holds a request's buttons (the card's actions block, a notice's actions block, a
 * `/access list` row) carries the request id in its block id too, so a listener can cross-check the button
 * value. The `req_decision:` prefix is the shape of cards already captured in fixtures; it is kept for the
 * other buttons rather than inventing a second shape.
 */
export const DECISION_BLOCK_PREFIX = 'req_decision:';

export function decisionBlockId(requestId: string): string {
  return `${DECISION_BLOCK_PREFIX}${requestId}`;
}

/** The request id in a decision block id, or null when the block id is not one of ours. */
export function requestIdOfDecisionBlock(blockId: string): string | null {
  if (!blockId.startsWith(DECISION_BLOCK_PREFIX)) return null;
  const id = blockId.slice(DECISION_BLOCK_PREFIX.length);
  return id === '' ? null : id;
}

/**
 * The optional "reason for denying" text input on a pending card. Slack sends what was typed with the
 * button click, in `state.values[DENY_REASON_BLOCK][DENY_REASON_ACTION].value` of the block_actions payload
 * (null or absent when nothing was typed). One card per message, so fixed ids are unique.
 */
export const DENY_REASON_BLOCK = 'access_deny_reason';
export const DENY_REASON_ACTION = 'deny_reason';

/**
 * The optional "reason for revoking" text input on an active card. Like the deny reason, Slack sends what was
 * typed with the Revoke click, in `state.values[REVOKE_REASON_BLOCK][REVOKE_REASON_ACTION].value`. It is
 * optional for Slack, but required by the domain (`REASON_REQUIRED`) when the clicker is not the requester.
 */
export const REVOKE_REASON_BLOCK = 'access_revoke_reason';
export const REVOKE_REASON_ACTION = 'revoke_reason';

/** The request form opened by `/access request` with no arguments. */
export const REQUEST_MODAL_CALLBACK = 'access_request_modal';

/**
 * Input ids of the request form. Slack sends them in `view.state.values[block][action]`, and validation
 * errors are keyed by the block id (`response_action: 'errors'`).
 */
export const REQUEST_MODAL = {
  /** static_select; the selected option's value is `resource/role`. */
  roleBlock: 'request_role',
  roleAction: 'role',
  /** plain_text_input, parsed with `parseDuration`. */
  durationBlock: 'request_duration',
  durationAction: 'duration',
  /** plain_text_input, multiline. */
  reasonBlock: 'request_reason',
  reasonAction: 'reason',
} as const;

/** The select option value for a resource/role pair, and its inverse (null for anything malformed). */
export function roleOptionValue(resource: string, role: string): string {
  return `${resource}/${role}`;
}

export function parseRoleOptionValue(value: string): { resource: string; role: string } | null {
  const slash = value.indexOf('/');
  if (slash <= 0 || slash === value.length - 1) return null;
  return { resource: value.slice(0, slash), role: value.slice(slash + 1) };
}

/** "Extend" on the requester's grant DMs (value = the request id); it opens the extension form. */
export const ACTION_EXTEND = 'access_extend';
/** The extension form; its `private_metadata` is the id of the grant to extend. */
export const EXTEND_MODAL_CALLBACK = 'access_extend_modal';
export const EXTEND_MODAL = {
  durationBlock: 'extend_duration',
  durationAction: 'duration',
  reasonBlock: 'extend_reason',
  reasonAction: 'reason',
} as const;

/** "Request access" on the App Home: opens the request form (`requestModal`) with the click's trigger id. */
export const ACTION_OPEN_REQUEST_FORM = 'access_open_request_form';

/**
 * The admins' rule editor in the App Home. Edit / Delete per role (value: JSON `{ resource, role }`), "Add rule"
 * and "Download policy" (value unused). The form's `private_metadata` is JSON `{ resource, role }` for an edit
 * and `{ resource: null }` for a new role; its inputs all use the action id `value`, and errors are keyed by
 * the block id.
 */
export const ACTION_RULE_EDIT = 'access_rule_edit';
export const ACTION_RULE_DELETE = 'access_rule_delete';
export const ACTION_RULE_ADD = 'access_rule_add';
export const ACTION_POLICY_DOWNLOAD = 'access_policy_download';
export const RULE_MODAL_CALLBACK = 'rule_edit';
export const RULE_MODAL = {
  action: 'value',
  /** static_select of the policy's resources (add only). */
  resourceBlock: 'resource',
  /** plain_text_input (add only). */
  roleBlock: 'role',
  maxDurationBlock: 'max_duration',
  approvalsBlock: 'approvals',
  /** multi_users_select. */
  approversBlock: 'approvers',
  /** conversations_select. */
  channelBlock: 'channel',
  /** plain_text_input, comma-separated. */
  grantsBlock: 'grants',
} as const;
