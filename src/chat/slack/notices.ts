/**
 * Messages to one person or to the approvers' channel about a request: the requester's DMs, the approvers'
 * alerts (a failing revoke, a reminder of an undecided request) and the private "request sent" confirmation.
 * Pure renderers of the request snapshot; `adminAlert`, of the alert's own data.
 */
import { formatDuration } from '../../domain/duration.js';
import { assertNever } from '../../domain/errors.js';
import { isBreakGlass, type AccessRequest, type ApproverAlert, type RequesterNotice } from '../../domain/request.js';
import type { AdminAlert, BreakGlassAlert, LoginCredentials, RequestSnapshot } from '../../use-cases/ports.js';
import { SECTION_FIELD_MAX, SECTION_TEXT_MAX, cut, escapeMrkdwn } from './limits.js';
import { RULE_SHOWN_MAX, approvalProgress, codeList, noteLines, reasonQuote, what } from './card.js';
import { cancelActions, decisionControls, revokeNowActions } from './controls.js';
import { SLASH_COMMAND } from './ids.js';
import { code, context, mentions, fieldsSection, mention, plural, section, shownError, slackDate, type SlackMessage } from './format.js';

/** `prod-db / read` in plain fallback text (escaped: fallback text is mrkdwn too). */
function plainWhat(request: AccessRequest): string {
  return `${escapeMrkdwn(request.resource)} / ${escapeMrkdwn(request.role)}`;
}

/**
 * `credentials`: the login a grant created (mode: login), only with `granted`. They go into the blocks of
 * this DM alone, never into `text`, which Slack shows in notifications and previews.
 */
export function requesterNotice(snapshot: RequestSnapshot, notice: RequesterNotice, credentials?: LoginCredentials): SlackMessage {
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
      const approvers = snapshot.decisions.filter((d) => d.outcome === 'approve').map((d) => d.approverId);
      const until = request.expiresAt ? slackDate(request.expiresAt) : `${formatDuration(request.durationMs)} from now`;
      return {
        text: `Access granted: ${plainWhat(request)} as ${escapeMrkdwn(request.principal)} until ${until}.`,
        blocks: [
          section(
            `:unlock: *Access granted*: role ${code(request.role)} on ${code(request.resource)} for your account ${code(request.principal)}, ` +
              `until *${until}* (${formatDuration(request.durationMs)}).`,
          ),
          fieldsSection([
            `*Grants on the target*\n${codeList(request.grants, SECTION_FIELD_MAX - 24)}`,
            `*Request*\n${id}`,
            ...(approvers.length > 0 ? [`*Approved by*\n${mentions(approvers)}`] : []),
          ]),
          ...(credentials ? credentialBlocks(credentials) : []),
          revokeNowActions(request),
          context('It is revoked automatically when the window ends. Done sooner? *Revoke now* gives it back. Need longer? *Extend* asks the approvers.'),
        ],
      };
    }
    case 'expiring-soon': {
      const until = request.expiresAt ? slackDate(request.expiresAt) : 'soon';
      return {
        text: `Your access to ${plainWhat(request)} ends ${until}.`,
        blocks: [
          section(`:alarm_clock: Your access to ${what(request)} (${id}) as ${code(request.principal)} *ends ${until}*.`),
          revokeNowActions(request),
          context(
            `Need more time? \`${escapeMrkdwn(`${SLASH_COMMAND} extend ${request.id} <duration> <reason…>`)}\` asks the approvers ` +
              'for more, within the role’s maximum. Done already? *Revoke now* gives it back.',
          ),
        ],
      };
    }
    case 'revoked':
      return revokedNotice(snapshot);
    case 'extended': {
      const until = request.expiresAt ? slackDate(request.expiresAt) : 'later';
      return {
        text: `Your access to ${plainWhat(request)} was extended until ${until}.`,
        blocks: [
          section(`:hourglass: Your access to ${what(request)} (${id}) as ${code(request.principal)} was *extended* until *${until}*.`),
          revokeNowActions(request),
        ],
      };
    }
    case 'expired':
      return {
        text: `Your access request for ${plainWhat(request)} expired: nobody decided in time.`,
        blocks: [
          section(
            `:hourglass: Your request for ${what(request)} (${id}) *expired*: nobody decided before ${slackDate(request.pendingUntil)}. ` +
              'Nothing was granted.',
          ),
          context(
            `To ask again, send ${askAgain(request)}; ` +
              `if it is urgent, ask an approver in ${channelLink(request.channel)} directly.`,
          ),
        ],
      };
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

