/**
 * How listeners answer: a use case that throws becomes a short private "try again" with a reference id (the
 * stack goes to the log, never to chat); a domain error becomes its sentence; answers to a click go
 * privately to the clicker wherever the click came from.
 */
import { randomUUID } from 'node:crypto';
import type { BlockAction, ButtonAction, RespondArguments, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { DomainError, Result } from '../../../domain/errors.js';
import type { UseCaseDeps } from '../../../use-cases/deps.js';
import { publishHome } from '../../../use-cases/home-view.js';
import type { RequestSnapshot } from '../../../use-cases/ports.js';
import { receivedMessage } from '../blocks.js';
import { requestIdOfDecisionBlock } from '../ids.js';
import { cut } from '../limits.js';
import { errorText } from '../messages.js';

export type Crash = { ok: false; crashed: string };
export type Outcome = Result<RequestSnapshot> | Crash;

/** Runs a use case; an exception is logged with a reference and returned as a crash, never thrown to Bolt. */
export async function settle<T>(deps: UseCaseDeps, work: () => Promise<T>, context: object): Promise<{ ok: true; value: T } | Crash> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    const ref = randomUUID().slice(0, 8);
    deps.log.error({ ...context, ref, err: error }, 'use case failed');
    return { ok: false, crashed: ref };
  }
}

/** `settle` for use cases that already return a Result: one level of wrapping, not two. */
export async function settleResult(deps: UseCaseDeps, work: () => Promise<Result<RequestSnapshot>>, context: object): Promise<Outcome> {
  const settled = await settle(deps, work, context);
  return settled.ok ? settled.value : settled;
}

export function outcomeText(outcome: { ok: true } | { ok: false; error: DomainError } | Crash): string {
  if (outcome.ok) return '';
  if ('crashed' in outcome) {
    return `Something went wrong on our side and nothing was changed. Please try again in a minute (reference ${outcome.crashed}).`;
  }
  return errorText(outcome.error);
}

const MODAL_ERROR_MAX = 150;

/** Modal errors are plain text: drop mrkdwn marks and entity escapes, and cut visibly to Slack's limit. */
export function plainText(mrkdwn: string): string {
  const text = mrkdwn
    .replace(/<@([A-Z0-9]+)(?:\|[^>]*)?>/g, '@$1')
    .replace(/[*`_]/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  return cut(text, MODAL_ERROR_MAX);
}

/** The private reply to a request or extension just sent: its receipt, or why it was not sent. */
export function receiptReply(outcome: Outcome): RespondArguments {
  if (outcome.ok) return { response_type: 'ephemeral', ...receivedMessage(outcome.value) };
  return { response_type: 'ephemeral', text: outcomeText(outcome) };
}

export function revokingText(snapshot: RequestSnapshot): string {
  return `Revoking \`${snapshot.request.id}\` now; the requester and the approvers' card will say when it is done.`;
}

/**
 * A private answer to whoever clicked: ephemeral in the channel of a card, a reply through response_url for an
 * ephemeral message or a DM (where postEphemeral cannot reach), or a DM as the last resort (App Home).
 */
export async function tellClicker(client: WebClient, respond: RespondFn | null, body: BlockAction, text: string): Promise<void> {
  const channel = body.channel?.id;
  const inDm = channel?.startsWith('D') ?? false;
  if (respond && body.response_url && (inDm || body.container?.is_ephemeral)) {
    await respond({ response_type: 'ephemeral', replace_original: false, text });
  } else if (channel && !inDm) {
    await client.chat.postEphemeral({ channel, user: body.user.id, text });
  } else {
    await client.chat.postMessage({ channel: body.user.id, text });
  }
}

/**
 * A click on a button of the App Home: Slack sends `container.type: 'view'` and the Home view, with no channel
 * and no response_url, so any answer goes by DM (`tellClicker`) and the Home itself shows the result.
 */
export function clickedInHome(body: BlockAction): boolean {
  return body.container?.type === 'view' && body.view?.type === 'home';
}

/** After a click in the App Home, republishes the clicker's Home; a failure is logged, never thrown to Bolt. */
export async function refreshClickersHome(deps: UseCaseDeps, body: BlockAction): Promise<void> {
  if (!clickedInHome(body)) return;
  await settle(deps, () => publishHome(deps, body.user.id), { user: body.user.id, home: 'refresh' });
}

/**
 * The request a button acts on: its value, cross-checked with the id its block carries (`ids.ts`). Slack signs
 * what it sends, so a mismatch is a payload not made from one of our messages; it is refused, never guessed at.
 */
export function buttonRequestId(action: ButtonAction): string | null {
  const value = action.value ?? '';
  return value !== '' && requestIdOfDecisionBlock(action.block_id) === value ? value : null;
}

export const MISMATCHED_BUTTON = 'This button does not belong to the message it was clicked in; nothing was changed.';
