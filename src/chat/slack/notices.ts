/**
 * Messages to one person or to the approvers' channel about a request: the requester's DMs, the alerts about a
 * failing revoke, and the private "request sent" confirmation. Pure renderers of the request snapshot.
 */
import { formatDuration } from '../../domain/duration.js';
import { assertNever } from '../../domain/errors.js';
import type { AccessRequest, ApproverAlert, RequesterNotice } from '../../domain/request.js';
import type { RequestSnapshot } from '../../use-cases/ports.js';
import { SECTION_FIELD_MAX, SECTION_TEXT_MAX, escapeMrkdwn } from './limits.js';
import { codeList, reasonQuote, what } from './card.js';
import { SLASH_COMMAND } from './ids.js';
import { code, context, fieldsSection, mention, plural, section, shownError, slackDate, type SlackMessage } from './format.js';

/** `prod-db / read` in plain fallback text (escaped: fallback text is mrkdwn too). */
function plainWhat(request: AccessRequest): string {
  return `${escapeMrkdwn(request.resource)} / ${escapeMrkdwn(request.role)}`;
}

export function requesterNotice(snapshot: RequestSnapshot, notice: RequesterNotice): SlackMessage {
  const { request, decisions } = snapshot;
  const id = code(request.id);
  switch (notice) {
    case 'denied': {
      const denial = decisions.find((d) => d.outcome === 'deny');
      const by = denial ? ` by ${mention(denial.approverId)}` : '';
      return {
        text: `Your access request for ${plainWhat(request)} was denied${by}.`,
        blocks: [
          section(`:no_entry: Your request for ${what(request)} (${id}) was *denied*${by}${denial ? ` ${slackDate(denial.at)}` : ''}.`),
          section(denial?.reason ? `*Their reason*\n${reasonQuote(denial.reason, SECTION_TEXT_MAX - 20)}` : 'No reason was given.'),
          context(`You can send a new request with \`${SLASH_COMMAND} request\`.`),
        ],
      };
    }
    case 'granted': {
      const until = request.expiresAt ? slackDate(request.expiresAt) : `${formatDuration(request.durationMs)} from now`;
      return {
        text: `Access granted: ${plainWhat(request)} as ${escapeMrkdwn(request.principal)} until ${until}.`,
        blocks: [
          section(
            `:unlock: *Access granted*: role ${code(request.role)} on ${code(request.resource)} for your account ${code(request.principal)}, ` +
              `until *${until}* (${formatDuration(request.durationMs)}).`,
          ),
          fieldsSection([`*Grants on the target*\n${codeList(request.grants, SECTION_FIELD_MAX - 24)}`, `*Request*\n${id}`]),
          context('It is revoked automatically when the window ends. Request again if you need more time.'),
        ],
      };
    }
    case 'revoked': {
      const at = request.revokedAt ? ` ${slackDate(request.revokedAt)}` : '';
      return {
        text: `Your access to ${plainWhat(request)} has ended.`,
        blocks: [
          section(
            `:lock: Your access to ${what(request)} (${id}) has ended: the ${formatDuration(request.durationMs)} window closed ` +
              `and the grants were revoked${at}.`,
          ),
          context(`Need it again? \`${SLASH_COMMAND} request\`.`),
        ],
      };
    }
    case 'grant-failed':
      return {
        text: `Your approved request for ${plainWhat(request)} could not be granted.`,
        blocks: [
          section(
            `:x: Your approved request for ${what(request)} (${id}) *could not be granted*: ${shownError(request.lastError)}\n` +
              'Nothing from this request remains granted.',
          ),
          context('Ask an admin to look at the target system, then request again.'),
        ],
      };
    default:
      return assertNever(notice);
  }
}

export function approverAlert(snapshot: RequestSnapshot, alert: ApproverAlert): SlackMessage {
  const { request } = snapshot;
  const id = code(request.id);
  const whose = `${mention(request.requesterId)}'s access to ${what(request)} (${id}, account ${code(request.principal)})`;
  switch (alert) {
    case 'revoke-failing':
      return {
        text: `Revoking access to ${plainWhat(request)} for ${mention(request.requesterId)} is failing; retrying.`,
        blocks: [
          section(
            `:warning: *Revocation failing*: ${whose} could not be revoked; ${plural(request.revokeAttempts, 'attempt')} failed so far.\n` +
              `Last error: ${shownError(request.lastError)}`,
          ),
          context(
            'It keeps retrying until it succeeds, and this channel hears when it does. Until then the access may still be in place: ' +
              'check the target system.',
          ),
        ],
      };
    case 'revoke-recovered': {
      const at = request.revokedAt ? ` ${slackDate(request.revokedAt)}` : '';
      return {
        text: `Revocation recovered: access to ${plainWhat(request)} for ${mention(request.requesterId)} is revoked.`,
        blocks: [
          section(
            `:white_check_mark: *Revocation recovered*: ${whose} was revoked${at}, after ${plural(request.revokeAttempts, 'failed attempt')}.`,
          ),
        ],
      };
    }
    default:
      return assertNever(alert);
  }
}

/** A channel link when the id looks like one; anything else is shown as text rather than trusted as a token. */
function channelLink(channel: string): string {
  return /^[CG][A-Z0-9]{2,}$/.test(channel) ? `<#${channel}>` : escapeMrkdwn(channel);
}

/** The requester's private confirmation, right after submitting. */
export function receivedMessage(snapshot: RequestSnapshot): SlackMessage {
  const { request } = snapshot;
  const needs = plural(request.approvalsRequired, 'approval');
  return {
    text: `Request ${escapeMrkdwn(request.id)} sent to approvers: ${plainWhat(request)} for ${formatDuration(request.durationMs)}.`,
    blocks: [
      section(
        `:outbox_tray: Request ${code(request.id)} sent to approvers: ${what(request)} for *${formatDuration(request.durationMs)}*.\n` +
          `It needs ${needs}, in ${channelLink(request.channel)}.`,
      ),
      context("You will get a DM when it is decided, when access is granted and when it ends."),
    ],
  };
}