/** The login of a mode-login grant, in a code block, with a warning. Names are escaped; nothing is cut. */
function credentialBlocks(c: LoginCredentials): SlackMessage['blocks'] {
  const v = (text: string): string => escapeMrkdwn(text.replace(/`/g, "'"));
  const lines = [
    `host      ${v(c.host)}`,
    `port      ${c.port}`,
    `database  ${v(c.database)}`,
    `user      ${v(c.username)}`,
    `password  ${v(c.password)}`,
  ];
  return [
    section(`:key: *Your login for this grant* (created for you, valid until the window ends):\n\`\`\`\n${lines.join('\n')}\n\`\`\``),
    context(
      ':warning: These credentials are yours alone and are shown only here, once: do not share them or paste them into a channel, ' +
        'a ticket or a file. The login stops accepting new sessions at the end of the window and is deleted, with its open sessions ended, when access is revoked.',
    ),
  ];
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
    case 'reminder': {
      const since = slackDate(request.createdAt);
      return {
        text:
          `Still waiting for a decision: ${mention(request.requesterId)}'s request for ${plainWhat(request)} ` +
          `(${escapeMrkdwn(request.id)}), pending since ${since}.`,
        blocks: [
          section(
            `:bell: *Still waiting for a decision*: ${mention(request.requesterId)}'s request for ${what(request)} (${id}), ` +
              `*${formatDuration(request.durationMs)}* as ${code(request.principal)}, pending since ${since}.`,
            'req_summary',
          ),
          section(`*Reason*\n${reasonQuote(request.reason, SECTION_TEXT_MAX - 12)}`, 'req_reason'),
          context(`:hourglass_flowing_sand: ${approvalProgress(request, snapshot.decisions)}`, `Expires undecided ${slackDate(request.pendingUntil)}`),
          ...decisionControls(request),
        ],
      };
    }
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
  if (request.extendsId) {
    return {
      text: `Extension ${escapeMrkdwn(request.id)} sent to approvers: ${formatDuration(request.durationMs)} more of ${plainWhat(request)}.`,
      blocks: [
        section(
          `:outbox_tray: Extension ${code(request.id)} sent to approvers: *${formatDuration(request.durationMs)} more* of ${what(request)} ` +
            `(${code(request.extendsId)}). It needs ${needs}, in ${channelLink(request.channel)}.`,
        ),
        cancelActions(request),
        context('You will get a DM when it is decided; until then your access ends when it was due to.'),
      ],
    };
  }
  if (isBreakGlass(request)) {
    return {
      text: `Break-glass ${escapeMrkdwn(request.id)}: ${plainWhat(request)} for ${formatDuration(request.durationMs)}, granted without an approver.`,
      blocks: [
        section(
          `:rotating_light: *Break-glass* ${code(request.id)}: ${what(request)} for *${formatDuration(request.durationMs)}* is being granted now, without an approver. ` +
            `The approvers in ${channelLink(request.channel)} and the policy admins have been told, with your reason; an approver or admin will review it.`,
        ),
        context('You will get a DM when access is granted and when it ends.'),
      ],
    };
  }
  if (request.autoApprovedBy) {
    return {
      text: `Request ${escapeMrkdwn(request.id)} auto-approved: ${plainWhat(request)} for ${formatDuration(request.durationMs)}.`,
      blocks: [
        section(
          `:robot_face: Request ${code(request.id)} was *auto-approved* by rule ${code(request.autoApprovedBy, RULE_SHOWN_MAX)}: ` +
            `${what(request)} for *${formatDuration(request.durationMs)}*. No approver needed to decide; it is being granted now.`,
        ),
        context(`You will get a DM when access is granted and when it ends; its record is in ${channelLink(request.channel)}.`),
      ],
    };
  }
  return {
    text: `Request ${escapeMrkdwn(request.id)} sent to approvers: ${plainWhat(request)} for ${formatDuration(request.durationMs)}.`,
    blocks: [
      section(
        `:outbox_tray: Request ${code(request.id)} sent to approvers: ${what(request)} for *${formatDuration(request.durationMs)}*.\n` +
          `It needs ${needs}, in ${channelLink(request.channel)}.`,
      ),
      cancelActions(request),
      context('You will get a DM when it is decided, when access is granted and when it ends. Changed your mind? *Cancel request* withdraws it.'),
    ],
  };
}

