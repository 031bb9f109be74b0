/**
 * Replies to the read-only commands: `/access list` (what I have and what is pending) and `/access status <id>`
 * (one request's whole story). Pure renderers of what `use-cases/query-requests.ts` returns, plus `now` for
 * "time left"; long lists are cut visibly ("…and N more") to stay within Slack's limits.
 */
import { formatDuration, MINUTE } from '../../domain/duration.js';
import { assertNever } from '../../domain/errors.js';
import { SYSTEM_ACTOR, denyMayOverride, type AccessRequest, type AuditEntry, type Decision } from '../../domain/request.js';
import type { MyRequests, RequestStory } from '../../use-cases/query-requests.js';
import { RULE_SHOWN_MAX, approvalProgress, codeList, flagLines, noteLines, reasonQuote, what } from './card.js';
import { revokeButton } from './controls.js';
import { SLASH_COMMAND, decisionBlockId } from './ids.js';
import { SECTION_FIELD_MAX, SECTION_TEXT_MAX, escapeMrkdwn } from './limits.js';
import { statusWords } from './messages.js';
import {
  code,
  context,
  fieldsSection,
  linesWithin,
  mention,
  plural,
  quote,
  section,
  shownError,
  slackDate,
  type Block,
  type SlackMessage,
} from './format.js';

const CMD = SLASH_COMMAND;
/** Active grants shown one block each (with a Revoke button); the rest are counted. */
export const LIST_ACTIVE_SHOWN_MAX = 15;
/** Pending requests shown as lines of one section. */
export const LIST_PENDING_SHOWN_MAX = 20;
/** Lines of the audit timeline in `/access status`, the "earlier entries" note included. */
export const STATUS_TRAIL_LINES_MAX = 20;
/** A decision's reason in the status reply; the card shows it in full. */
const DECISION_REASON_SHOWN_MAX = 300;

function plainWhat(request: Pick<AccessRequest, 'resource' | 'role'>): string {
  return `${escapeMrkdwn(request.resource)} / ${escapeMrkdwn(request.role)}`;
}

/** `1h20m`, rounded down to the minute; "less than a minute" under one; "no time" once past. */
export function timeLeft(expiresAt: Date, now: Date): string {
  const ms = expiresAt.getTime() - now.getTime();
  if (ms <= 0) return 'no time';
  if (ms < MINUTE) return 'less than a minute';
  return formatDuration(Math.floor(ms / MINUTE) * MINUTE);
}

export function listMessage(mine: MyRequests, now: Date): SlackMessage {
  const { active, pending } = mine;
  if (active.length === 0 && pending.length === 0) {
    const none = 'You have no active access and no pending requests.';
    return { text: none, blocks: [section(none), context(`\`${CMD} request\` asks for access.`)] };
  }
  const blocks: Block[] = [];
  if (active.length > 0) {
    const shown = active.slice(0, LIST_ACTIVE_SHOWN_MAX);
    blocks.push(section(`*Active* (${active.length})`, 'list_active'));
    for (const request of shown) blocks.push(activeRow(request, now));
    if (active.length > shown.length) blocks.push(context(`_…and ${active.length - shown.length} more_`));
  }
  if (pending.length > 0) {
    const lines = linesWithin(pending.map(pendingLine), SECTION_TEXT_MAX - 40, { maxLines: LIST_PENDING_SHOWN_MAX });
    blocks.push(section(`*Pending* (${pending.length})\n${lines}`, 'list_pending'));
  }
  blocks.push(
    context(
      `\`${escapeMrkdwn(`${CMD} status <id>`)}\` tells a request's whole story; ` +
        `\`${escapeMrkdwn(`${CMD} cancel <id>`)}\` withdraws a pending one.`,
    ),
  );
  return { text: `You have ${plural(active.length, 'active grant')} and ${plural(pending.length, 'pending request')}.`, blocks };
}

/** One active grant: what, as whom, how long is left, and its Revoke button (none once it is being revoked). */
function activeRow(request: AccessRequest, now: Date): Block {
  const head = `${code(request.id)} ${what(request)} as ${code(request.principal)}`;
  if (request.status === 'revoking') {
    return section(`:hourglass_flowing_sand: ${head}\nBeing revoked${request.revokeReason === 'early' ? ' early' : ''}…`, decisionBlockId(request.id));
  }
  const window = request.expiresAt ? `*${timeLeft(request.expiresAt, now)} left* (until ${slackDate(request.expiresAt)})` : 'Being granted…';
  return { ...section(`:unlock: ${head}\n${window}`, decisionBlockId(request.id)), accessory: revokeButton(request, 'Revoke', 'own') };
}

