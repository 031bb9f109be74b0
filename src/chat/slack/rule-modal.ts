/**
 * The admins' rule editor (App Home): the form that edits the common fields of one role or adds a role, how
 * its submission is read back, and the DMs of "Download policy". Pure. Everything else a role may have
 * (requesters, escalation, risk…) is kept as it is in the file and edited there.
 */
import type { types } from '@slack/bolt';
import { formatDuration } from '../../domain/duration.js';
import type { Policy } from '../../domain/policy.js';
import { splitList, type RoleFields } from '../../policy/edit-role.js';
import { RULE_MODAL, RULE_MODAL_CALLBACK } from './ids.js';
import { INPUT_LABEL_MAX, MODAL_TITLE_MAX, OPTION_TEXT_MAX, SECTION_TEXT_MAX, SELECT_OPTIONS_MAX, escapeMrkdwn } from './limits.js';
import { plain, section, type SlackMessage } from './format.js';

/** The form's `private_metadata`: the role edited, or `resource: null` for a new role. */
export type RuleTarget = { resource: string; role: string } | { resource: null };

/** The form fields that a policy error can be shown on, by the role key the parser names. */
export const RULE_FIELDS = ['max_duration', 'approvals', 'approvers', 'channel', 'grants'] as const;

export function ruleTargetMetadata(target: RuleTarget): string {
  return JSON.stringify(target);
}

export function parseRuleTarget(metadata: string): RuleTarget | null {
  try {
    const v = JSON.parse(metadata) as unknown;
    if (typeof v !== 'object' || v === null) return null;
    const { resource, role } = v as Record<string, unknown>;
    if (resource === null) return { resource: null };
    if (typeof resource === 'string' && typeof role === 'string' && resource !== '' && role !== '') return { resource, role };
    return null;
  } catch {
    return null;
  }
}

/** Where an error that concerns no one field of the form is shown: its first input. */
export function generalBlock(target: RuleTarget): string {
  return target.resource === null ? RULE_MODAL.resourceBlock : RULE_MODAL.maxDurationBlock;
}

/** The edit form of `resource`/`role`, prefilled from the policy in force, or the add form (`resource: null`). */
export function ruleModal(policy: Policy, target: RuleTarget): types.ModalView {
  const existing = target.resource === null ? undefined : policy.resources[target.resource]?.roles[target.role];
  const title = target.resource === null ? 'Add rule' : 'Edit rule';
  const a = RULE_MODAL.action;
  const input = (blockId: string, label: string, element: types.InputBlock['element'], hint?: string): types.InputBlock => ({
    type: 'input',
    block_id: blockId,
    label: plain(label, INPUT_LABEL_MAX),
    element,
    ...(hint ? { hint: plain(hint, INPUT_LABEL_MAX) } : {}),
  });
  const blocks: types.KnownBlock[] = [];
  if (target.resource === null) {
    const options: types.PlainTextOption[] = Object.keys(policy.resources)
      .sort()
      .slice(0, SELECT_OPTIONS_MAX)
      .map((name) => ({ text: plain(name, OPTION_TEXT_MAX), value: name }));
    blocks.push(
      input(RULE_MODAL.resourceBlock, 'Resource', { type: 'static_select', action_id: a, placeholder: plain('Choose a resource'), options }, 'New resources are added in the policy file.'),
      input(RULE_MODAL.roleBlock, 'Role name', { type: 'plain_text_input', action_id: a, placeholder: plain('e.g. read'), max_length: 63 }),
    );
  } else {
    blocks.push(section(`Editing *${escapeMrkdwn(target.role)}* of \`${escapeMrkdwn(target.resource)}\`. Other settings of the role stay as they are in the policy file.`));
  }
  const text = (value: string | undefined) => (value === undefined || value === '' ? {} : { initial_value: value });
  blocks.push(
    input(
      RULE_MODAL.maxDurationBlock,
      'Max duration',
      { type: 'plain_text_input', action_id: a, placeholder: plain('e.g. 4h'), max_length: 20, ...text(existing ? formatDuration(existing.maxDurationMs) : undefined) },
      '30m, 4h, 1d or 1h30m: the longest one request may ask for.',
    ),
    input(
      RULE_MODAL.approvalsBlock,
      'Approvals needed',
      { type: 'plain_text_input', action_id: a, placeholder: plain('1'), max_length: 3, ...text(existing ? String(existing.approvals) : '1') },
      'How many distinct approvers must approve.',
    ),
    input(RULE_MODAL.approversBlock, 'Approvers', {
      type: 'multi_users_select',
      action_id: a,
      placeholder: plain('Who may approve'),
      ...(existing && existing.approvers.users.length > 0 ? { initial_users: [...existing.approvers.users] } : {}),
    }),
    input(
      RULE_MODAL.channelBlock,
      'Approvers’ channel',
      {
        type: 'conversations_select',
        action_id: a,
        placeholder: plain('Where approval cards are posted'),
        filter: { include: ['public', 'private'], exclude_bot_users: true },
        ...(existing?.channel ? { initial_conversation: existing.channel } : {}),
      },
      'The bot must be a member of the channel.',
    ),
    input(
      RULE_MODAL.grantsBlock,
      'Grants',
      { type: 'plain_text_input', action_id: a, placeholder: plain('e.g. pg_read_all_data'), ...text(existing?.grants.join(', ')) },
      'What the role grants on the target, comma-separated.',
    ),
  );
  return {
    type: 'modal',
    callback_id: RULE_MODAL_CALLBACK,
    private_metadata: ruleTargetMetadata(target),
    title: plain(title, MODAL_TITLE_MAX),
    submit: plain('Save', MODAL_TITLE_MAX),
    close: plain('Cancel', MODAL_TITLE_MAX),
    blocks,
  };
}

