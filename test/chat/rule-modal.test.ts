import { describe, expect, it } from 'vitest';
import { RULE_MODAL, RULE_MODAL_CALLBACK } from '../../src/chat/slack/ids.js';
import { SECTION_TEXT_MAX } from '../../src/chat/slack/limits.js';
import { generalBlock, parseRuleTarget, policyDownloadMessages, readRuleForm, ruleModal } from '../../src/chat/slack/rule-modal.js';
import { parsePolicy } from '../../src/policy/load.js';

const TEXT = `version: 1
admins: [U0ADMIN03]
resources:
  prod-db:
    provider: postgres
    connection: { env: PROD_DB_URL }
    roles:
      read:
        grants: [pg_read_all_data, pg_monitor]
        max_duration: 4h
        approvers: { users: [U0BOB0002, U0CAROL03] }
        approvals: 1
        channel: C0APPROVE1
`;
const parsed = parsePolicy(TEXT, 'policy');
if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
const policy = parsed.policy;

const inputs = (view: ReturnType<typeof ruleModal>) => view.blocks.filter((b) => b.type === 'input') as any[];

describe('the rule form', () => {
  it('edit: prefilled from the policy, metadata names the role', () => {
    const view = ruleModal(policy, { resource: 'prod-db', role: 'read' });
    expect(view.callback_id).toBe(RULE_MODAL_CALLBACK);
    expect(parseRuleTarget(view.private_metadata!)).toEqual({ resource: 'prod-db', role: 'read' });
    const byId = Object.fromEntries(inputs(view).map((b) => [b.block_id, b.element]));
    expect(Object.keys(byId)).toEqual(['max_duration', 'approvals', 'approvers', 'channel', 'grants']);
    expect(byId.max_duration.initial_value).toBe('4h');
    expect(byId.approvals.initial_value).toBe('1');
    expect(byId.approvers).toMatchObject({ type: 'multi_users_select', initial_users: ['U0BOB0002', 'U0CAROL03'] });
    expect(byId.channel).toMatchObject({ type: 'conversations_select', initial_conversation: 'C0APPROVE1' });
    expect(byId.grants.initial_value).toBe('pg_read_all_data, pg_monitor');
    expect(inputs(view).every((b) => b.element.action_id === RULE_MODAL.action)).toBe(true);
    expect(generalBlock({ resource: 'prod-db', role: 'read' })).toBe('max_duration');
  });

  it('add: asks for the resource (existing ones) and the role name', () => {
    const view = ruleModal(policy, { resource: null });
    expect(parseRuleTarget(view.private_metadata!)).toEqual({ resource: null });
    const [resource, role] = inputs(view);
    expect(resource.block_id).toBe('resource');
    expect(resource.element.options.map((o: any) => o.value)).toEqual(['prod-db']);
    expect(role.block_id).toBe('role');
    expect(generalBlock({ resource: null })).toBe('resource');
  });

  it('reads a submission back', () => {
    const v = (value: object) => ({ [RULE_MODAL.action]: value });
    expect(
      readRuleForm({
        resource: v({ selected_option: { value: 'prod-db' } }),
        role: v({ value: ' audit ' }),
        max_duration: v({ value: '2h' }),
        approvals: v({ value: '2' }),
        approvers: v({ selected_users: ['U0BOB0002'] }),
        channel: v({ selected_conversation: 'C0X' }),
        grants: v({ value: 'a, b' }),
      }),
    ).toEqual({ resource: 'prod-db', role: 'audit', fields: { maxDuration: '2h', approvals: '2', approvers: ['U0BOB0002'], channel: 'C0X', grants: ['a', 'b'] } });
  });

  it.each(['', 'nope', '{"resource":1}', 'null'])('a malformed metadata %j is no target', (m) => {
    expect(parseRuleTarget(m)).toBeNull();
  });
});

describe('Download policy', () => {
  it('one message for a short policy, in a code block, escaped', () => {
    const [only, ...rest] = policyDownloadMessages('a: "<b> & c"\n', 3);
    expect(rest).toEqual([]);
    expect(only!.text).toBe('Policy version 3 (in force)');
    expect(JSON.stringify(only!.blocks)).toContain('```\\na: \\"&lt;b&gt; &amp; c\\"');
  });

  it('splits a long policy into parts within the section limit, losing nothing', () => {
    const text = Array.from({ length: 400 }, (_, i) => `line_${i}: ${'x'.repeat(i % 7 === 0 ? 4000 : 30)}`).join('\n');
    const messages = policyDownloadMessages(text, 9);
    const n = messages.length;
    expect(n).toBeGreaterThan(3);
    messages.forEach((m, i) => {
      expect(m.text).toBe(`Policy version 9 (in force), part ${i + 1} of ${n}`);
      for (const b of m.blocks) expect((b as any).text.text.length).toBeLessThanOrEqual(SECTION_TEXT_MAX);
    });
    const body = messages.map((m) => /```\n([\s\S]*)\n```$/.exec((m.blocks[0] as any).text.text)![1]).join('');
    expect(body.replace(/\n/g, '')).toBe(text.replace(/\n/g, ''));
  });
});
