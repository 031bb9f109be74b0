/**
 * Small Block Kit and mrkdwn builders shared by the renderers. Pure; every builder enforces the Slack limit
 * of what it builds, so a renderer cannot produce a message Slack would refuse.
 */
import type { types } from '@slack/bolt';
import {
  ACTIONS_ELEMENTS_MAX,
  BUTTON_TEXT_MAX,
  BUTTON_VALUE_MAX,
  CONFIRM_BUTTON_MAX,
  CONFIRM_TEXT_MAX,
  CONFIRM_TITLE_MAX,
  CONTEXT_ELEMENTS_MAX,
  PLAIN_TEXT_MAX,
  SECTION_FIELD_MAX,
  SECTION_FIELDS_MAX,
  SECTION_TEXT_MAX,
  SHOWN_ERROR_MAX,
  cut,
  cutMrkdwn,
  escapeAndCut,
  escapeMrkdwn,
} from './limits.js';

export type Block = types.KnownBlock;

/** What `chat.postMessage` / `chat.update` / `respond` need. `text` is the notification and screen-reader fallback. */
export interface SlackMessage {
  text: string;
  blocks: Block[];
}

/**
 * `verbatim: true` stops Slack from auto-linking bare `@channel`, `#channel` or URLs in user text; our own
 * mentions and dates use explicit `<…>` tokens, which still render.
 */
export function mrkdwn(text: string, max = SECTION_TEXT_MAX): types.MrkdwnElement {
  return { type: 'mrkdwn', text: cutMrkdwn(text, max), verbatim: true };
}

export function plain(text: string, max = PLAIN_TEXT_MAX): types.PlainTextElement {
  return { type: 'plain_text', text: cut(text, max), emoji: true };
}

export function section(text: string, blockId?: string): types.SectionBlock {
  return { type: 'section', ...(blockId ? { block_id: blockId } : {}), text: mrkdwn(text) };
}

export function fieldsSection(fields: string[], blockId?: string): types.SectionBlock {
  return {
    type: 'section',
    ...(blockId ? { block_id: blockId } : {}),
    fields: fields.slice(0, SECTION_FIELDS_MAX).map((f) => mrkdwn(f, SECTION_FIELD_MAX)),
  };
}

export function context(...texts: string[]): types.ContextBlock {
  return { type: 'context', elements: texts.slice(0, CONTEXT_ELEMENTS_MAX).map((t) => mrkdwn(t)) };
}

export function actions(blockId: string, elements: types.Button[]): types.ActionsBlock {
  return { type: 'actions', block_id: blockId, elements: elements.slice(0, ACTIONS_ELEMENTS_MAX) };
}

export interface ButtonOptions {
  style?: 'primary' | 'danger';
  confirm?: types.ConfirmationDialog;
}

/**
 * A button whose `value` is what the listener acts on (a request id, far below the limit). A value over the
 * limit is sliced rather than letting Slack refuse the whole message; the listener then finds no such request.
 */
export function button(text: string, actionId: string, value: string, options: ButtonOptions = {}): types.Button {
  return {
    type: 'button',
    action_id: actionId,
    text: plain(text, BUTTON_TEXT_MAX),
    value: value.slice(0, BUTTON_VALUE_MAX),
    ...(options.style ? { style: options.style } : {}),
    ...(options.confirm ? { confirm: options.confirm } : {}),
  };
}

/** A confirmation step before a button acts. Plain text throughout: the dialog renders no mentions or dates. */
export function confirmDialog(title: string, text: string, confirm: string, deny: string, style?: 'primary' | 'danger'): types.ConfirmationDialog {
  return {
    title: plain(title, CONFIRM_TITLE_MAX),
    text: plain(text, CONFIRM_TEXT_MAX),
    confirm: plain(confirm, CONFIRM_BUTTON_MAX),
    deny: plain(deny, CONFIRM_BUTTON_MAX),
    ...(style ? { style } : {}),
  };
}

/**
 * Joins already-safe mrkdwn lines, keeping as many whole lines as fit in `max` characters and `maxLines`
 * lines, and says visibly how many were left out (`more(n)`, "…and N more" by default). With `keep: 'last'`
 * the newest (last) lines are kept and the note about the earlier ones comes first.
 */
export function linesWithin(
  lines: string[],
  max: number,
  options: { maxLines?: number; keep?: 'first' | 'last'; more?: (n: number) => string } = {},
): string {
  const { maxLines = Infinity, keep = 'first', more = (n: number) => `_…and ${n} more_` } = options;
  const ordered = keep === 'first' ? lines : [...lines].reverse();
  const reserve = more(lines.length).length + 1;
  const kept: string[] = [];
  let length = 0;
  for (const line of ordered) {
    const separator = kept.length > 0 ? 1 : 0;
    const room = kept.length === lines.length - 1 ? max : max - reserve;
    if (kept.length >= maxLines || length + separator + line.length > room) break;
    kept.push(line);
    length += separator + line.length;
  }
  const rest = lines.length - kept.length;
  if (rest > 0) kept.push(more(rest));
  if (keep === 'last') kept.reverse();
  return cutMrkdwn(kept.join('\n'), max);
}

/** A Slack user mention. Anything that is not a user id (e.g. the `system` actor) is shown as escaped text. */
export function mention(userId: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

export function mentions(userIds: string[]): string {
  return userIds.map(mention).join(', ');
}

/** A date shown in each reader's own time zone; the ISO text is what clients that cannot render it show. */
export function slackDate(at: Date): string {
  const unix = Math.floor(at.getTime() / 1000);
  return `<!date^${unix}^{date_short_pretty} {time}|${at.toISOString()}>`;
}

/** Inline code for a name (resource, role, principal, grant). Backticks would end the span, so they go. */
export function code(text: string, max = 100): string {
  return `\`${escapeAndCut(text.replace(/`/g, "'"), max)}\``;
}

/** Bold user-supplied name. */
export function bold(text: string, max = 100): string {
  return `*${escapeAndCut(text.replace(/\*/g, ''), max)}*`;
}

/**
 * Quotes user text: every line gets `>`, so a multi-line reason stays inside the quote (a typed `>` is
 * escaped and cannot open or close one). Cut to `max` after quoting.
 */
export function quote(text: string, max: number): string {
  const lines = escapeMrkdwn(text.trim()).split('\n');
  return cutMrkdwn(lines.map((line) => `>${line}`).join('\n'), max);
}

/**
 * Provider errors may echo connection strings or credentials; this masks the common shapes before an error
 * reaches a shared channel (architecture invariant 5). It is a net, not a guarantee: providers must not put
 * secrets in errors in the first place.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, '$1***@')
    .replace(/\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)(\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi, '$1$2***')
    .replace(/\bxox[a-z]-[A-Za-z0-9-]+/g, 'xox?-***')
    .replace(/\bBearer\s+\S+/gi, 'Bearer ***');
}

/** A provider error as shown in chat: redacted, cut, escaped, in inline code. */
export function shownError(error: string | null): string {
  if (!error) return '_no error recorded_';
  const oneLine = redactSecrets(error).replace(/\s+/g, ' ').trim();
  return code(oneLine, SHOWN_ERROR_MAX);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
