/** `/access …`: parse, call one use case, answer privately within Slack's 3 seconds. */
import type { App } from '@slack/bolt';
import { parseCommand } from '../../../domain/command.js';
import { requestableFor } from '../../../use-cases/groups.js';
import { cancelRequest } from '../../../use-cases/cancel-request.js';
import type { UseCaseDeps } from '../../../use-cases/deps.js';
import { requestExtension } from '../../../use-cases/extend-grant.js';
import { listMyRequests, requestStory } from '../../../use-cases/query-requests.js';
import { revokeEarly } from '../../../use-cases/revoke-early.js';
import { submitRequest, type SubmitInput } from '../../../use-cases/submit-request.js';
import { breakGlassRequest } from '../../../use-cases/break-glass.js';
import { helpMessage, listMessage, requestModal, statusMessage, usageMessage } from '../blocks.js';
import { SLASH_COMMAND } from '../ids.js';
import { outcomeText, receiptReply, revokingText, settle, settleResult } from './replies.js';

/** Slack waits 3 s for the ack; answer inline when the work is done well before that, else follow up. */
const ACK_BUDGET_MS = 2_000;

function timeout(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
}

export function registerCommands(app: App, deps: UseCaseDeps): void {
  app.command(SLASH_COMMAND, async ({ command, ack, respond, client }) => {
    const parsed = parseCommand(command.text);
    if (!parsed.ok) {
      await ack({ response_type: 'ephemeral', ...usageMessage(parsed.problem, parsed.usage) });
      return;
    }
    const cmd = parsed.command;
    const user = command.user_id;
    switch (cmd.kind) {
      case 'help':
        await ack({ response_type: 'ephemeral', ...helpMessage() });
        return;
      case 'request-form': {
        await ack();
        // trigger_id lives ~3 s and is single-use: open the modal before anything slow.
        await client.views.open({ trigger_id: command.trigger_id, view: requestModal(await requestableFor(deps, user)) });
        return;
      }
      case 'list': {
        const mine = await settle(deps, () => listMyRequests(deps, user), { user });
        await ack(mine.ok ? { response_type: 'ephemeral', ...listMessage(mine.value, deps.clock.now()) } : { response_type: 'ephemeral', text: outcomeText(mine) });
        return;
      }
      case 'status': {
        const story = await settle(deps, () => requestStory(deps, { requestId: cmd.requestId, viewerId: user }), { user });
        const result = story.ok ? story.value : story;
        await ack(
          result.ok ? { response_type: 'ephemeral', ...statusMessage(result.value, deps.clock.now()) } : { response_type: 'ephemeral', text: outcomeText(result) },
        );
        return;
      }
      case 'cancel': {
        const outcome = await settleResult(deps, () => cancelRequest(deps, { requestId: cmd.requestId, actorId: user }), { user });
        await ack({ response_type: 'ephemeral', text: outcome.ok ? `Request \`${cmd.requestId}\` is cancelled; its approvers' card says so.` : outcomeText(outcome) });
        return;
      }
      case 'revoke': {
        const outcome = await settleResult(deps, () => revokeEarly(deps, { requestId: cmd.requestId, actorId: user, note: cmd.note }), { user });
        await ack({ response_type: 'ephemeral', text: outcome.ok ? revokingText(outcome.value) : outcomeText(outcome) });
        return;
      }
      case 'extend': {
        const input = { requestId: cmd.requestId, requesterId: user, durationMs: cmd.durationMs, reason: cmd.reason };
        await ack(receiptReply(await settleResult(deps, () => requestExtension(deps, input), { user })));
        return;
      }
      case 'break-glass': {
        const input = { requesterId: user, resource: cmd.resource, role: cmd.role, durationMs: cmd.durationMs, reason: cmd.reason };
        const work = settleResult(deps, () => breakGlassRequest(deps, input), { user, resource: cmd.resource });
        const first = await Promise.race([work, timeout(ACK_BUDGET_MS)]);
        if (first !== 'timeout') {
          await ack(receiptReply(first));
          return;
        }
        await ack({ response_type: 'ephemeral', text: 'Working on your break-glass request…' });
        await respond(receiptReply(await work));
        return;
      }
      case 'request': {
        const input: SubmitInput = { requesterId: user, resource: cmd.resource, role: cmd.role, durationMs: cmd.durationMs, reason: cmd.reason };
        const work = settleResult(deps, () => submitRequest(deps, input), { user, resource: cmd.resource });
        const first = await Promise.race([work, timeout(ACK_BUDGET_MS)]);
        if (first !== 'timeout') {
          await ack(receiptReply(first));
          return;
        }
        await ack({ response_type: 'ephemeral', text: 'Working on your request…' });
        await respond(receiptReply(await work));
        return;
      }
    }
  });
}