function pendingLine(request: AccessRequest): string {
  const head = `• ${code(request.id)} ${what(request)} for *${formatDuration(request.durationMs)}*`;
  return request.status === 'approved'
    ? `${head}: approved, being granted`
    : `${head}, waiting since ${slackDate(request.createdAt)}`;
}

export function statusMessage(story: RequestStory, now: Date): SlackMessage {
  const { request, decisions } = story.snapshot;
  const words = statusWords(request.status);
  return {
    text: `Request ${escapeMrkdwn(request.id)}: ${plainWhat(request)} for ${mention(request.requesterId)}; it is ${words}.`,
    blocks: [
      section(
        `Request ${code(request.id)}: ${mention(request.requesterId)} asked ${slackDate(request.createdAt)} for ${what(request)}, ` +
          `*${formatDuration(request.durationMs)}* as ${code(request.principal)}.\nIt is *${words}*.`,
        'req_summary',
      ),
      fieldsSection(
        [
          `*Grants*\n${codeList(request.grants, SECTION_FIELD_MAX - 12)}`,
          `*Approvals needed*\n${request.approvalsRequired}`,
        ],
        'req_details',
      ),
      section(`*Reason*\n${reasonQuote(request.reason, SECTION_TEXT_MAX - 12)}`, 'req_reason'),
      ...(request.flags.length > 0 ? [section(`*Flagged for review*\n${flagLines(request)}`, 'req_flags')] : []),
      section(`*Decisions*\n${decisionLines(request, decisions)}`, 'req_decisions'),
      section(`*Access*\n${linesWithin(windowLines(request, now), SECTION_TEXT_MAX - 12)}`, 'req_window'),
      section(`*History*\n${trailLines(story.trail)}`, 'req_history'),
    ],
  };
}

function decisionLines(request: AccessRequest, decisions: Decision[]): string {
  const lines = decisions.map((d) => {
    const line = `• ${d.outcome === 'approve' ? ':white_check_mark:' : ':no_entry:'} ${mention(d.approverId)} ${d.outcome === 'approve' ? 'approved' : 'denied'} ${slackDate(d.at)}`;
    return d.reason?.trim() ? `${line}\n${quote(d.reason, DECISION_REASON_SHOWN_MAX)}` : line;
  });
  if (request.autoApprovedBy) {
    const when = request.decidedAt ? ` ${slackDate(request.decidedAt)}` : '';
    lines.push(`• :robot_face: auto-approved by rule ${code(request.autoApprovedBy, RULE_SHOWN_MAX)}${when}`);
  }
  if (request.status === 'pending') lines.push(approvalProgress(request, decisions));
  return lines.length === 0 ? '_none_' : linesWithin(lines, SECTION_TEXT_MAX - 20);
}

/** The grant window, from approval to revocation, and why it ended. */
function windowLines(request: AccessRequest, now: Date): string[] {
  const granted = request.grantedAt ? [`Granted ${slackDate(request.grantedAt)}.`] : [];
  const end = request.expiresAt;
  switch (request.status) {
    case 'pending': {
      const lines = ['Not granted yet.', `Expires undecided ${slackDate(request.pendingUntil)}.`];
      if (request.remindedAt) lines.push(`Approvers reminded ${slackDate(request.remindedAt)}.`);
      else if (request.remindAt) lines.push(`Approvers are reminded ${slackDate(request.remindAt)}.`);
      return lines;
    }
    case 'approved':
      return request.grantAfter && denyMayOverride(request)
        ? [`Approved; granting ${slackDate(request.grantAfter)} unless an approver denies first.`]
        : ['Approved; granting…'];
    case 'active': {
      const lines = [...granted, end ? `Ends ${slackDate(end)} (${timeLeft(end, now)} left).` : 'No end recorded.'];
      if (request.warnedAt) lines.push(`Requester warned of the end ${slackDate(request.warnedAt)}.`);
      return lines;
    }
    case 'revoking': {
      const lines = [...granted, ...(end ? [`${end <= now ? 'Window ended' : 'Window ends'} ${slackDate(end)}.`] : [])];
      lines.push(...revokeCause(request, 'Being revoked'));
      if (request.revokeAttempts > 0) {
        lines.push(`:warning: ${plural(request.revokeAttempts, 'failed attempt')} so far, retrying. Last error: ${shownError(request.lastError)}`);
      }
      return lines;
    }
    case 'revoked': {
      const at = request.revokedAt ? ` ${slackDate(request.revokedAt)}` : '';
      const early = request.revokeReason === 'early';
      const lines = [...granted, ...(end ? [`${early ? 'Window was to end' : 'Window ended'} ${slackDate(end)}.`] : [])];
      lines.push(...revokeCause(request, `Revoked${at}`));
      return lines;
    }
    case 'failed':
      return [`:x: Grant failed: ${shownError(request.lastError)}`, 'Nothing from this request remains granted.'];
    case 'denied':
      return ['Nothing was granted: the request was denied.'];
    case 'cancelled':
      return ['Nothing was granted: the requester cancelled the request.'];
    case 'expired':
      return [`Nothing was granted: nobody decided before ${slackDate(request.pendingUntil)}.`];
    case 'applied':
      return [`Extension applied: ${request.extendsId ? code(request.extendsId) : 'the grant'} now ends ${request.expiresAt ? slackDate(request.expiresAt) : 'later'}.`];
    default:
      return assertNever(request.status);
  }
}

