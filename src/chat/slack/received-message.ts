/** The requester's private confirmation, right after submitting: sent, extension sent, break-glass or auto-approved. */
import { formatDuration } from '../../domain/duration.js';
import { isBreakGlass } from '../../domain/request.js';
import type { RequestSnapshot } from '../../use-cases/ports.js';
import { escapeMrkdwn } from './limits.js';
import { RULE_SHOWN_MAX, what } from './card.js';
import { cancelActions } from './controls.js';
import { code, context, plural, section, type SlackMessage } from './format.js';
import { channelLink, plainWhat } from './notice-text.js';

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
