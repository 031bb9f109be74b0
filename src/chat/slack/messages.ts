/**
 * The one place a DomainError becomes words for a Slack user (style rule 5): listeners reply with
 * `errorText(result.error)` and never look at codes themselves. The result is Slack mrkdwn, ready for `text`
 * or a section: user-supplied parts are escaped and people are mentions.
 */
import { formatDuration } from '../../domain/duration.js';
import { assertNever, type DomainError } from '../../domain/errors.js';
import { escapeAndCut } from './limits.js';
import { mentions, slackDate } from './format.js';

/** Names quoted back to the user are capped: an unknown resource may be whatever someone typed. */
const NAME_SHOWN_MAX = 80;
const LIST_SHOWN_MAX = 20;

const STATUS_WORDS: Record<string, string> = {
  pending: 'still pending',
  approved: 'approved and being granted',
  active: 'approved, and the access is active',
  revoking: 'approved, and the access is being revoked',
  revoked: 'over: the access was granted and has been revoked',
  denied: 'denied',
  failed: 'approved, but granting failed',
  cancelled: 'cancelled by its requester',
  expired: 'expired: nobody decided in time',
  applied: 'an extension that has been applied',
};

function name(text: string): string {
  return `\`${escapeAndCut(text.replace(/`/g, "'"), NAME_SHOWN_MAX)}\``;
}

function list(names: string[]): string {
  const shown = names.slice(0, LIST_SHOWN_MAX).map(name).join(', ');
  return names.length > LIST_SHOWN_MAX ? `${shown} and ${names.length - LIST_SHOWN_MAX} more` : shown;
}

/** A status in words, to follow "it is": `still pending`, `denied`, … (unknown ones are shown as code). */
export function statusWords(status: string): string {
  return STATUS_WORDS[status] ?? name(status);
}

export function errorText(error: DomainError): string {
  switch (error.code) {
    case 'UNKNOWN_RESOURCE':
      return error.known.length === 0
        ? `There is no resource ${name(error.resource)}, and the access policy names none you may request; ask an admin.`
        : `There is no resource ${name(error.resource)}. Resources you may request: ${list(error.known)}.`;
    case 'UNKNOWN_ROLE':
      return error.known.length === 0
        ? `${name(error.resource)} has no role ${name(error.role)}, and none you may request.`
        : `${name(error.resource)} has no role ${name(error.role)}. Its roles you may request: ${list(error.known)}.`;
    case 'NOT_A_REQUESTER':
      return `You may not request ${name(error.role)} on ${name(error.resource)}: the access policy does not list you as a requester.`;
    case 'DURATION_TOO_LONG':
      return `That is longer than this role allows: the maximum is ${formatDuration(error.maxMs)}.`;
    case 'NO_PRINCIPAL':
      return (
        'I cannot tell which account you use on the target systems: your Slack profile shows no email, and the ' +
        'access policy names no account for you. Ask an admin to add one.'
      );
    case 'NOT_FOUND':
      return `There is no request ${name(error.requestId)}.`;
    case 'NOT_PENDING':
      return error.decidedBy.length > 0
        ? `Request ${name(error.requestId)} was already decided by ${mentions(error.decidedBy)}: it is ${statusWords(error.status)}.`
        : `Request ${name(error.requestId)} is no longer pending: it is ${statusWords(error.status)}.`;
    case 'SELF_APPROVAL':
      return 'You cannot decide this request: it is your own.';
    case 'NOT_AN_APPROVER':
      return 'You cannot decide this request: you are not one of its approvers.';
    case 'ALREADY_DECIDED':
      return `You already ${error.outcome === 'approve' ? 'approved' : 'denied'} request ${name(error.requestId)}; a decision cannot be changed.`;
    case 'NOT_IN_STATE':
      return `That cannot be done to request ${name(error.requestId)} now: it is ${name(error.status)}, and this needs it to be ${error.expected.map(name).join(' or ')}.`;
    case 'NOT_DUE':
      return `Request ${name(error.requestId)} is not due to end until ${slackDate(error.expiresAt)}.`;
    case 'NOT_YOURS':
      return 'That request is not yours; only its requester, or an approver or admin of the role, can do that.';
    case 'REASON_REQUIRED':
      return "Say why: revoking someone else's access needs a reason (type it in the box above the button, or add it after the id).";
    case 'EXTENSION_PENDING':
      return `Request ${name(error.requestId)} already has an extension waiting for approvers; wait for their decision.`;
    case 'EXTENSION_TOO_LONG':
      return error.remainingMs > 0
        ? `That is more than this role allows in total: at most ${formatDuration(error.remainingMs)} more (the maximum total is ${formatDuration(error.maxTotalMs)}).`
        : `This grant already lasts the role's maximum total of ${formatDuration(error.maxTotalMs)}; request access again when it ends.`;
    case 'REASON_TOO_SHORT':
      return `Say a little more: this role needs a reason of at least ${error.minLength} characters (what you will do, and why).`;
    case 'TICKET_REQUIRED':
      return `This role needs a ticket reference in the reason, matching ${name(error.pattern)} (for example the incident or change number).`;
    case 'BREAK_GLASS_NOT_ALLOWED':
      return `${name(error.role)} on ${name(error.resource)} does not allow break-glass: the policy does not set \`break_glass: true\` for it. Use \`/access request\` and wait for an approver.`;
    case 'ALREADY_ACKNOWLEDGED':
      return `Break-glass request ${name(error.requestId)} was already acknowledged by ${mentions([error.by])}.`;
    default:
      return assertNever(error);
  }
}
