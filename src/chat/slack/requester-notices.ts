/**
 * The requester's DMs as their request moves on: denied, granted (with a mode-login's credentials), expiring
 * soon, revoked, extended, expired undecided, or failed to grant; and the DMs that offered actions on the
 * grant, rewritten without them once it ended (`endedRequesterNotice`). Pure renderers of the request snapshot.
 */
import { formatDuration } from '../../domain/duration.js';
import { assertNever } from '../../domain/errors.js';
import type { AccessRequest, RequesterNotice } from '../../domain/request.js';
import type { LoginCredentials, RequestSnapshot, RequesterDmRef } from '../../use-cases/ports.js';
import { SECTION_FIELD_MAX, SECTION_TEXT_MAX, cut, escapeMrkdwn } from './limits.js';
import { codeList, noteLines, reasonQuote, what } from './card.js';
import { revokeNowActions } from './controls.js';
import { SLASH_COMMAND } from './ids.js';
import { code, context, mentions, fieldsSection, mention, section, shownError, slackDate, type SlackMessage } from './format.js';
import { channelLink, plainWhat } from './notice-text.js';

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
    case 'granted':
    case 'expiring-soon':
    case 'extended':
      return grantDm(snapshot, notice, credentials, null);
    case 'revoked':
      return revokedNotice(snapshot);
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

/** The notices that offer actions on the grant (Revoke now, Extend) while it is active. */
export const NOTICES_WITH_ACTIONS = ['granted', 'expiring-soon', 'extended'] as const satisfies readonly RequesterNotice[];
type NoticeWithActions = (typeof NOTICES_WITH_ACTIONS)[number];

export function offersActions(notice: RequesterNotice): notice is NoticeWithActions {
  return (NOTICES_WITH_ACTIONS as readonly RequesterNotice[]).includes(notice);
}

/**
 * A DM that offered actions on the grant, as it reads once the grant is no longer active: the text it had
 * (the window it showed when posted: `dm.shown…`), without its buttons and the hint about them, and one
 * context line saying why. A login it carried is not repeated: it is never stored, and goes with the access.
 * `at`: when this is rendered, the date of an early revoke not yet completed.
 */
export function endedRequesterNotice(snapshot: RequestSnapshot, dm: Pick<RequesterDmRef, 'notice' | 'shownExpiresAt' | 'shownDurationMs' | 'withLogin'>, at: Date | null): SlackMessage {
  const notice = offersActions(dm.notice) ? dm.notice : 'granted';
  const shown = { ...snapshot, request: { ...snapshot.request, expiresAt: dm.shownExpiresAt, durationMs: dm.shownDurationMs } };
  const login = dm.withLogin ? ' The login created for it is deleted with the access.' : '';
  return grantDm(shown, notice, undefined, `${grantEndedLine(snapshot.request, at)}${login}`);
}

/** Why a grant's DMs no longer offer actions: how and when it ended. */
export function grantEndedLine(request: AccessRequest, at: Date | null): string {
  if (request.revokeReason === 'early') {
    const when = request.revokedAt ?? at;
    const on = when ? ` ${slackDate(when)}` : '';
    if (request.revokedBy === request.requesterId) return `:lock: Ended${on}: you gave this access back.`;
    return `:lock: Ended${on}: revoked early by ${request.revokedBy ? mention(request.revokedBy) : 'an approver'}.`;
  }
  const date = (when: Date | null): string => (when ? ` ${slackDate(when)}` : '');
  if (request.revokeReason === 'expired') return `:lock: Ended${date(request.expiresAt ?? request.revokedAt)}: the window closed.`;
  return `:lock: Ended${date(request.revokedAt ?? at)}: this access is no longer active.`;
}

/**
 * "Granted", "expiring soon" and "extended": with their actions while the grant is active (`ended` null), or,
 * once it ended, with the line `ended` in place of the actions and the hint about them.
 */
function grantDm(snapshot: RequestSnapshot, notice: NoticeWithActions, credentials: LoginCredentials | undefined, ended: string | null): SlackMessage {
  const { request } = snapshot;
  const id = code(request.id);
  const controls = (hint: string | null): SlackMessage['blocks'] =>
    ended !== null ? [context(ended)] : [revokeNowActions(request), ...(hint !== null ? [context(hint)] : [])];
  switch (notice) {
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
          ...controls('It is revoked automatically when the window ends. Done sooner? *Revoke now* gives it back. Need longer? *Extend* asks the approvers.'),
        ],
      };
    }
    case 'expiring-soon': {
      const until = request.expiresAt ? slackDate(request.expiresAt) : 'soon';
      return {
        text: `Your access to ${plainWhat(request)} ends ${until}.`,
        blocks: [
          section(`:alarm_clock: Your access to ${what(request)} (${id}) as ${code(request.principal)} *ends ${until}*.`),
          ...controls(
            `Need more time? \`${escapeMrkdwn(`${SLASH_COMMAND} extend ${request.id} <duration> <reason…>`)}\` asks the approvers ` +
              'for more, within the role’s maximum. Done already? *Revoke now* gives it back.',
          ),
        ],
      };
    }
    case 'extended': {
      const until = request.expiresAt ? slackDate(request.expiresAt) : 'later';
      return {
        text: `Your access to ${plainWhat(request)} was extended until ${until}.`,
        blocks: [
          section(`:hourglass: Your access to ${what(request)} (${id}) as ${code(request.principal)} was *extended* until *${until}*.`),
          ...controls(null),
        ],
      };
    }
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
