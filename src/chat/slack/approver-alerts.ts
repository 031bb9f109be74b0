/** Alerts in the approvers' channel about one request: a failing revoke, its recovery, an undecided request. */
import { formatDuration } from '../../domain/duration.js';
import { assertNever } from '../../domain/errors.js';
import type { ApproverAlert } from '../../domain/request.js';
import type { RequestSnapshot } from '../../use-cases/ports.js';
import { SECTION_TEXT_MAX, escapeMrkdwn } from './limits.js';
import { approvalProgress, reasonQuote, what } from './card.js';
import { decisionControls } from './controls.js';
import { code, context, mention, plural, section, shownError, slackDate, type SlackMessage } from './format.js';
import { plainWhat } from './notice-text.js';

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
