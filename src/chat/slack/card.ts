/**
 * The approval card posted in the approvers' channel and updated in place on every change. A pure function of
 * the request snapshot: the same snapshot always renders the same card, so a late or repeated `chat.update`
 * can never show a state the store does not hold. Buttons exist only while the request is pending (Approve,
 * Deny) or active (Revoke); an auto-approved request's card is a record, without buttons. Risk flags are
 * listed under the reason, one line each.
 */
import { formatDuration } from '../../domain/duration.js';
import { assertNever } from '../../domain/errors.js';
import { REVOKE_ALERT_THRESHOLD, approvalsOf, awaitsAcknowledgement, denyMayOverride, isBreakGlass, type AccessRequest, type Decision } from '../../domain/request.js';
import type { RequestSnapshot } from '../../use-cases/ports.js';
import { acknowledgeButton, decisionControls, revokeControls } from './controls.js';
import { SLASH_COMMAND, decisionBlockId } from './ids.js';
import { SECTION_FIELD_MAX, SECTION_TEXT_MAX, escapeAndCut, escapeMrkdwn } from './limits.js';
import {
  actions,
  bold,
  code,
  context,
  fieldsSection,
  linesWithin,
  mention,
  mentions,
  plural,
  quote,
  section,
  shownError,
  slackDate,
  type Block,
  type SlackMessage,
} from './format.js';

/** A revoke note is at most `REASON_MAX_LENGTH` (500) when typed; older or odd data is cut here. */
const NOTE_SHOWN_MAX = 600;

export function approvalCard(snapshot: RequestSnapshot): SlackMessage {
  const { request } = snapshot;
  const asks = request.extendsId
    ? `${mention(request.requesterId)} asks for *${formatDuration(request.durationMs)} more* of ${what(request)} (extends ${code(request.extendsId)})`
    : `${mention(request.requesterId)} requests ${what(request)} for *${formatDuration(request.durationMs)}*`;
  const breakGlass = isBreakGlass(request);
  const blocks: Block[] = [
    ...(breakGlass
      ? [section(`:rotating_light: *BREAK-GLASS* :rotating_light: ${mention(request.requesterId)} took ${what(request)} at once, without an approver. Reason below.`, 'req_break_glass')]
      : []),
    section(asks, 'req_summary'),
    fieldsSection(
      [
        `*Resource*\n${code(request.resource)}`,
        `*Role*\n${code(request.role)}`,
        `*Grants*\n${codeList(request.grants, SECTION_FIELD_MAX - 12)}`,
        `*Duration*\n${formatDuration(request.durationMs)}`,
        `*Account on target*\n${code(request.principal)}`,
        `*Request*\n${code(request.id)}`,
      ],
      'req_details',
    ),
    section(`*Reason*\n${reasonQuote(request.reason, SECTION_TEXT_MAX - 12)}`, 'req_reason'),
    ...(breakGlass
      ? [section(reviewLine(request), 'req_flags')]
      : request.flags.length > 0
        ? [section(`*Flagged for review*\n${flagLines(request)}`, 'req_flags')]
        : []),
    ...(request.status === 'pending' ? pendingBlocks(snapshot) : decidedBlocks(snapshot)),
  ];
  return { text: `${breakGlass ? 'BREAK-GLASS: ' : ''}${summaryText(request)}${request.status === 'pending' ? '' : ` (${request.status})`}`, blocks };
}

/** A break-glass grant's review: still flagged for review, or who acknowledged it and when. */
function reviewLine(request: AccessRequest): string {
  if (request.acknowledgedBy) {
    const at = request.acknowledgedAt ? ` ${slackDate(request.acknowledgedAt)}` : '';
    return `:white_check_mark: *Acknowledged by ${mention(request.acknowledgedBy)}*${at}`;
  }
  return ':warning: *Flagged for review*: not acknowledged yet. An approver of the role or an admin must acknowledge this grant.';
}

const FLAG_LABELS: Record<string, string> = {
  'break-glass': 'Break-glass',
  'outside-business-hours': 'Outside business hours',
  'long-duration': 'Longer than usual',
  'first-request': 'First request',
  burst: 'Burst of requests',
  'high-risk-role': 'High-risk role',
};
/** The auto-approval rule as recorded: policy names and conditions, a few hundred characters at most. */
export const RULE_SHOWN_MAX = 300;
/** A flag's reason is written by the policy engine from policy names; cut anyway, to stay within limits. */
const FLAG_REASON_SHOWN_MAX = 300;

