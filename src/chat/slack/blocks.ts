/**
 * Block Kit renderers for Slack: the one module listeners and the notifier import. Every renderer is pure and
 * returns `{ text, blocks }` (or a view), with `text` as the notification and accessibility fallback.
 * The approval card lives in `card.ts`, person-to-person notices in `notices.ts`, the `/access list` and
 * `/access status` replies in `query-replies.ts`; this file holds the other command replies and the request form.
 */
import type { types } from '@slack/bolt';
import { REASON_MAX_LENGTH } from '../../domain/command.js';
import { formatDuration } from '../../domain/duration.js';
import { EXTEND_MODAL, EXTEND_MODAL_CALLBACK, REQUEST_MODAL, REQUEST_MODAL_CALLBACK, SLASH_COMMAND, roleOptionValue } from './ids.js';
import { INPUT_LABEL_MAX, MODAL_TITLE_MAX, OPTION_TEXT_MAX, SELECT_OPTIONS_MAX, escapeAndCut, escapeMrkdwn } from './limits.js';
import { context, plain, section, type SlackMessage } from './format.js';

export { approvalCard } from './card.js';
export { adminAlert, approverAlert, endedRequesterNotice, offersActions, receivedMessage, requesterNotice } from './notices.js';
export { listMessage, statusMessage } from './query-replies.js';
export type { Block, SlackMessage } from './format.js';

const CMD = SLASH_COMMAND;

export function helpMessage(): SlackMessage {
  const usage = (text: string): string => `\`${escapeMrkdwn(text)}\``;
  return {
    text: escapeMrkdwn(
      `${CMD} request <resource> <role> <duration> <reason…> asks for temporary access; ${CMD} request alone opens a form. ` +
        `Also: ${CMD} break-glass <resource> <role> <duration> <reason…>, ${CMD} list, ${CMD} status <id>, ${CMD} cancel <id>, ${CMD} revoke <id> [reason…], ${CMD} help.`,
    ),
    blocks: [
      section(
        '*Ask for temporary access*\n' +
          `${usage(`${CMD} request <resource> <role> <duration> <reason…>`)}\n` +
          `For example \`${CMD} request prod-db read 2h INC-4821 hotfix\`. ` +
          'An approver decides in the approvers’ channel; you get a DM when access is granted and again when it ends.',
      ),
      section(
        '*Emergency access (break-glass)*\n' +
          `${usage(`${CMD} break-glass <resource> <role> <duration> <reason…>`)}\n` +
          'Only for roles whose policy allows it. Granted at once, without an approver; the reason (at least 20 characters) ' +
          'is shown to the approvers and the admins, and the grant stays flagged for review until one of them acknowledges it.',
      ),
      section(
        '*Durations*\n`30s`, `15m`, `2h`, `1d`, `1h30m`: largest unit first, each unit once. ' +
          'Each role has a maximum; the form shows it.',
      ),
      section(
        '*Your requests*\n' +
          `${usage(`${CMD} list`)}: your active access (with time left) and your pending requests.\n` +
          `${usage(`${CMD} status <id>`)}: one request's whole story: decisions, the access window, its history.\n` +
          `${usage(`${CMD} cancel <id>`)}: withdraw a pending request of yours.\n` +
          `${usage(`${CMD} revoke <id> [reason…]`)}: end access now, before its window does. ` +
          'A reason is required when revoking someone else’s access (approvers and admins of the role may).',
      ),
      section(`\`${CMD} request\` on its own opens a form listing what you may request.\n\`${CMD} help\` shows this message.`),
    ],
  };
}

