/**
 * Slack's Block Kit limits (https://docs.slack.dev/reference/block-kit) and the text helpers that keep
 * rendered messages inside them. Slack refuses a whole message when one field is too long, so renderers cut
 * user text visibly instead of letting a long reason stop a card from being posted.
 */

/** `text` of a section block, and of any mrkdwn text object we build. */
export const SECTION_TEXT_MAX = 3000;
/** One `fields` entry of a section block. */
export const SECTION_FIELD_MAX = 2000;
export const SECTION_FIELDS_MAX = 10;
export const BLOCKS_PER_MESSAGE_MAX = 50;
export const CONTEXT_ELEMENTS_MAX = 10;
export const BUTTON_VALUE_MAX = 2000;
/** Elements of one actions block. */
export const ACTIONS_ELEMENTS_MAX = 25;
/** Confirmation dialog: title, explanatory text, and the texts of its two buttons. */
export const CONFIRM_TITLE_MAX = 100;
export const CONFIRM_TEXT_MAX = 300;
export const CONFIRM_BUTTON_MAX = 30;
/** Header text, input placeholders, option values: plain_text capped at 150. */
export const PLAIN_TEXT_MAX = 150;
/** Button text. */
export const BUTTON_TEXT_MAX = 75;
/** Option text in a static_select. */
export const OPTION_TEXT_MAX = 75;
export const SELECT_OPTIONS_MAX = 100;
/** Input block labels and hints. */
export const INPUT_LABEL_MAX = 2000;
/** Modal title, submit and close texts. */
export const MODAL_TITLE_MAX = 24;
/** Block and action ids. */
export const BLOCK_ID_MAX = 255;

/** Provider errors shown in chat are cut to this: enough to recognise the failure, not a stack trace. */
export const SHOWN_ERROR_MAX = 200;

const ELLIPSIS = '…';

/** Cuts `text` to at most `max` characters, ending with `…` when anything was cut. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let end = max - ELLIPSIS.length;
  // Never split a surrogate pair: half an emoji renders as a replacement character.
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}${ELLIPSIS}`;
}

/**
 * Escapes user-supplied text for mrkdwn. Slack reads `<…>` as links and mentions (`<!channel>`,
 * `<@U…>`, `<https://evil|bank>`), so a reason must never reach a message with them intact.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Cuts mrkdwn that is already safe (escaped user text plus our own tokens) without leaving half an entity
 * (`&am`) or half a token (`<!date^…`) at the end: every raw `<` and `&` in it is ours.
 */
export function cutMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = cut(text, max).slice(0, -ELLIPSIS.length);
  return `${head.replace(/&[a-z]*$/, '').replace(/<[^>]*$/, '')}${ELLIPSIS}`;
}

/** Escapes user text and cuts the escaped result to `max`. */
export function escapeAndCut(text: string, max: number): string {
  return cutMrkdwn(escapeMrkdwn(text), max);
}
