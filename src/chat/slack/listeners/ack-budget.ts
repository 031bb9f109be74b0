/**
 * Slack's 3 seconds. Slack waits 3 s for the answer to a slash command or a form submission, and a trigger id
 * opens a form only within 3 s of the person's action; past that Bolt answers 404 by itself, a late `ack()`
 * throws, and the person sees "trouble connecting" while the work may well have been done. Work that can take
 * longer (a directory lookup through Slack's API with its retries and rate limits, a row lock held by another
 * click) is raced against a budget well inside it: done in time, it is answered inline; not done, the person
 * is answered at once and told the outcome when the work ends, never left with nothing.
 */
import type { RespondArguments, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { requestableFor } from '../../../use-cases/groups.js';
import type { UseCaseDeps } from '../../../use-cases/deps.js';
import { noticeModal, requestModal } from '../blocks.js';
import { withinTime, type Raced } from '../../../time-limit.js';
import { outcomeText, settle } from './replies.js';

/** Slack waits 3 s for the ack; this leaves room for the round trip. */
export const ACK_BUDGET_MS = 2_000;
/** A trigger id is good for 3 s from the person's action, which happened before we heard of it. */
export const FORM_OPEN_BUDGET_MS = 1_500;

/** `work`'s value if it settles within `budgetMs`, else the promise to wait on after answering. */
export function withinBudget<T>(work: Promise<T>, budgetMs: number = ACK_BUDGET_MS): Promise<Raced<T>> {
  return withinTime(work, budgetMs);
}

/**
 * A command's private answer: inline when `work` is done within the budget; otherwise "working on it" at once,
 * and the answer through the command's `response_url` when it is. `work` must not throw (wrap it in `settle`).
 */
export async function answerCommand<T>(
  ack: (response: RespondArguments) => Promise<void>,
  respond: RespondFn,
  work: Promise<T>,
  render: (value: T) => RespondArguments,
  working: string,
): Promise<void> {
  const first = await withinBudget(work);
  if (first.done) {
    await ack(render(first.value));
    return;
  }
  await ack({ response_type: 'ephemeral', text: working });
  await respond(render(await first.later));
}

/**
 * Opens the request form listing what `userId` may request. Finding that out can mean asking Slack for user
 * group members; when it takes longer than the trigger id lives, a "Loading…" form is opened first and
 * replaced once the list is known. A failure shows in the form, never as silence.
 */
export async function openRequestForm(deps: UseCaseDeps, client: WebClient, userId: string, triggerId: string): Promise<void> {
  const options = settle(deps, () => requestableFor(deps, userId), { user: userId, form: 'request' });
  const view = (settled: Awaited<typeof options>) =>
    settled.ok ? requestModal(settled.value) : noticeModal('Request access', outcomeText(settled));
  const first = await withinBudget(options, FORM_OPEN_BUDGET_MS);
  if (first.done) {
    await client.views.open({ trigger_id: triggerId, view: view(first.value) });
    return;
  }
  const opened = await client.views.open({ trigger_id: triggerId, view: noticeModal('Request access', 'Loading what you may request…') });
  const settled = await first.later;
  const viewId = opened.view?.id;
  if (viewId) await client.views.update({ view_id: viewId, view: view(settled) });
}
