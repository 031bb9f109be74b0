/**
 * The App Home tab: a pure renderer of what `use-cases/home-view.ts` gathered for one person.
 * - everyone: "Request access" (opens the request form), what they may request, their active grants (each
 *   with "Revoke now") and their pending requests (each with "Cancel");
 * - approvers: "Waiting for me", each request with Approve / Deny (the buttons of the approval card, same ids);
 * - admins: the rules per resource and role, with Edit / Delete per role, "Add rule" and "Download policy"
 *   (the editor: `rule-modal.ts`, `listeners/admin.ts`), and the newest audit entries.
 * Slack refuses a Home over 100 blocks or with a section over 3000 characters, so every list is cut to a
 * named maximum and says so ("…and N more"); `HOME_BLOCKS_MAX` is a last guard that should never bite.
 */
import type { types } from '@slack/bolt';
import { formatDuration } from '../../domain/duration.js';
import type { AccessRequest } from '../../domain/request.js';
import type { HomeData, Listed, RuleRow } from '../../use-cases/home-view.js';
import { what, reasonQuote } from './card.js';
import { revokeButton } from './controls.js';
import {
  ACTION_APPROVE,
  ACTION_CANCEL,
  ACTION_DENY,
  ACTION_OPEN_REQUEST_FORM,
  ACTION_POLICY_DOWNLOAD,
  ACTION_RULE_ADD,
  ACTION_RULE_DELETE,
  ACTION_RULE_EDIT,
  SLASH_COMMAND,
  decisionBlockId,
} from './ids.js';
import { ACTIONS_ELEMENTS_MAX, SECTION_TEXT_MAX, escapeMrkdwn } from './limits.js';
import { actions, bold, button, code, confirmDialog, context, linesWithin, mention, mentions, plain, plural, section, slackDate, type Block } from './format.js';
import { timeLeft, trailLine } from './query-replies.js';

/** Slack's limit on the blocks of a Home view. */
export const HOME_BLOCKS_MAX = 100;
/** Active grants shown one block each (with "Revoke now"). */
export const HOME_ACTIVE_SHOWN = 10;
/** Pending requests shown one block each (with "Cancel"). */
export const HOME_PENDING_SHOWN = 10;
/** Requests waiting for the viewer, two blocks each (the request, then Approve / Deny). */
export const HOME_WAITING_SHOWN = 10;
/** Resources in the admins' rules, one section each (its roles as lines). */
export const HOME_RESOURCES_SHOWN = 10;
/** Lines of "What you may request". */
export const HOME_REQUESTABLE_LINES = 25;
/** A waiting request's reason, quoted; the card has it in full. */
const WAITING_REASON_SHOWN_MAX = 300;

/** The visible cut of a list: `complete` false means the store held more than was read. */
const more = (n: number, complete: boolean): string => {
  if (complete) return `_…and ${n} more_`;
  return n > 0 ? `_…and at least ${n} more_` : '_…and possibly more_';
};

export function homeView(home: HomeData): types.HomeView {
  const blocks: Block[] = [
    { type: 'header', text: plain('Just-in-time access') },
    {
      ...section(
        `Ask for temporary access with the form, or \`${escapeMrkdwn(`${SLASH_COMMAND} request <resource> <role> <duration> <reason…>`)}\`.`,
        'home_intro',
      ),
      accessory: button('Request access', ACTION_OPEN_REQUEST_FORM, 'open', { style: 'primary' }),
    },
    ...activeBlocks(home),
    ...pendingBlocks(home.pending),
    ...(home.waiting ? waitingBlocks(home.waiting) : []),
    { type: 'divider' },
    requestableBlock(home.requestable),
    ...(home.admin ? adminBlocks(home.admin) : []),
  ];
  if (blocks.length > HOME_BLOCKS_MAX) {
    return { type: 'home', blocks: [...blocks.slice(0, HOME_BLOCKS_MAX - 1), context('_…the rest of this page did not fit._')] };
  }
  return { type: 'home', blocks };
}

function activeBlocks(home: HomeData): Block[] {
  const { items, complete } = home.active;
  const blocks: Block[] = [{ type: 'divider' }, section(`*My active grants* (${count(home.active)})`, 'home_active')];
  if (items.length === 0) return [...blocks, context('You hold no access granted by this bot right now.')];
  for (const request of items.slice(0, HOME_ACTIVE_SHOWN)) blocks.push(activeRow(request, home.at));
  if (items.length > HOME_ACTIVE_SHOWN || !complete) blocks.push(context(more(items.length - Math.min(items.length, HOME_ACTIVE_SHOWN), complete)));
  return blocks;
}

