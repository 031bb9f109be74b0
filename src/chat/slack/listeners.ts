/**
 * Thin Bolt listeners: ack within Slack's 3 seconds, read the payload, call one use case, render the result.
 * No policy or state logic here. A use case that throws (database down, Slack API error) becomes a short
 * private "try again" message with a reference id; the stack goes to the log, never to chat.
 */
import { randomUUID } from 'node:crypto';
import type { App, BlockAction, BlockButtonAction, RespondArguments, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { parseCommand } from '../../domain/command.js';
import { parseDuration } from '../../domain/duration.js';
import type { DomainError, Result } from '../../domain/errors.js';
import { requestableRoles } from '../../domain/policy.js';
import type { UseCaseDeps } from '../../use-cases/deps.js';
import type { RequestSnapshot } from '../../use-cases/ports.js';
import { cancelRequest } from '../../use-cases/cancel-request.js';
import { requestExtension } from '../../use-cases/extend-grant.js';
import { listMyRequests, requestStory } from '../../use-cases/query-requests.js';
import { reviewRequest } from '../../use-cases/review-request.js';
import { revokeEarly } from '../../use-cases/revoke-early.js';
import { submitRequest, type SubmitInput } from '../../use-cases/submit-request.js';
import { helpMessage, listMessage, receivedMessage, requestModal, statusMessage, usageMessage } from './blocks.js';
import { homeView } from './home.js';
import { ACTION_APPROVE, ACTION_CANCEL, ACTION_DENY, ACTION_REVOKE, DENY_REASON_ACTION, DENY_REASON_BLOCK, REVOKE_REASON_ACTION, REVOKE_REASON_BLOCK, REQUEST_MODAL, REQUEST_MODAL_CALLBACK, SLASH_COMMAND, parseRoleOptionValue } from './ids.js';
import { cut } from './limits.js';
import { errorText } from './messages.js';

/** Slack waits 3 s for the ack; answer inline when the work is done well before that, else follow up. */
const ACK_BUDGET_MS = 2_000;

type Outcome = Result<RequestSnapshot> | { ok: false; crashed: string };

async function settle(deps: UseCaseDeps, work: () => Promise<Result<RequestSnapshot>>, context: object): Promise<Outcome> {
  try {
    return await work();
  } catch (error) {
    const ref = randomUUID().slice(0, 8);
    deps.log.error({ ...context, ref, err: error }, 'use case failed');
    return { ok: false, crashed: ref };
  }
}

function outcomeText(outcome: { ok: true } | { ok: false; error: DomainError } | { ok: false; crashed: string }): string {
  if (outcome.ok) return '';
  if ('crashed' in outcome) {
    return `Something went wrong on our side and nothing was changed. Please try again in a minute (reference ${outcome.crashed}).`;
  }
  return errorText(outcome.error);
}

/** Modal errors are plain text: drop mrkdwn marks and entity escapes, and cut visibly to Slack's limit. */
function plainText(mrkdwn: string): string {
  const text = mrkdwn
    .replace(/<@([A-Z0-9]+)(?:\|[^>]*)?>/g, '@$1')
    .replace(/[*`_]/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  return cut(text, MODAL_ERROR_MAX);
}

const MODAL_ERROR_MAX = 150;

function commandReply(outcome: Outcome): RespondArguments {
  if (outcome.ok) return { response_type: 'ephemeral', ...receivedMessage(outcome.value) };
  return { response_type: 'ephemeral', text: outcomeText(outcome) };
}

function timeout(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
}

function revokedText(snapshot: RequestSnapshot): string {
  return `Revoking \`${snapshot.request.id}\` now; the requester and the approvers' card will say when it is done.`;
}

/**
 * A private answer to whoever clicked: ephemeral in the channel of a card, a reply through response_url for an
 * ephemeral message or a DM (where postEphemeral cannot reach), or a DM as the last resort (App Home).
 */
async function tellClicker(client: WebClient, respond: RespondFn | null, body: BlockAction, text: string): Promise<void> {
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

async function settleValue<T>(deps: UseCaseDeps, work: () => Promise<T>, context: object): Promise<{ ok: true; value: T } | { ok: false; crashed: string }> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    const ref = randomUUID().slice(0, 8);
    deps.log.error({ ...context, ref, err: error }, 'query failed');
    return { ok: false, crashed: ref };
  }
}

export function registerSlackHandlers(app: App, deps: UseCaseDeps): void {
  app.command(SLASH_COMMAND, async ({ command, ack, respond, client }) => {
    const parsed = parseCommand(command.text);
    if (!parsed.ok) {
      await ack({ response_type: 'ephemeral', ...usageMessage(parsed.problem, parsed.usage) });
      return;
    }
    const cmd = parsed.command;
    switch (cmd.kind) {
      case 'help':
        await ack({ response_type: 'ephemeral', ...helpMessage() });
        return;
      case 'request-form': {
        await ack();
        // trigger_id lives ~3 s and is single-use: open the modal before anything slow.
        const options = requestableRoles(deps.policy.current(), command.user_id);
        await client.views.open({ trigger_id: command.trigger_id, view: requestModal(options) });
        return;
      }
      case 'list': {
        const mine = await settleValue(deps, () => listMyRequests(deps, command.user_id), { user: command.user_id });
        await ack(mine.ok ? { response_type: 'ephemeral', ...listMessage(mine.value, deps.clock.now()) } : { response_type: 'ephemeral', text: outcomeText(mine) });
        return;
      }
      case 'status': {
        const story = await settleValue(deps, () => requestStory(deps, { requestId: cmd.requestId, viewerId: command.user_id }), { user: command.user_id });
        if (story.ok && story.value.ok) {
          await ack({ response_type: 'ephemeral', ...statusMessage(story.value.value, deps.clock.now()) });
        } else {
          await ack({ response_type: 'ephemeral', text: outcomeText(story.ok ? story.value : story) });
        }
        return;
      }
      case 'cancel': {
        const outcome = await settle(deps, () => cancelRequest(deps, { requestId: cmd.requestId, actorId: command.user_id }), { user: command.user_id });
        await ack({ response_type: 'ephemeral', text: outcome.ok ? `Request \`${cmd.requestId}\` is cancelled; its approvers' card says so.` : outcomeText(outcome) });
        return;
      }
      case 'revoke': {
        const outcome = await settle(deps, () => revokeEarly(deps, { requestId: cmd.requestId, actorId: command.user_id, note: cmd.note }), { user: command.user_id });
        await ack({ response_type: 'ephemeral', text: outcome.ok ? revokedText(outcome.value) : outcomeText(outcome) });
        return;
      }
      case 'extend': {
        const outcome = await settle(
          deps,
          () => requestExtension(deps, { requestId: cmd.requestId, requesterId: command.user_id, durationMs: cmd.durationMs, reason: cmd.reason }),
          { user: command.user_id },
        );
        await ack(commandReply(outcome));
        return;
      }
      case 'request': {
        const input: SubmitInput = { requesterId: command.user_id, resource: cmd.resource, role: cmd.role, durationMs: cmd.durationMs, reason: cmd.reason };
        const work = settle(deps, () => submitRequest(deps, input), { user: command.user_id, resource: cmd.resource });
        const first = await Promise.race([work, timeout(ACK_BUDGET_MS)]);
        if (first !== 'timeout') {
          await ack(commandReply(first));
          return;
        }
        await ack({ response_type: 'ephemeral', text: 'Working on your request…' });
        await respond(commandReply(await work));
        return;
      }
    }
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: new RegExp(`^(${ACTION_APPROVE}|${ACTION_DENY})$`) }, async ({ ack, body, action, client }) => {
    await ack();
    const deciderId = body.user.id;
    const typed = body.state?.values?.[DENY_REASON_BLOCK]?.[DENY_REASON_ACTION]?.value;
    const outcome = await settle(
      deps,
      () =>
        reviewRequest(deps, {
          requestId: action.value ?? '',
          deciderId,
          outcome: action.action_id === ACTION_APPROVE ? 'approve' : 'deny',
          reason: action.action_id === ACTION_DENY && typed?.trim() ? typed.trim().slice(0, 500) : null,
        }),
      { user: deciderId, action: action.action_id },
    );
    if (outcome.ok) return; // the card itself is updated from the outbox, for everyone
    await tellClicker(client, null, body, outcomeText(outcome));
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_REVOKE }, async ({ ack, body, action, client, respond }) => {
    await ack();
    const actorId = body.user.id;
    const typed = body.state?.values?.[REVOKE_REASON_BLOCK]?.[REVOKE_REASON_ACTION]?.value?.trim();
    const outcome = await settle(
      deps,
      () => revokeEarly(deps, { requestId: action.value ?? '', actorId, note: typed ? typed.slice(0, 500) : null }),
      { user: actorId, action: action.action_id },
    );
    await tellClicker(client, respond, body, outcome.ok ? revokedText(outcome.value) : outcomeText(outcome));
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_CANCEL }, async ({ ack, body, action, client, respond }) => {
    await ack();
    const actorId = body.user.id;
    const outcome = await settle(deps, () => cancelRequest(deps, { requestId: action.value ?? '', actorId }), { user: actorId, action: action.action_id });
    await tellClicker(client, respond, body, outcome.ok ? `Request \`${action.value ?? ''}\` is cancelled.` : outcomeText(outcome));
  });

  app.view(REQUEST_MODAL_CALLBACK, async ({ ack, body, view, client }) => {
    const values = view.state.values;
    const picked = parseRoleOptionValue(values[REQUEST_MODAL.roleBlock]?.[REQUEST_MODAL.roleAction]?.selected_option?.value ?? '');
    const duration = parseDuration(values[REQUEST_MODAL.durationBlock]?.[REQUEST_MODAL.durationAction]?.value ?? '');
    const reason = (values[REQUEST_MODAL.reasonBlock]?.[REQUEST_MODAL.reasonAction]?.value ?? '').trim();
    const errors: Record<string, string> = {};
    if (!picked) errors[REQUEST_MODAL.roleBlock] = 'Pick what you need access to.';
    if (!duration.ok) errors[REQUEST_MODAL.durationBlock] = duration.problem;
    if (reason === '') errors[REQUEST_MODAL.reasonBlock] = 'A reason is required (a ticket or a few words on why).';
    if (!picked || !duration.ok || reason === '') {
      await ack({ response_action: 'errors', errors });
      return;
    }
    const userId = body.user.id;
    const outcome = await settle(
      deps,
      () => submitRequest(deps, { requesterId: userId, resource: picked.resource, role: picked.role, durationMs: duration.ms, reason }),
      { user: userId, resource: picked.resource },
    );
    if (!outcome.ok && !('crashed' in outcome)) {
      const block = outcome.error.code === 'DURATION_TOO_LONG' ? REQUEST_MODAL.durationBlock : REQUEST_MODAL.roleBlock;
      await ack({ response_action: 'errors', errors: { [block]: plainText(errorText(outcome.error)) } });
      return;
    }
    await ack();
    const message = outcome.ok ? receivedMessage(outcome.value) : { text: outcomeText(outcome) };
    await client.chat.postMessage({ channel: userId, ...message });
  });

  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    await client.views.publish({ user_id: event.user, view: homeView(requestableRoles(deps.policy.current(), event.user)) });
  });

  app.error(async (error) => {
    deps.log.error({ err: error }, 'unhandled Slack listener error');
  });
}
