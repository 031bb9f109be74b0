/**
 * The admins' rule editor in the App Home: Edit / Delete per role, "Add rule", "Download policy", and the
 * rule form's submission; and "Send again" on the admins' DM about a card Slack refused for good. Thin: whether the person is an admin is checked by the use case at the change
 * (`editRule`), policy errors go back into the form on the field they name, and a successful change
 * republishes the editor's Home.
 */
import type { App, BlockButtonAction } from '@slack/bolt';
import type { RoleChange } from '../../../policy/edit-role.js';
import type { UseCaseDeps } from '../../../use-cases/deps.js';
import { editRule, isPolicyAdmin, type RuleEditErrors } from '../../../use-cases/edit-rule.js';
import { publishHome } from '../../../use-cases/home-view.js';
import { resendNotifications, type ResendOutcome } from '../../../use-cases/resend-notifications.js';
import { ACTION_POLICY_DOWNLOAD, ACTION_RESEND, ACTION_RULE_ADD, ACTION_RULE_DELETE, ACTION_RULE_EDIT, RULE_MODAL, RULE_MODAL_CALLBACK } from '../ids.js';
import { RULE_FIELDS, generalBlock, parseRuleTarget, policyDownloadMessages, readRuleForm, ruleModal, type FormValues, type RuleTarget } from '../rule-modal.js';
import { MISMATCHED_BUTTON, buttonRequestId, outcomeText, plainText, refreshClickersHome, settle, tellClicker, type Crash } from './replies.js';

type ViewAck = (response?: { response_action: 'errors'; errors: Record<string, string> }) => Promise<void>;

const NOT_ADMIN = 'Only policy admins may edit the policy.';

/** The use case's errors as the form's: by block id, the rest on the form's general block. */
function formErrors(errors: RuleEditErrors, target: RuleTarget): Record<string, string> {
  const out: Record<string, string> = {};
  const blocks = new Set<string>([...RULE_FIELDS, RULE_MODAL.resourceBlock, RULE_MODAL.roleBlock]);
  for (const [field, messages] of errors) {
    const block = blocks.has(field) && (target.resource === null || (field !== RULE_MODAL.resourceBlock && field !== RULE_MODAL.roleBlock)) ? field : generalBlock(target);
    out[block] = plainText([out[block], ...messages].filter(Boolean).join('; '));
  }
  return out;
}

/** One error line for a DM (Delete has no form to show it on). */
const errorsText = (errors: RuleEditErrors): string => [...errors.values()].flat().join('; ');

function resendText(settled: { ok: true; value: ResendOutcome } | Crash, requestId: string): string {
  const req = `request \`${requestId.slice(0, 60)}\``;
  if (!settled.ok) return `Something went wrong on our side (reference ${settled.crashed}); click Send again in a minute.`;
  const outcome = settled.value;
  if (outcome.ok) return `Sending the card of ${req} again. If Slack refuses it again, you will get another message like this one.`;
  switch (outcome.refused) {
    case 'not-admin':
      return 'Only policy admins may send a card again.';
    case 'no-such-request':
      return `accessbot has no record of ${req}.`;
    case 'nothing-given-up':
      return `Nothing of ${req} is waiting to be sent again: its card was sent, or is already on its way.`;
  }
}