/** A command that did not parse: what was wrong, and how to write it. Both strings may quote user input. */
export function usageMessage(problem: string, usage: string): SlackMessage {
  const said = escapeAndCut(capitalise(problem), 1000);
  return {
    text: `${said}. Usage: ${escapeAndCut(usage, 1000)}`,
    blocks: [
      section(`:warning: ${said}.`),
      section(`*Usage*\n\`\`\`${escapeAndCut(usage, 2000)}\`\`\``),
      context(`\`${CMD} help\` explains every command.`),
    ],
  };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export interface RequestableRole {
  resource: string;
  role: string;
  maxDurationMs: number;
  /** Used when the form's duration is left empty. */
  defaultDurationMs?: number;
}

/**
 * The request form. Offers only what the policy lets this person request, so a submission can still be
 * refused (the policy may change while the form is open) but never for an option we showed by mistake.
 */
export function requestModal(options: RequestableRole[]): types.ModalView {
  const base = {
    type: 'modal' as const,
    callback_id: REQUEST_MODAL_CALLBACK,
    title: plain('Request access', MODAL_TITLE_MAX),
  };
  if (options.length === 0) {
    return {
      ...base,
      close: plain('Close', MODAL_TITLE_MAX),
      blocks: [section('There is nothing you may request: the access policy names no resource and role for you. Ask an admin.')],
    };
  }
  const shown = options.slice(0, SELECT_OPTIONS_MAX);
  const selectOptions: types.PlainTextOption[] = shown.map((o) => ({
    text: plain(
      `${o.resource} / ${o.role} (${o.defaultDurationMs ? `default ${formatDuration(o.defaultDurationMs)}, ` : ''}max ${formatDuration(o.maxDurationMs)})`,
      OPTION_TEXT_MAX,
    ),
    // Not cut: a cut value would name another role. Names are short by the command grammar; see ids.ts.
    value: roleOptionValue(o.resource, o.role),
  }));
  const [only] = selectOptions;
  const select: types.StaticSelect = {
    type: 'static_select',
    action_id: REQUEST_MODAL.roleAction,
    placeholder: plain('Choose a resource and role'),
    options: selectOptions,
    // One choice is no choice: preselect it.
    ...(selectOptions.length === 1 && only ? { initial_option: only } : {}),
  };
  // The duration may be left empty only when every role offered has a default to fall back on.
  const durationOptional = options.every((o) => o.defaultDurationMs !== undefined);
  const blocks: types.KnownBlock[] = [
    {
      type: 'input',
      block_id: REQUEST_MODAL.roleBlock,
      label: plain('Resource / role', INPUT_LABEL_MAX),
      element: select,
      ...(options.length > shown.length
        ? { hint: plain(`Showing ${shown.length} of ${options.length}. For others use ${CMD} request <resource> <role> …`, INPUT_LABEL_MAX) }
        : {}),
    },
    {
      type: 'input',
      block_id: REQUEST_MODAL.durationBlock,
      label: plain('For how long', INPUT_LABEL_MAX),
      optional: durationOptional,
      hint: plain(
        durationOptional
          ? '30s, 15m, 2h, 1d or 1h30m, up to the maximum shown; leave empty for the role’s default.'
          : '30s, 15m, 2h, 1d or 1h30m, up to the maximum shown for the role.',
        INPUT_LABEL_MAX,
      ),
      element: { type: 'plain_text_input', action_id: REQUEST_MODAL.durationAction, placeholder: plain('e.g. 2h'), max_length: 20 },
    },
    {
      type: 'input',
      block_id: REQUEST_MODAL.reasonBlock,
      label: plain('Reason', INPUT_LABEL_MAX),
      hint: plain('Approvers see this. A ticket number and a few words is ideal.', INPUT_LABEL_MAX),
      element: {
        type: 'plain_text_input',
        action_id: REQUEST_MODAL.reasonAction,
        multiline: true,
        max_length: REASON_MAX_LENGTH,
        placeholder: plain('e.g. INC-4821: hotfix for the billing job'),
      },
    },
  ];
  return { ...base, submit: plain('Request', MODAL_TITLE_MAX), close: plain('Cancel', MODAL_TITLE_MAX), blocks };
}

/** The extension form opened by "Extend" on a grant DM: how much more time, and why. */
/** A form that only says something (loading, or why it cannot be shown), with a Close button. */
export function noticeModal(title: string, text: string): types.ModalView {
  return { type: 'modal', title: plain(title, MODAL_TITLE_MAX), close: plain('Close', MODAL_TITLE_MAX), blocks: [section(escapeAndCut(text, 2_900))] };
}

export function extendModal(request: { id: string; resource: string; role: string }): types.ModalView {
  return {
    type: 'modal',
    callback_id: EXTEND_MODAL_CALLBACK,
    private_metadata: request.id,
    title: plain('Extend access', MODAL_TITLE_MAX),
    submit: plain('Ask approvers', MODAL_TITLE_MAX),
    close: plain('Cancel', MODAL_TITLE_MAX),
    blocks: [
      section(`More time on ${escapeAndCut(`${request.resource} / ${request.role}`, 200)} (\`${escapeMrkdwn(request.id)}\`). The role's approvers decide.`),
      {
        type: 'input',
        block_id: EXTEND_MODAL.durationBlock,
        label: plain('How much more time', INPUT_LABEL_MAX),
        hint: plain('30m, 1h, 1h30m: within the role’s maximum total.', INPUT_LABEL_MAX),
        element: { type: 'plain_text_input', action_id: EXTEND_MODAL.durationAction, placeholder: plain('e.g. 30m'), max_length: 20 },
      },
      {
        type: 'input',
        block_id: EXTEND_MODAL.reasonBlock,
        label: plain('Why', INPUT_LABEL_MAX),
        element: { type: 'plain_text_input', action_id: EXTEND_MODAL.reasonAction, multiline: true, max_length: REASON_MAX_LENGTH },
      },
    ],
  };
}
