/** Modal submissions: the request form and the extension form. Validation errors are shown in the form. */
import type { App } from '@slack/bolt';
import { reasonProblem } from '../../../domain/command.js';
import { parseDuration } from '../../../domain/duration.js';
import type { UseCaseDeps } from '../../../use-cases/deps.js';
import { requestExtension } from '../../../use-cases/extend-grant.js';
import { submitRequest } from '../../../use-cases/submit-request.js';
import { receivedMessage } from '../blocks.js';
import { EXTEND_MODAL, EXTEND_MODAL_CALLBACK, REQUEST_MODAL, REQUEST_MODAL_CALLBACK, parseRoleOptionValue } from '../ids.js';
import { errorText } from '../messages.js';
import { withinBudget } from './ack-budget.js';
import { outcomeText, plainText, settleResult, type Outcome } from './replies.js';

type ViewAck = (response?: { response_action: 'errors'; errors: Record<string, string> }) => Promise<void>;

/**
 * Domain refusals go back into the form, on the field they concern; anything else is a DM to the person. Work
 * that outlasts the ack budget (`ack-budget.ts`) closes the form at once, and its outcome, a refusal included,
 * is the DM: a late ack would fail, and the person would submit again.
 */
async function answer(ack: ViewAck, work: Promise<Outcome>, fieldFor: (code: string) => string, dm: (text: { text: string; blocks?: unknown[] }) => Promise<unknown>) {
  const first = await withinBudget(work);
  if (first.done && !first.value.ok && !('crashed' in first.value)) {
    await ack({ response_action: 'errors', errors: { [fieldFor(first.value.error.code)]: plainText(errorText(first.value.error)) } });
    return;
  }
  await ack();
  const outcome = first.done ? first.value : await first.later;
  await dm(outcome.ok ? receivedMessage(outcome.value) : { text: outcomeText(outcome) });
}

export function registerViews(app: App, deps: UseCaseDeps): void {
  app.view(REQUEST_MODAL_CALLBACK, async ({ ack, body, view, client }) => {
    const values = view.state.values;
    const picked = parseRoleOptionValue(values[REQUEST_MODAL.roleBlock]?.[REQUEST_MODAL.roleAction]?.selected_option?.value ?? '');
    const typed = (values[REQUEST_MODAL.durationBlock]?.[REQUEST_MODAL.durationAction]?.value ?? '').trim();
    // Empty: the role's default_duration applies (submit refuses, naming the maximum, when it has none).
    const duration = typed === '' ? ({ ok: true, ms: null } as const) : parseDuration(typed);
    const reason = (values[REQUEST_MODAL.reasonBlock]?.[REQUEST_MODAL.reasonAction]?.value ?? '').trim();
    const errors: Record<string, string> = {};
    if (!picked) errors[REQUEST_MODAL.roleBlock] = 'Pick what you need access to.';
    if (!duration.ok) errors[REQUEST_MODAL.durationBlock] = duration.problem;
    const reasonRefused = reason === '' ? 'A reason is required (a ticket or a few words on why).' : reasonProblem(reason);
    if (reasonRefused) errors[REQUEST_MODAL.reasonBlock] = reasonRefused;
    if (!picked || !duration.ok || reasonRefused) {
      await ack({ response_action: 'errors', errors });
      return;
    }
    const userId = body.user.id;
    const input = { requesterId: userId, resource: picked.resource, role: picked.role, durationMs: duration.ms, reason };
    const outcome = settleResult(deps, () => submitRequest(deps, input), { user: userId, resource: picked.resource });
    await answer(
      ack as ViewAck,
      outcome,
      (code) => (code === 'DURATION_TOO_LONG' ? REQUEST_MODAL.durationBlock : REQUEST_MODAL.roleBlock),
      (message) => client.chat.postMessage({ channel: userId, ...(message as { text: string }) }),
    );
  });

  app.view(EXTEND_MODAL_CALLBACK, async ({ ack, body, view, client }) => {
    const values = view.state.values;
    const duration = parseDuration(values[EXTEND_MODAL.durationBlock]?.[EXTEND_MODAL.durationAction]?.value ?? '');
    const reason = (values[EXTEND_MODAL.reasonBlock]?.[EXTEND_MODAL.reasonAction]?.value ?? '').trim();
    const reasonRefused = reason === '' ? 'Say why you need more time.' : reasonProblem(reason);
    if (!duration.ok || reasonRefused) {
      const errors: Record<string, string> = {};
      if (!duration.ok) errors[EXTEND_MODAL.durationBlock] = duration.problem;
      if (reasonRefused) errors[EXTEND_MODAL.reasonBlock] = reasonRefused;
      await ack({ response_action: 'errors', errors });
      return;
    }
    const userId = body.user.id;
    const input = { requestId: view.private_metadata, requesterId: userId, durationMs: duration.ms, reason };
    const outcome = settleResult(deps, () => requestExtension(deps, input), { user: userId });
    await answer(
      ack as ViewAck,
      outcome,
      (code) => (code === 'EXTENSION_TOO_LONG' ? EXTEND_MODAL.durationBlock : EXTEND_MODAL.reasonBlock),
      (message) => client.chat.postMessage({ channel: userId, ...(message as { text: string }) }),
    );
  });
}
