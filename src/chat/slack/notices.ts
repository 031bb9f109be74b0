/**
 * Messages to one person or to the approvers' channel about a request: the requester's DMs, the approvers'
 * alerts (a failing revoke, a reminder of an undecided request) and the private "request sent" confirmation.
 * Pure renderers of the request snapshot; `adminAlert`, of the alert's own data.
 *
 * One file per audience:
 * - requester-notices.ts: the requester's DMs as the request moves on (`requesterNotice`), and those that offered
 *   actions on the grant as they read once it ended (`endedRequesterNotice`)
 * - received-message.ts: the requester's private "request sent" confirmation (`receivedMessage`)
 * - approver-alerts.ts: alerts in the approvers' channel (`approverAlert`)
 * - admin-alerts.ts: DMs to the policy admins (`adminAlert`)
 * - notice-text.ts: the small text helpers they share
 */
export { adminAlert } from './admin-alerts.js';
export { approverAlert } from './approver-alerts.js';
export { receivedMessage } from './received-message.js';
export { endedRequesterNotice, offersActions, requesterNotice } from './requester-notices.js';
