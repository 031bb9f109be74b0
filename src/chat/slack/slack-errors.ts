/**
 * Which of Slack's answers mean "never": a Web API platform error (`ok: false`, thrown by @slack/web-api 8 as
 * `WebAPIPlatformError`, `code` `slack_webapi_platform_error`, Slack's error string in `data.error`) whose code
 * says that the same call can never succeed. Those become `PermanentChatError`, which the outbox delivery gives
 * up on (deliver-notification.ts); everything else stays a transient error, retried as before: HTTP errors
 * (5xx), rate limits (429, `ratelimited`), network errors, and every platform error not listed here.
 *
 * Conservative on purpose: when unsure, transient. Sources: the error tables of chat.postMessage and chat.update
 * (docs.slack.dev/reference/methods/chat.postMessage, …/chat.update). Left out although they never succeed on
 * retry either, because they are the bot's own configuration, fixed once by an operator, after which every
 * retried message goes out: the token errors (`invalid_auth`, `not_authed`, `account_inactive` — "authentication
 * token is for a deleted user or workspace", the bot's token, not the recipient —, `token_revoked`,
 * `token_expired`, `missing_scope`, `no_permission`, `not_allowed_token_type`, `team_access_not_granted`,
 * `ekm_access_denied`, `access_denied`) and the workspace being migrated (`team_added_to_org`,
 * `org_login_required`). Left out too: `invalid_arguments`, Slack's catch-all, which may be a bug fixed by the
 * next deploy.
 */
import { PermanentChatError } from '../../use-cases/ports.js';

/** Slack error codes that retrying the same call can never turn into a success. */
export const PERMANENT_SLACK_ERRORS: ReadonlySet<string> = new Set([
  // The channel: deleted, archived (or frozen), the bot removed from it or not allowed to post in it.
  'channel_not_found',
  'is_archived',
  'is_inactive',
  'not_in_channel',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
  // The person, for a DM posted to a user id: unknown, deactivated, a bot, or the app's DMs switched off.
  'user_not_found',
  'user_not_visible',
  'user_disabled',
  'cannot_dm_bot',
  'messages_tab_disabled',
  // The message as rendered: refused whatever the moment.
  'msg_too_long',
  'msg_blocks_too_long',
  'no_text',
  'invalid_blocks',
  'invalid_blocks_format',
  'invalid_attachments',
  'too_many_attachments',
  // The message to update (chat.update): deleted, not the bot's, or past the workspace's edit window.
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
]);

/** Slack's error string, when `error` is a Web API platform error (duck-typed: Bolt may bring its own copy). */
export function slackErrorCode(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, data } = error as { code?: unknown; data?: { error?: unknown } };
  if (code !== 'slack_webapi_platform_error') return null;
  return typeof data?.error === 'string' ? data.error : null;
}

/** `error` as a `PermanentChatError` when Slack refused for good, else unchanged. */
export function classifySlackError(error: unknown, destination: string): unknown {
  const code = slackErrorCode(error);
  return code !== null && PERMANENT_SLACK_ERRORS.has(code) ? new PermanentChatError(code, destination, { cause: error }) : error;
}

/** Runs one Web API call for `destination`, turning a refusal for good into `PermanentChatError`. */
export async function slackCall<T>(destination: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw classifySlackError(error, destination);
  }
}