/** One line per risk flag: `:warning: *First request*: the first request for prod-db …`. */
export function flagLines(request: Pick<AccessRequest, 'flags'>): string {
  const lines = request.flags.map((f) => {
    const label = FLAG_LABELS[f.code] ? `*${FLAG_LABELS[f.code]}*` : code(f.code, 40);
    return `:warning: ${label}: ${escapeAndCut(f.reason, FLAG_REASON_SHOWN_MAX)}`;
  });
  return linesWithin(lines, SECTION_TEXT_MAX - 40);
}

/** `*prod-db* / *read*`: the resource and role, escaped. */
export function what(request: Pick<AccessRequest, 'resource' | 'role'>): string {
  return `${bold(request.resource)} / ${bold(request.role)}`;
}

/** The one-line fallback text shared by the card's states. */
function summaryText(request: AccessRequest): string {
  return `Access request from ${mention(request.requesterId)}: ${escapeMrkdwn(request.resource)} / ${escapeMrkdwn(request.role)} for ${formatDuration(request.durationMs)}`;
}

export function reasonQuote(reason: string, max: number): string {
  return reason.trim() === '' ? '_no reason given_' : quote(reason, max);
}

/** As many names as fit in `max` characters, then "and N more", so a cut never breaks a code span. */
export function codeList(items: string[], max: number): string {
  if (items.length === 0) return '_none_';
  const shown: string[] = [];
  let length = 0;
  for (const item of items) {
    const rendered = code(item);
    if (length + rendered.length + 2 > max - 20) break;
    shown.push(rendered);
    length += rendered.length + 2;
  }
  const rest = items.length - shown.length;
  return rest === 0 ? shown.join(', ') : `${shown.join(', ')} and ${rest} more`;
}

function pendingBlocks(snapshot: RequestSnapshot): Block[] {
  const { request } = snapshot;
  const escalated = request.escalatedAt ? [`:arrow_double_up: Escalated ${slackDate(request.escalatedAt)}`] : [];
  return [
    context(`:hourglass_flowing_sand: ${approvalProgress(request, snapshot.decisions)}`, `Requested ${slackDate(request.createdAt)}`, ...escalated),
    ...decisionControls(request),
  ];
}

/** "Waiting for an approver", or "*1 of 2 approvals*: approved by @bob" when more than one is needed. */
export function approvalProgress(request: AccessRequest, decisions: Decision[]): string {
  const approvers = approvalsOf(decisions).map((d) => d.approverId);
  return request.approvalsRequired > 1
    ? `*${approvers.length} of ${request.approvalsRequired} approvals*${approvers.length > 0 ? `: approved by ${mentions(approvers)}` : ''}`
    : 'Waiting for an approver';
}

function decidedBlocks(snapshot: RequestSnapshot): Block[] {
  const { request, decisions } = snapshot;
  switch (request.status) {
    case 'denied': {
      const denial = decisions.find((d) => d.outcome === 'deny');
      const lines = [`:no_entry: *Denied*${denial ? ` by ${mention(denial.approverId)} ${slackDate(denial.at)}` : ''}`, ...approvedSoFar(decisions)];
      if (denial?.reason) lines.push(`*Reason for denying*\n${reasonQuote(denial.reason, SECTION_TEXT_MAX - 200)}`);
      return [section(lines.join('\n'), 'req_status')];
    }
    case 'cancelled':
      return [section([':heavy_multiplication_x: *Cancelled by the requester*', ...approvedSoFar(decisions)].join('\n'), 'req_status')];
    case 'expired':
      return [
        section(
          [`:hourglass: *Expired*: nobody decided before ${slackDate(request.pendingUntil)}`, ...approvedSoFar(decisions)].join('\n'),
          'req_status',
        ),
      ];
    case 'active':
      return [
        section([approvedLine(request, decisions), ...grantLines(request)].join('\n'), 'req_status'),
        ...activeControls(request),
      ];
    default:
      return [
        section([approvedLine(request, decisions), ...grantLines(request)].join('\n'), 'req_status'),
        ...(awaitsAcknowledgement(request) ? [actions(decisionBlockId(request.id), [acknowledgeButton(request)])] : []),
        ...(request.grantAfter && denyMayOverride(request) ? decisionControls(request, 'deny-only') : []),
      ];
  }
}

