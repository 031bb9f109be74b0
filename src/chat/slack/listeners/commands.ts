/** `/access …`: parse, call one use case, answer privately within Slack's 3 seconds (`ack-budget.ts`). */
import type { App, RespondArguments } from '@slack/bolt';
import { parseCommand } from '../../../domain/command.js';
import { cancelRequest } from '../../../use-cases/cancel-request.js';
import type { UseCaseDeps } from '../../../use-cases/deps.js';
import { requestExtension } from '../../../use-cases/extend-grant.js';
import { listMyRequests, requestStory } from '../../../use-cases/query-requests.js';
import { revokeEarly } from '../../../use-cases/revoke-early.js';
import { submitRequest, type SubmitInput } from '../../../use-cases/submit-request.js';
import { breakGlassRequest } from '../../../use-cases/break-glass.js';
import { helpMessage, listMessage, statusMessage, usageMessage } from '../blocks.js';
import { SLASH_COMMAND } from '../ids.js';
import { answerCommand, openRequestForm } from './ack-budget.js';
import { outcomeText, receiptReply, revokingText, settle, settleResult } from './replies.js';

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
      case 'request-form':
        await ack();
        await openRequestForm(deps, client, user, command.trigger_id);
        return;
      case 'list': {
        const mine = settle(deps, () => listMyRequests(deps, user), { user });
        const render = (m: Awaited<typeof mine>): RespondArguments =>
          m.ok ? { response_type: 'ephemeral', ...listMessage(m.value, deps.clock.now()) } : { response_type: 'ephemeral', text: outcomeText(m) };
        await answerCommand(ack, respond, mine, render, 'Looking up your requests…');
        return;
      }
      case 'status': {
        const story = settle(deps, () => requestStory(deps, { requestId: cmd.requestId, viewerId: user }), { user }).then((s) => (s.ok ? s.value : s));
        const render = (r: Awaited<typeof story>): RespondArguments =>
          r.ok ? { response_type: 'ephemeral', ...statusMessage(r.value, deps.clock.now()) } : { response_type: 'ephemeral', text: outcomeText(r) };
        await answerCommand(ack, respond, story, render, 'Looking the request up…');
        return;
      }
      case 'cancel': {
        const outcome = settleResult(deps, () => cancelRequest(deps, { requestId: cmd.requestId, actorId: user }), { user });
        const render = (o: Awaited<typeof outcome>): RespondArguments => ({
          response_type: 'ephemeral',
          text: o.ok ? `Request \`${cmd.requestId}\` is cancelled; its approvers' card says so.` : outcomeText(o),
        });
        await answerCommand(ack, respond, outcome, render, 'Cancelling…');
        return;
      }
      case 'revoke': {
        const outcome = settleResult(deps, () => revokeEarly(deps, { requestId: cmd.requestId, actorId: user, note: cmd.note }), { user });
        await answerCommand(ack, respond, outcome, (o) => ({ response_type: 'ephemeral', text: o.ok ? revokingText(o.value) : outcomeText(o) }), 'Revoking…');
        return;
      }
      case 'extend': {
        const input = { requestId: cmd.requestId, requesterId: user, durationMs: cmd.durationMs, reason: cmd.reason };
        await answerCommand(ack, respond, settleResult(deps, () => requestExtension(deps, input), { user }), receiptReply, 'Working on your extension…');
        return;
      }
      case 'break-glass': {
        const input = { requesterId: user, resource: cmd.resource, role: cmd.role, durationMs: cmd.durationMs, reason: cmd.reason };
        const work = settleResult(deps, () => breakGlassRequest(deps, input), { user, resource: cmd.resource });
        await answerCommand(ack, respond, work, receiptReply, 'Working on your break-glass request…');
        return;
      }
      case 'request': {
        const input: SubmitInput = { requesterId: user, resource: cmd.resource, role: cmd.role, durationMs: cmd.durationMs, reason: cmd.reason };
        const work = settleResult(deps, () => submitRequest(deps, input), { user, resource: cmd.resource });
        await answerCommand(ack, respond, work, receiptReply, 'Working on your request…');
        return;
      }
    }
  });
}