function activeRow(request: AccessRequest, now: Date): Block {
  const head = `${what(request)} as ${code(request.principal)} · ${code(request.id)}`;
  if (request.status === 'revoking') {
    return section(`:hourglass_flowing_sand: ${head}\nBeing revoked${request.revokeReason === 'early' ? ' early' : ''}…`, decisionBlockId(request.id));
  }
  const window = request.expiresAt ? `*${timeLeft(request.expiresAt, now)} left* (until ${slackDate(request.expiresAt)})` : 'Being granted…';
  return { ...section(`:unlock: ${head}\n${window}`, decisionBlockId(request.id)), accessory: revokeButton(request, 'Revoke now', 'own') };
}

function pendingBlocks(pending: Listed<AccessRequest>): Block[] {
  const { items, complete } = pending;
  const blocks: Block[] = [{ type: 'divider' }, section(`*My pending requests* (${count(pending)})`, 'home_pending')];
  if (items.length === 0) return [...blocks, context('Nothing waiting for a decision.')];
  for (const request of items.slice(0, HOME_PENDING_SHOWN)) blocks.push(pendingRow(request));
  if (items.length > HOME_PENDING_SHOWN || !complete) blocks.push(context(more(items.length - Math.min(items.length, HOME_PENDING_SHOWN), complete)));
  return blocks;
}

function pendingRow(request: AccessRequest): Block {
  const head = `${what(request)} for *${formatDuration(request.durationMs)}* · ${code(request.id)}`;
  if (request.status !== 'pending') return section(`:gear: ${head}\nApproved, being granted…`, decisionBlockId(request.id));
  const cancel = button('Cancel', ACTION_CANCEL, request.id, {
    confirm: confirmDialog('Cancel this request?', `Your request for ${request.resource} / ${request.role} is withdrawn; the approvers' card says so.`, 'Cancel it', 'Keep it'),
  });
  return { ...section(`:hourglass_flowing_sand: ${head}\nWaiting since ${slackDate(request.createdAt)}`, decisionBlockId(request.id)), accessory: cancel };
}

function waitingBlocks(waiting: Listed<AccessRequest>): Block[] {
  const { items, complete } = waiting;
  const blocks: Block[] = [{ type: 'divider' }, section(`*Waiting for me* (${count(waiting)})`, 'home_waiting')];
  if (items.length === 0) return [...blocks, context('No request is waiting for your decision.')];
  for (const request of items.slice(0, HOME_WAITING_SHOWN)) blocks.push(...waitingRow(request));
  if (items.length > HOME_WAITING_SHOWN || !complete) {
    blocks.push(context(`${more(items.length - Math.min(items.length, HOME_WAITING_SHOWN), complete)}; the approvers' channel has every card.`));
  }
  return blocks;
}

function waitingRow(request: AccessRequest): Block[] {
  const asks = request.extendsId
    ? `${mention(request.requesterId)} asks for *${formatDuration(request.durationMs)} more* of ${what(request)} (extends ${code(request.extendsId)})`
    : `${mention(request.requesterId)} asks for ${what(request)} for *${formatDuration(request.durationMs)}*`;
  const notes = [
    `${code(request.id)} · requested ${slackDate(request.createdAt)}`,
    ...(request.approvalsRequired > 1 ? [`needs ${plural(request.approvalsRequired, 'approval')}`] : []),
    ...(request.escalatedAt ? [':arrow_double_up: escalated'] : []),
    ...(request.flags.length > 0 ? [`:warning: flagged: ${request.flags.map((f) => code(f.code, 40)).join(', ')}`] : []),
  ];
  return [
    section(`${asks}\n${reasonQuote(request.reason, WAITING_REASON_SHOWN_MAX)}\n${notes.join(' · ')}`, `home_waiting:${request.id}`),
    actions(decisionBlockId(request.id), [
      button('Approve', ACTION_APPROVE, request.id, { style: 'primary' }),
      button('Deny', ACTION_DENY, request.id, { style: 'danger' }),
    ]),
  ];
}

function requestableBlock(roles: HomeData['requestable']): Block {
  if (roles.length === 0) return section('You may not request any access yet. Ask an admin to add you to the policy.', 'home_requestable');
  const lines = roles.map((r) => `• \`${escapeMrkdwn(r.resource)}\` *${escapeMrkdwn(r.role)}* — up to ${formatDuration(r.maxDurationMs)}`);
  return section(`*What you may request*\n${linesWithin(lines, SECTION_TEXT_MAX - 40, { maxLines: HOME_REQUESTABLE_LINES })}`, 'home_requestable');
}