/** The window ended, the requester gave it back, or someone else revoked it early (with their note). */
function revokedNotice(snapshot: RequestSnapshot): SlackMessage {
  const { request } = snapshot;
  const id = code(request.id);
  const at = request.revokedAt ? ` ${slackDate(request.revokedAt)}` : '';
  const again = context(`Need it again? \`${SLASH_COMMAND} request\`.`);
  if (request.revokeReason === 'early' && request.revokedBy === request.requesterId) {
    return {
      text: `You gave back your access to ${plainWhat(request)}.`,
      blocks: [section(`:lock: You gave back your access to ${what(request)} (${id}); the grants were revoked${at}.`), again],
    };
  }
  if (request.revokeReason === 'early') {
    const by = request.revokedBy ? ` by ${mention(request.revokedBy)}` : '';
    const note = noteLines(request);
    return {
      text: `Your access to ${plainWhat(request)} was revoked early${by}.`,
      blocks: [
        section(
          `:lock: Your access to ${what(request)} (${id}) was revoked early${by}${note.length > 0 ? ':' : '.'}\n` +
            `${note.length > 0 ? `${note.join('\n')}\n` : ''}The grants were revoked${at}.`,
        ),
        context(`Questions? Ask ${request.revokedBy ? mention(request.revokedBy) : 'an approver'}. Need it again? \`${SLASH_COMMAND} request\`.`),
      ],
    };
  }
  return {
    text: `Your access to ${plainWhat(request)} has ended.`,
    blocks: [
      section(
        `:lock: Your access to ${what(request)} (${id}) has ended: the ${formatDuration(request.durationMs)} window closed ` +
          `and the grants were revoked${at}.`,
      ),
      again,
    ],
  };
}

/** `/access request prod-db read <duration> <reason…>` in a code span, names and placeholders escaped. */
function askAgain(request: AccessRequest): string {
  const name = (text: string): string => cut(text.replace(/`/g, "'"), 100);
  return `\`${escapeMrkdwn(`${SLASH_COMMAND} request ${name(request.resource)} ${name(request.role)} <duration> <reason…>`)}\``;
}

/**
 * A DM to each policy admin. `drift-revoked`: access the bot had granted was still on the target although the
 * records say it should not be, and the bot removed it.
 */
export function adminAlert(alert: AdminAlert | BreakGlassAlert): SlackMessage {
  switch (alert.kind) {
    case 'break-glass': {
      const { request } = alert;
      return {
        text: `BREAK-GLASS: ${escapeMrkdwn(cut(request.requesterId, 40))} took ${escapeMrkdwn(cut(request.resource, 100))} / ${escapeMrkdwn(cut(request.role, 100))} without an approver.`,
        blocks: [
          section(
            `:rotating_light: *BREAK-GLASS*: ${mention(request.requesterId)} took ${what(request)} for *${formatDuration(request.durationMs)}* at once, ` +
              `without an approver (request ${code(request.id)}).`,
          ),
          section(`*Reason*\n${reasonQuote(request.reason, SECTION_TEXT_MAX - 12)}`),
          context(
            `It stays flagged for review until an approver of the role or an admin clicks Acknowledge on its card in <#${request.channel}>. ` +
              'accessbot’s audit log records it as `request.break-glass`.',
          ),
        ],
      };
    }
    case 'drift-revoked': {
      const plainName = (text: string): string => escapeMrkdwn(cut(text, 100));
      let why: string;
      if (alert.requestId === null) why = 'accessbot granted it, but no open request of that account covers it';
      else if (alert.requestStatus === null) why = `it is named after request ${code(alert.requestId)}, which accessbot has no record of`;
      else why = `request ${code(alert.requestId)} is ${alert.requestStatus}`;
      return {
        text: `Drift found and removed: ${plainName(alert.grant)} for ${plainName(alert.principal)} on ${plainName(alert.resource)}.`,
        blocks: [
          section(
            `:rotating_light: *Drift found and removed*: ${code(alert.grant)} for ${code(alert.principal)} on ${code(alert.resource)} ` +
              `was still in place, although ${why}. accessbot revoked it ${slackDate(alert.at)}.`,
          ),
          context(
            'A revoke may have been lost, or something outside accessbot put the access back: the target’s own audit log tells which. ' +
              'accessbot’s audit log records this as `drift.revoked`.',
          ),
        ],
      };
    }
    default:
      return assertNever(alert);
  }
}