export function registerAdmin(app: App, deps: UseCaseDeps): void {
  app.action<BlockButtonAction>({ type: 'block_actions', action_id: new RegExp(`^(${ACTION_RULE_EDIT}|${ACTION_RULE_ADD})$`) }, async ({ ack, body, action, client, respond }) => {
    await ack();
    const target: RuleTarget | null = action.action_id === ACTION_RULE_ADD ? { resource: null } : parseRuleTarget(action.value ?? '');
    if (!isPolicyAdmin(deps, body.user.id)) {
      await tellClicker(client, respond, body, NOT_ADMIN);
      return;
    }
    if (!target) return;
    // trigger_id lives ~3 s: open the form first; the change is checked again on submit.
    await client.views.open({ trigger_id: body.trigger_id, view: ruleModal(deps.policy.current(), target) });
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_RULE_DELETE }, async ({ ack, body, action, client, respond }) => {
    await ack();
    const actor = body.user.id;
    const target = parseRuleTarget(action.value ?? '');
    if (!target || target.resource === null) return;
    const change: RoleChange = { kind: 'delete', resource: target.resource, role: target.role };
    const settled = await settle(deps, () => editRule(deps, actor, change, RULE_FIELDS), { user: actor, action: action.action_id });
    if (!settled.ok) await tellClicker(client, respond, body, outcomeText(settled));
    else if (!settled.value.ok) await tellClicker(client, respond, body, `${target.role} of ${target.resource} was not deleted: ${errorsText(settled.value.errors)}`);
    else await tellClicker(client, respond, body, `Deleted the role ${target.role} of ${target.resource} (policy version ${settled.value.version}).`);
    await refreshClickersHome(deps, body);
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_POLICY_DOWNLOAD }, async ({ ack, body, client, respond }) => {
    await ack();
    const user = body.user.id;
    if (!isPolicyAdmin(deps, user)) {
      await tellClicker(client, respond, body, NOT_ADMIN);
      return;
    }
    const stored = await settle(deps, async () => (deps.policyVersions ? deps.policyVersions.active() : null), { user, action: ACTION_POLICY_DOWNLOAD });
    if (!stored.ok || !stored.value) {
      await tellClicker(client, respond, body, stored.ok ? 'No stored policy version is in force yet.' : outcomeText(stored));
      return;
    }
    for (const message of policyDownloadMessages(stored.value.text, stored.value.version)) {
      await client.chat.postMessage({ channel: user, ...message });
    }
  });

  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTION_RESEND }, async ({ ack, body, action, client, respond }) => {
    await ack();
    const actor = body.user.id;
    const requestId = buttonRequestId(action);
    if (!requestId) return tellClicker(client, respond, body, MISMATCHED_BUTTON);
    const settled = await settle(deps, () => resendNotifications(deps, actor, requestId), { user: actor, action: ACTION_RESEND });
    await tellClicker(client, respond, body, resendText(settled, requestId));
  });

  app.view(RULE_MODAL_CALLBACK, async ({ ack: rawAck, body, view }) => {
    const ack = rawAck as ViewAck;
    const actor = body.user.id;
    const target = parseRuleTarget(view.private_metadata);
    if (!target) {
      await ack({ response_action: 'errors', errors: { [RULE_MODAL.maxDurationBlock]: 'This form is out of date; open it again from the Home.' } });
      return;
    }
    const form = readRuleForm(view.state.values as FormValues);
    let change: RoleChange;
    if (target.resource === null) {
      if (!form.resource || !form.role) {
        // Audited as refused all the same when the submitter is no admin.
        if (!isPolicyAdmin(deps, actor)) {
          await settle(deps, () => deps.store.audit({ action: 'policy.edit-refused', actor, details: { change: 'add', code: 'NOT_AN_ADMIN' } }), { user: actor });
          await ack({ response_action: 'errors', errors: { [generalBlock(target)]: NOT_ADMIN } });
          return;
        }
        const errors: Record<string, string> = {};
        if (!form.resource) errors[RULE_MODAL.resourceBlock] = 'Pick the resource the role belongs to.';
        if (!form.role) errors[RULE_MODAL.roleBlock] = 'Name the role.';
        await ack({ response_action: 'errors', errors });
        return;
      }
      change = { kind: 'add', resource: form.resource, role: form.role, fields: form.fields };
    } else {
      change = { kind: 'edit', resource: target.resource, role: target.role, fields: form.fields };
    }
    const settled = await settle(deps, () => editRule(deps, actor, change, RULE_FIELDS), { user: actor, view: RULE_MODAL_CALLBACK });
    if (!settled.ok) {
      await ack({ response_action: 'errors', errors: { [generalBlock(target)]: plainText(outcomeText(settled)) } });
      return;
    }
    if (!settled.value.ok) {
      await ack({ response_action: 'errors', errors: formErrors(settled.value.errors, target) });
      return;
    }
    await ack();
    await settle(deps, () => publishHome(deps, actor), { user: actor, home: 'refresh' });
  });
}