function adminBlocks(admin: NonNullable<HomeData['admin']>): Block[] {
  const byResource = new Map<string, RuleRow[]>();
  for (const rule of admin.rules) byResource.set(rule.resource, [...(byResource.get(rule.resource) ?? []), rule]);
  const resources = [...byResource.values()];
  const blocks: Block[] = [
    { type: 'divider' },
    section('*Admin: access rules*', 'home_admin'),
    context('Edit the common fields of a role here; other rules are edited in the policy file for now (every setting: `examples/policy-full.yaml`).'),
    actions('home_admin_actions', [
      button('Add rule', ACTION_RULE_ADD, 'add', { style: 'primary' }),
      button('Download policy', ACTION_POLICY_DOWNLOAD, 'download'),
    ]),
  ];
  if (resources.length === 0) blocks.push(section('The policy has no resources.', 'home_rules'));
  resources.slice(0, HOME_RESOURCES_SHOWN).forEach((rules, i) => blocks.push(resourceSection(rules, i), ...ruleButtons(rules, i)));
  if (resources.length > HOME_RESOURCES_SHOWN) blocks.push(context(more(resources.length - HOME_RESOURCES_SHOWN, true)));
  const audit = admin.audit.map((e) => `${trailLine(e)}${e.requestId ? ` · ${code(e.requestId)}` : ''}`);
  blocks.push(section(`*Recent activity* (newest first)\n${audit.length === 0 ? '_no entries_' : linesWithin(audit, SECTION_TEXT_MAX - 40)}`, 'home_audit'));
  return blocks;
}

function resourceSection(rules: RuleRow[], index: number): Block {
  const [first] = rules;
  const head = first ? `${bold(first.resource)} (${code(first.provider, 40)})` : '';
  return section(`${head}\n${linesWithin(rules.map(ruleLine), SECTION_TEXT_MAX - head.length - 20)}`, `home_rules:${index}`);
}

/** Edit and Delete per role of one resource, in one actions block: the first 12 roles (25 elements max); more are edited in the file. */
function ruleButtons(rules: RuleRow[], index: number): Block[] {
  const buttons = rules.slice(0, Math.floor(ACTIONS_ELEMENTS_MAX / 2)).flatMap((rule) => {
    const value = JSON.stringify({ resource: rule.resource, role: rule.role });
    return [
      button(`Edit ${rule.role}`, ACTION_RULE_EDIT, value),
      button(`Delete ${rule.role}`, ACTION_RULE_DELETE, value, {
        style: 'danger',
        confirm: confirmDialog(
          `Delete ${rule.role}?`,
          `The role ${rule.role} of ${rule.resource} is removed from the policy as a new version; it can no longer be requested.`,
          'Delete it',
          'Keep it',
          'danger',
        ),
      }),
    ];
  });
  return buttons.length === 0 ? [] : [actions(`home_rule_actions:${index}`, buttons)];
}

function ruleLine(rule: RuleRow): string {
  const parts = [
    `grants ${rule.grants.slice(0, 5).map((g) => code(g, 60)).join(', ')}${rule.grants.length > 5 ? ` and ${rule.grants.length - 5} more` : ''}`,
    `max ${formatDuration(rule.maxDurationMs)}`,
    `${plural(rule.approvals, 'approval')} by ${rule.approvers.length > 0 ? mentions(rule.approvers.slice(0, 10)) : '_nobody_'}${rule.approvers.length > 10 ? ` and ${rule.approvers.length - 10} more` : ''}`,
    `cards in ${channel(rule.channel)}`,
    ...(rule.requesters ? [`only ${plural(rule.requesters.length, 'requester')}`] : []),
    ...(rule.escalation ? [`escalates after ${formatDuration(rule.escalation.afterMs)} to ${mentions(rule.escalation.users.slice(0, 5))}${rule.escalation.channel ? ` in ${channel(rule.escalation.channel)}` : ''}`] : []),
    ...(rule.autoApprove ? ['auto-approve'] : []),
    ...(rule.highRisk ? ['high-risk'] : []),
    ...(rule.riskChecks ? ['risk checks'] : []),
    ...(rule.justification ? ['justification rule'] : []),
  ];
  return `• ${bold(rule.role)}: ${parts.join(' · ')}`;
}

/** A channel id as a link; anything else (a name in the policy) as code. */
function channel(id: string): string {
  return /^[CG][A-Z0-9]{2,}$/.test(id) ? `<#${id}>` : code(id, 80);
}

function count(list: Listed<unknown>): string {
  return `${list.items.length}${list.complete ? '' : '+'}`;
}
