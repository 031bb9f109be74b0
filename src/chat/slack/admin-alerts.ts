/**
 * DMs to the policy admins: a break-glass request, drift found and removed, revokes that are not progressing.
 * Pure renderers of the alert's data.
 */
import { formatDuration } from '../../domain/duration.js';
import { assertNever } from '../../domain/errors.js';
import type { AdminAlert, BreakGlassAlert, StalledRevokesAlert } from '../../use-cases/ports.js';
import { SECTION_TEXT_MAX, cut, escapeMrkdwn } from './limits.js';
import { reasonQuote, what } from './card.js';
import { code, context, linesWithin, mention, plural, section, slackDate, type SlackMessage } from './format.js';

/**
 * A DM to each policy admin. `drift-revoked`: access the bot had granted was still on the target although the
 * records say it should not be, and the bot removed it.
 */
export function adminAlert(alert: AdminAlert | BreakGlassAlert | StalledRevokesAlert): SlackMessage {
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
    case 'revokes-stalled': {
      const count = plural(alert.requests.length, 'grant');
      const lines = alert.requests.map((r) => {
        const ended = r.expiresAt ? `ended ${slackDate(r.expiresAt)}` : 'end not recorded';
        const state = r.status === 'revoking' ? `revoke started, ${ended}` : ended;
        return `• ${code(r.id)} ${what(r)} as ${code(r.principal)} for ${mention(r.requesterId)}: ${state}`;
      });
      return {
        text: `Revokes are not progressing: ${count} past ${alert.requests.length === 1 ? 'its' : 'their'} end still in place.`,
        blocks: [
          section(
            `:rotating_light: *Revokes are not progressing*: ${count} should have ended but accessbot has not revoked ${alert.requests.length === 1 ? 'it' : 'them'} ` +
              `(seen ${slackDate(alert.at)}). Is an accessbot worker running, and can it reach Redis?`,
          ),
          section(linesWithin(lines, SECTION_TEXT_MAX - 20)),
          context(
            'accessbot revokes them as soon as a worker runs again; to end the access sooner, revoke it on the target by hand. ' +
              'accessbot’s audit log records each as `revoke.stalled`.',
          ),
        ],
      };
    }
    default:
      return assertNever(alert);
  }
}