/** "Revoked … (the window ended)" or "Revoked … early by @bob" and the note. */
function revokeCause(request: AccessRequest, lead: string): string[] {
  if (request.revokeReason === 'expired') return [`${lead} (the window ended).`];
  if (request.revokeReason !== 'early') return [`${lead}.`];
  const by = request.revokedBy
    ? ` early by ${mention(request.revokedBy)}${request.revokedBy === request.requesterId ? ' (the requester)' : ''}`
    : ' early';
  return [`${lead}${by}.`, ...noteLines(request)];
}

const ACTION_WORDS: Record<string, string> = {
  'request.submitted': 'requested',
  'request.auto-approved': 'requested',
  'request.refused': 'request refused',
  'request.approval-recorded': 'approval recorded',
  'request.approved': 'approved',
  'request.denied': 'denied',
  'decision.refused': 'decision refused',
  'request.cancelled': 'cancelled',
  'cancel.refused': 'cancel refused',
  'request.expired': 'expired undecided',
  'request.reminded': 'approvers reminded',
  'grant.started': 'grant started',
  'grant.activated': 'access granted',
  'grant.failed': 'grant failed',
  'grant.cleanup-failed': 'cleanup after the failed grant failed',
  'grant.expiry-warned': 'requester warned of the end',
  'revoke.requested': 'early revoke asked',
  'revoke.refused': 'revoke refused',
  'revoke.started': 'revoking',
  'revoke.attempt-failed': 'revoke attempt failed',
  'revoke.completed': 'revoked',
};

/** The audit trail, oldest first, as one line per entry; only the newest fit, with a note about the rest. */
function trailLines(trail: RequestStory['trail']): string {
  if (trail.length === 0) return '_no entries_';
  const maxLines = trail.length > STATUS_TRAIL_LINES_MAX ? STATUS_TRAIL_LINES_MAX - 1 : STATUS_TRAIL_LINES_MAX;
  return linesWithin(trail.map(trailLine), SECTION_TEXT_MAX - 12, {
    maxLines,
    keep: 'last',
    more: (n) => `_…${plural(n, 'earlier entry', 'earlier entries')} not shown_`,
  });
}

export function trailLine(entry: AuditEntry & { at: Date }): string {
  const words = ACTION_WORDS[entry.action] ?? code(entry.action, 60);
  const by = entry.actor === SYSTEM_ACTOR ? '' : ` by ${mention(entry.actor)}`;
  return `${slackDate(entry.at)} ${words}${by}${detail(entry)}`;
}

/** The one detail worth a glance: why something was refused, which attempt failed, how many approvals so far. */
function detail(entry: AuditEntry): string {
  const d = entry.details;
  if (typeof d.code === 'string') return ` (${code(d.code, 40)})`;
  if (entry.action === 'request.auto-approved') return `; auto-approved${typeof d.rule === 'string' ? ` by rule ${code(d.rule, 120)}` : ''}`;
  if (Array.isArray(d.flags) && d.flags.length > 0) return ` (flagged: ${d.flags.map((f) => code(String(f), 40)).join(', ')})`;
  if (entry.action === 'revoke.attempt-failed' && typeof d.attempt === 'number') return ` (attempt ${d.attempt})`;
  if (typeof d.approvals === 'number' && typeof d.required === 'number') return ` (${d.approvals} of ${d.required})`;
  return '';
}
