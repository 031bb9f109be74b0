/**
 * DMs to the policy admins: a break-glass request, drift found and removed, revokes that are not progressing, a
 * notification Slack refused for good. Pure renderers of the alert's data.
 */
import { formatDuration } from '../../domain/duration.js';
import { assertNever } from '../../domain/errors.js';
import type { AnyAdminAlert, UndeliverableAlert } from '../../use-cases/ports.js';
import { SECTION_TEXT_MAX, cut, escapeMrkdwn } from './limits.js';
import { reasonQuote, what } from './card.js';
import { actions, button, code, context, linesWithin, mention, plural, section, slackDate, type SlackMessage } from './format.js';
import { ACTION_RESEND, decisionBlockId } from './ids.js';
import { RESENDABLE_KINDS } from '../../use-cases/resend-notifications.js';

/**
 * A DM to each policy admin. `drift-revoked`: access the bot had granted was still on the target although the
 * records say it should not be, and the bot removed it.
 */
export function adminAlert(alert: AnyAdminAlert): SlackMessage {
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
    case 'notification-undeliverable':
      return undeliverableAlert(alert);
    default:
      return assertNever(alert);
  }
}

/** Where a refused message was going, as Slack ids say: a channel, a user (a DM), or a DM's own channel (D…). */
function destinationOf(id: string): { text: string; channel: boolean } {
  if (/^[UW][A-Z0-9]{2,}$/.test(id)) return { text: mention(id), channel: false };
  if (/^[CG][A-Z0-9]{2,}$/.test(id)) return { text: `<#${id}>`, channel: true };
  return { text: `a direct message (${code(id, 40)})`, channel: false };
}

/**
 * `notification-undeliverable`: what was refused, where, why (Slack's own code), who is left out, and what to do.
 * No message text: the admins are told which request, and can read it on its card or App Home.
 */
function undeliverableAlert(alert: UndeliverableAlert): SlackMessage {
  const { request } = alert;
  const to = destinationOf(alert.destination);
  const why = `(${code(alert.code, 60)})`;
  const req = `request ${code(request.id)}`;
  // A channel's card, rendered from the request as it stands, so a late one is still true (decision 36). An
  // approver's DM copy is sent with the first cards only, never again.
  const resendable = to.channel && (RESENDABLE_KINDS as readonly string[]).includes(alert.notification);
  const fixChannel = resendable
    ? 'restore the channel (unarchive it, or invite accessbot back), then click *Send again*; if the channel is gone for good, fix the role’s `channel` in the policy for later requests.'
    : 'fix the role’s `channel` in the policy (or invite accessbot back to the channel).';
  let what: string;
  switch (alert.notification) {
    case 'post-cards':
      what = to.channel
        ? `The approvers’ channel ${to.text} refused the card of ${req} ${why}: approvers cannot see it; ${fixChannel}`
        : `The card of ${req} could not be sent to ${to.text} ${why}: that approver did not get it in a DM; the channel card still stands.`;
      break;
    case 'refresh-cards':
      what = to.channel
        ? `The approvers’ channel ${to.text} refused an update of the card of ${req} ${why}: approvers see it out of date; ${fixChannel}`
        : `An update of the card of ${req} in ${to.text} was refused ${why}: that copy of the card is out of date.`;
      break;
    case 'alert-approvers':
      what = `The approvers’ channel ${to.text} refused an alert about ${req} ${why}: approvers were not told; ${fixChannel}`;
      break;
    case 'notify-requester':
      what = `A direct message to ${mention(request.requesterId)} about ${req} was refused ${why}: they were not told what happened to their request; please reach them another way.`;
      break;
    case 'alert-admins':
      what = `An admin alert about ${req} was refused by ${to.text} ${why}.`;
      break;
    default:
      return assertNever(alert.notification);
  }
  return {
    text: `Slack refused a message about request ${escapeMrkdwn(cut(request.id, 60))} for good (${escapeMrkdwn(cut(alert.code, 60))}).`,
    blocks: [
      section(`:warning: ${what}`),
      context(
        `The request: ${escapeMrkdwn(cut(request.resource, 100))} / ${escapeMrkdwn(cut(request.role, 100))} for ${mention(request.requesterId)}, ${request.status}. ` +
          `accessbot gave the message up and does not retry it${resendable ? ' until an admin clicks Send again' : ''}; its audit log records this as \`notification.abandoned\`.`,
      ),
      ...(resendable ? [actions(decisionBlockId(request.id), [button('Send again', ACTION_RESEND, request.id, { style: 'primary' })])] : []),
    ],
  };
}