/** What Slack sends for one input of the form. */
export interface InputState {
  value?: string | null;
  selected_users?: string[] | null;
  selected_conversation?: string | null;
  selected_option?: { value: string } | null;
}
export type FormValues = Record<string, Record<string, InputState | undefined> | undefined>;

/** The submitted form, read back: a new role's resource and name (null when editing) and the common fields. */
export function readRuleForm(values: FormValues): { resource: string | null; role: string | null; fields: RoleFields } {
  const v = (block: string): InputState => values[block]?.[RULE_MODAL.action] ?? {};
  return {
    resource: v(RULE_MODAL.resourceBlock).selected_option?.value ?? null,
    role: v(RULE_MODAL.roleBlock).value?.trim() || null,
    fields: {
      maxDuration: v(RULE_MODAL.maxDurationBlock).value ?? '',
      approvals: v(RULE_MODAL.approvalsBlock).value ?? '',
      approvers: [...(v(RULE_MODAL.approversBlock).selected_users ?? [])],
      // A conversations_select, or a plain text input holding the id.
      channel: v(RULE_MODAL.channelBlock).selected_conversation ?? v(RULE_MODAL.channelBlock).value ?? '',
      grants: splitList(v(RULE_MODAL.grantsBlock).value ?? ''),
    },
  };
}

/** Room left in a section for the header line and the code fences. */
const PART_TEXT_MAX = SECTION_TEXT_MAX - 200;

/**
 * "Download policy": the policy text in code blocks, one message per part when it does not fit one section
 * ("part i of n"). Escaped for mrkdwn; a ``` inside the text is broken up so it cannot end the block.
 */
export function policyDownloadMessages(text: string, version: number | null): SlackMessage[] {
  const safe = escapeMrkdwn(text.replace(/```/g, '`\u200b`\u200b`'));
  const chunks: string[] = [];
  let current = '';
  for (const raw of safe.split('\n')) {
    // A single line longer than a part is split hard (rare: a long string value).
    for (let line = raw; ; ) {
      const piece = line.length > PART_TEXT_MAX ? sliceSafe(line, PART_TEXT_MAX) : line;
      if (current !== '' && current.length + 1 + piece.length > PART_TEXT_MAX) {
        chunks.push(current);
        current = piece;
      } else {
        current = current === '' ? piece : `${current}\n${piece}`;
      }
      if (piece.length === line.length) break;
      line = line.slice(piece.length);
    }
  }
  chunks.push(current);
  const n = chunks.length;
  const name = version === null ? 'The policy in force' : `Policy version ${version} (in force)`;
  return chunks.map((chunk, i) => {
    const head = n > 1 ? `${name}, part ${i + 1} of ${n}` : name;
    return { text: head, blocks: [section(`*${head}*\n\`\`\`\n${chunk}\n\`\`\``)] };
  });
}

/** Cuts at `max` without splitting an entity (`&amp;`) or a surrogate pair. */
function sliceSafe(line: string, max: number): string {
  let head = line.slice(0, max);
  const amp = head.lastIndexOf('&');
  if (amp >= 0 && amp > head.length - 5 && !head.slice(amp).includes(';')) head = head.slice(0, amp);
  const last = head.charCodeAt(head.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) head = head.slice(0, -1);
  return head === '' ? line.slice(0, 1) : head;
}