/** Revoke controls on an active card; an auto-approved card is a record without buttons, and says how instead. */
function activeControls(request: AccessRequest): Block[] {
  if (!request.autoApprovedBy) return revokeControls(request, awaitsAcknowledgement(request));
  const command = escapeMrkdwn(`${SLASH_COMMAND} revoke ${request.id} <reason>`);
  return [context(`No buttons on an auto-approved record; an approver can end it early with \`${command}\`.`)];
}

/** Approvals given before a request was cancelled or expired (only some of the required ones, or none). */
function approvedSoFar(decisions: Decision[]): string[] {
  const approvers = approvalsOf(decisions).map((d) => d.approverId);
  return approvers.length > 0 ? [`Approved so far by ${mentions(approvers)}`] : [];
}

function approvedLine(request: AccessRequest, decisions: Decision[]): string {
  if (isBreakGlass(request)) {
    const when = request.decidedAt ? ` ${slackDate(request.decidedAt)}` : '';
    return `:rotating_light: *Break-glass*: granted at once${when}; no approver was asked`;
  }
  if (request.autoApprovedBy) {
    const when = request.decidedAt ? ` ${slackDate(request.decidedAt)}` : '';
    return `:robot_face: *Auto-approved* by rule ${code(request.autoApprovedBy, RULE_SHOWN_MAX)}${when}; no approver was asked`;
  }
  const approvers = approvalsOf(decisions).map((d) => d.approverId);
  const by = approvers.length > 0 ? ` by ${mentions(approvers)}` : '';
  const at = request.decidedAt ? ` ${slackDate(request.decidedAt)}` : '';
  return `:white_check_mark: *Approved*${by}${at}`;
}

/** What happened to the grant after approval; the only place the card reads provider outcomes. */
function grantLines(request: AccessRequest): string[] {
  switch (request.status) {
    case 'approved':
      // In the approval grace a deny still wins; say so, so an approver who disagrees knows there is still time.
      return request.grantAfter && denyMayOverride(request)
        ? [`:hourglass: Granting ${slackDate(request.grantAfter)} unless an approver denies first`]
        : [':gear: Granting…'];
    case 'active':
      return [`:unlock: *Active* until ${request.expiresAt ? slackDate(request.expiresAt) : 'the window ends'}`];
    case 'revoking': {
      const lines =
        request.revokeReason === 'early'
          ? [`:hourglass_flowing_sand: ${revokedEarlyBy(request)}; revoking…`, ...noteLines(request)]
          : [`:hourglass_flowing_sand: ${request.revokeReason === 'expired' ? 'Window ended; revoking…' : 'Revoking…'}`];
      if (request.revokeAttempts >= REVOKE_ALERT_THRESHOLD) {
        lines.push(
          `:warning: *Revocation failing — retrying* (${plural(request.revokeAttempts, 'failed attempt')}). Last error: ${shownError(request.lastError)}`,
        );
      }
      return lines;
    }
    case 'revoked': {
      const at = request.revokedAt ? ` ${slackDate(request.revokedAt)}` : '';
      if (request.revokeReason === 'early') return [`:lock: ${revokedEarlyBy(request)}${at}`, ...noteLines(request)];
      return [`:lock: *Revoked*${at}${request.revokeReason === 'expired' ? ' (the window ended)' : ''}`];
    }
    case 'failed':
      return [request.extendsId ? `:x: *Not applied*: ${shownError(request.lastError)}` : `:x: *Grant failed*: ${shownError(request.lastError)}`];
    case 'applied':
      return [`:hourglass: *Extension applied*: ${request.extendsId ? code(request.extendsId) : 'the grant'} now ends ${request.expiresAt ? slackDate(request.expiresAt) : 'later'}`];
    case 'pending':
    case 'denied':
    case 'cancelled':
    case 'expired':
      return [];
    default:
      return assertNever(request.status);
  }
}

/** `*Revoked early by @bob*`, with "(the requester)" when they gave it back themselves. */
function revokedEarlyBy(request: AccessRequest): string {
  if (!request.revokedBy) return '*Revoked early*';
  const self = request.revokedBy === request.requesterId ? ' (the requester)' : '';
  return `*Revoked early by ${mention(request.revokedBy)}*${self}`;
}

/** The revoke note, quoted (escaped and cut); nothing when none was given. */
export function noteLines(request: Pick<AccessRequest, 'revokeNote'>, max = NOTE_SHOWN_MAX): string[] {
  return request.revokeNote?.trim() ? [quote(request.revokeNote, max)] : [];
}
