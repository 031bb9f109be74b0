import { describe, expect, it } from 'vitest';
import type { types } from '@slack/bolt';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import type { AccessRequest } from '../../src/domain/request.js';
import type { HomeData, RuleRow } from '../../src/use-cases/home-view.js';
import type { RecentAuditEntry } from '../../src/use-cases/ports.js';
import {
  HOME_ACTIVE_SHOWN,
  HOME_BLOCKS_MAX,
  HOME_PENDING_SHOWN,
  HOME_RESOURCES_SHOWN,
  HOME_WAITING_SHOWN,
  homeView,
} from '../../src/chat/slack/home.js';
import {
  ACTION_APPROVE,
  ACTION_CANCEL,
  ACTION_DENY,
  ACTION_OPEN_REQUEST_FORM,
  ACTION_POLICY_DOWNLOAD,
  ACTION_REVOKE,
  ACTION_RULE_ADD,
  ACTION_RULE_DELETE,
  ACTION_RULE_EDIT,
  decisionBlockId,
} from '../../src/chat/slack/ids.js';
import { BUTTON_TEXT_MAX, CONFIRM_TEXT_MAX, SECTION_TEXT_MAX } from '../../src/chat/slack/limits.js';
import { ALICE, BOB, CAROL, T0, buttons, later, request, visible } from './slack-fixtures.js';

const ADMIN = 'U0ADMIN03';

function home(patch: Partial<HomeData> = {}): HomeData {
  return {
    viewerId: ALICE,
    at: later(30 * MINUTE),
    requestable: [{ resource: 'prod-db', role: 'read', maxDurationMs: 4 * HOUR }],
    active: { items: [], complete: true },
    pending: { items: [], complete: true },
    waiting: null,
    admin: null,
    ...patch,
  };
}

const activeGrant = (patch: Partial<AccessRequest> = {}) =>
  request({ id: 'req_active', status: 'active', grantedAt: T0, expiresAt: later(2 * HOUR), ...patch });

function rule(patch: Partial<RuleRow> = {}): RuleRow {
  return {
    resource: 'prod-db',
    provider: 'postgres',
    role: 'read',
    grants: ['pg_read_all_data'],
    maxDurationMs: 4 * HOUR,
    approvals: 1,
    approvers: [BOB, CAROL],
    channel: 'C0APPROVE1',
    requesters: null,
    escalation: null,
    autoApprove: false,
    highRisk: false,
    riskChecks: false,
    justification: false,
    ...patch,
  };
}

const auditEntry = (i: number, patch: Partial<RecentAuditEntry> = {}): RecentAuditEntry => ({
  at: later(i * MINUTE),
  requestId: `req_${i}`,
  actor: BOB,
  action: 'request.approved',
  details: {},
  ...patch,
});

type Rendered = { text: string; blocks: types.KnownBlock[] };

/** The Home view, as a message for the shared helpers (`buttons`, `visible`), after checking it is a Home. */
function render(data: HomeData): Rendered {
  const view = homeView(data);
  expect(view.type).toBe('home');
  return { text: 'home', blocks: view.blocks as types.KnownBlock[] };
}

/** The checks Slack makes on a Home view (what the fake Slack and the real one refuse). */
function expectHomeWithinLimits(view: Rendered): void {
  expect(view.blocks.length).toBeLessThanOrEqual(HOME_BLOCKS_MAX);
  const ids = view.blocks.flatMap((b) => (b.block_id ? [b.block_id] : []));
  expect(new Set(ids).size).toBe(ids.length);
  for (const b of view.blocks) {
    if (b.type === 'section') expect(b.text?.text.length ?? 0).toBeLessThanOrEqual(SECTION_TEXT_MAX);
    if (b.type === 'context') for (const e of b.elements) if ('text' in e && typeof e.text === 'string') expect(e.text.length).toBeLessThanOrEqual(SECTION_TEXT_MAX);
  }
  for (const b of buttons(view)) {
    expect(b.text.text.length).toBeLessThanOrEqual(BUTTON_TEXT_MAX);
    if (b.confirm) expect(b.confirm.text.text.length).toBeLessThanOrEqual(CONFIRM_TEXT_MAX);
  }
}

const blockIds = (view: Rendered) => view.blocks.map((b) => b.block_id ?? '');

describe('App Home: everyone', () => {
  it('has a Request access button, and says when there is nothing granted or pending', () => {
    const view = render(home());
    expectHomeWithinLimits(view);
    expect(buttons(view).map((b) => b.action_id)).toEqual([ACTION_OPEN_REQUEST_FORM]);
    const text = visible(view);
    expect(text).toContain('*My active grants* (0)');
    expect(text).toContain('*My pending requests* (0)');
    expect(text).toMatch(/`prod-db` \*read\* — up to 4h/);
    expect(text).not.toContain('Waiting for me');
    expect(text).not.toContain('Recent activity');
    expect(blockIds(view)).not.toContain('home_admin');
  });

  it('shows each active grant with its time left and a Revoke now button for it', () => {
    const view = render(home({ active: { items: [activeGrant()], complete: true } }));
    expectHomeWithinLimits(view);
    const row = view.blocks.find((b) => b.block_id === decisionBlockId('req_active'));
    expect(row?.type === 'section' && row.text?.text).toMatch(/1h30m left/);
    const revoke = buttons(view).find((b) => b.action_id === ACTION_REVOKE);
    expect(revoke).toMatchObject({ value: 'req_active', text: { text: 'Revoke now' } });
    // The requester's own grant: the dialog asks before giving the access back, and names what ends.
    expect(revoke?.style).toBe('danger');
    expect(revoke?.confirm).toEqual({
      title: { type: 'plain_text', text: 'Give the access back now?', emoji: true },
      text: { type: 'plain_text', text: 'Your access to prod-db / read ends now, before its window does. You can request it again later.', emoji: true },
      confirm: { type: 'plain_text', text: 'Revoke now', emoji: true },
      deny: { type: 'plain_text', text: 'Keep it', emoji: true },
      style: 'danger',
    });
  });

  it('shows a grant being revoked without a button', () => {
    const view = render(home({ active: { items: [activeGrant({ status: 'revoking', revokeReason: 'early' })], complete: true } }));
    expect(visible(view)).toContain('Being revoked early');
    expect(buttons(view).map((b) => b.action_id)).not.toContain(ACTION_REVOKE);
  });

  it('shows each pending request with Cancel, and an approved one as being granted without it', () => {
    const pending = request({ id: 'req_wait' });
    const approved = request({ id: 'req_appr', status: 'approved' });
    const view = render(home({ pending: { items: [pending, approved], complete: true } }));
    expectHomeWithinLimits(view);
    expect(buttons(view).filter((b) => b.action_id === ACTION_CANCEL).map((b) => b.value)).toEqual(['req_wait']);
    expect(visible(view)).toContain('Approved, being granted');
  });

  it('says when nothing may be requested', () => {
    expect(visible(render(home({ requestable: [] })))).toContain('You may not request any access yet');
  });
});

describe('App Home: approvers', () => {
  it('lists the requests waiting for the viewer with Approve and Deny, the card’s own action ids and block id', () => {
    const waiting = request({ id: 'req_bob', requesterId: CAROL, approvalsRequired: 2, flags: [{ code: 'first-request', reason: 'first' }] });
    const view = render(home({ viewerId: BOB, waiting: { items: [waiting], complete: true } }));
    expectHomeWithinLimits(view);
    const block = view.blocks.find((b) => b.block_id === decisionBlockId('req_bob'));
    expect(block?.type).toBe('actions');
    const ids = buttons(view).filter((b) => b.value === 'req_bob').map((b) => b.action_id);
    expect(ids).toEqual([ACTION_APPROVE, ACTION_DENY]);
    const text = visible(view);
    expect(text).toContain('*Waiting for me* (1)');
    expect(text).toContain(`<@${CAROL}> asks for *prod-db* / *read* for *2h*`);
    expect(text).toContain('needs 2 approvals');
    expect(text).toContain('`first-request`');
  });

  it('an approver with nothing waiting sees the section, empty; a non-approver does not see it', () => {
    expect(visible(render(home({ waiting: { items: [], complete: true } })))).toContain('No request is waiting for your decision');
    expect(visible(render(home()))).not.toContain('Waiting for me');
  });
});

describe('App Home: admins', () => {
  it('lists the rules per resource and role with Edit / Delete each, Add rule, Download policy, and the recent audit entries', () => {
    const rules = [
      rule(),
      rule({
        role: 'write',
        approvals: 2,
        maxDurationMs: HOUR,
        requesters: [ALICE],
        autoApprove: true,
        highRisk: true,
        justification: true,
        escalation: { afterMs: 30 * MINUTE, users: [ADMIN], channel: 'C0ESCALAT1' },
      }),
    ];
    const view = render(home({ viewerId: ADMIN, admin: { rules, audit: [auditEntry(1), auditEntry(2, { action: 'grant.activated', actor: 'system' })] } }));
    expectHomeWithinLimits(view);
    const text = visible(view);
    expect(text).toContain('*Admin: access rules*');
    expect(text).toContain('other rules are edited in the policy file for now');
    expect(text).toContain('*prod-db* (`postgres`)');
    expect(text).toContain(`• *read*: grants \`pg_read_all_data\` · max 4h · 1 approval by <@${BOB}>, <@${CAROL}> · cards in <#C0APPROVE1>`);
    expect(text).toMatch(/• \*write\*: .*2 approvals.*only 1 requester · escalates after 30m to <@U0ADMIN03> in <#C0ESCALAT1> · auto-approve · high-risk · justification rule/);
    expect(text).toContain('*Recent activity*');
    expect(text).toMatch(/approved by <@U0BOB0002> · `req_1`/);
    expect(text).toMatch(/access granted · `req_2`/);
    expect(buttons(view).map((b) => `${b.action_id} ${b.value}`)).toEqual([
      `${ACTION_OPEN_REQUEST_FORM} open`,
      `${ACTION_RULE_ADD} add`,
      `${ACTION_POLICY_DOWNLOAD} download`,
      `${ACTION_RULE_EDIT} {"resource":"prod-db","role":"read"}`,
      `${ACTION_RULE_DELETE} {"resource":"prod-db","role":"read"}`,
      `${ACTION_RULE_EDIT} {"resource":"prod-db","role":"write"}`,
      `${ACTION_RULE_DELETE} {"resource":"prod-db","role":"write"}`,
    ]);
    // Delete asks first.
    expect(buttons(view).filter((b) => b.action_id === ACTION_RULE_DELETE).every((b) => b.confirm?.title?.text.startsWith('Delete '))).toBe(true);
  });
});

describe('App Home: limits', () => {
  const many = (n: number, make: (i: number) => AccessRequest) => Array.from({ length: n }, (_, i) => make(i));

  it('with 200 of everything, stays within 100 blocks and 3000 characters per section, and cuts every list visibly', () => {
    const longReason = 'x'.repeat(2000);
    const view = render(
      home({
        viewerId: ADMIN,
        requestable: Array.from({ length: 200 }, (_, i) => ({ resource: `resource-${i}-${'r'.repeat(40)}`, role: `role-${i}`, maxDurationMs: HOUR })),
        active: { items: many(200, (i) => activeGrant({ id: `req_a${i}` })), complete: true },
        pending: { items: many(200, (i) => request({ id: `req_p${i}` })), complete: true },
        waiting: { items: many(200, (i) => request({ id: `req_w${i}`, requesterId: CAROL, reason: longReason })), complete: false },
        admin: {
          rules: Array.from({ length: 200 }, (_, i) => rule({ resource: `res-${i % 20}`, role: `role-${i}`, approvers: Array.from({ length: 30 }, (_, j) => `U0APPR${j}X`) })),
          audit: Array.from({ length: 200 }, (_, i) => auditEntry(i, { details: { code: 'NOT_AN_APPROVER' } })),
        },
      }),
    );
    expectHomeWithinLimits(view);
    const ids = blockIds(view);
    expect(ids.filter((id) => /^req_decision:req_a/.test(id))).toHaveLength(HOME_ACTIVE_SHOWN);
    expect(ids.filter((id) => /^req_decision:req_p/.test(id))).toHaveLength(HOME_PENDING_SHOWN);
    expect(ids.filter((id) => /^req_decision:req_w/.test(id))).toHaveLength(HOME_WAITING_SHOWN);
    expect(ids.filter((id) => id.startsWith('home_rules:'))).toHaveLength(HOME_RESOURCES_SHOWN);
    const text = visible(view);
    expect(text).toContain(`…and ${200 - HOME_ACTIVE_SHOWN} more`);
    expect(text).toContain(`…and ${200 - HOME_PENDING_SHOWN} more`);
    expect(text).toContain(`…and at least ${200 - HOME_WAITING_SHOWN} more`);
    expect(text).toContain(`…and ${20 - HOME_RESOURCES_SHOWN} more`);
    expect(text).toMatch(/\(200\+\)|\(200\)/);
    expect(text).toContain('the policy file');
    // the rest of the page still made it: nothing was cut by the last-resort guard
    expect(text).not.toContain('did not fit');
  });

  it('escapes user text: a reason, a resource and a role cannot mention, link or break out of their span', () => {
    const hostile = request({
      id: 'req_evil',
      requesterId: CAROL,
      reason: '<!channel> see <https://evil.example|bank> & *bold*',
      resource: 'db`<@U0EVIL>`',
      role: '*admin*',
    });
    const view = render(
      home({
        viewerId: BOB,
        waiting: { items: [hostile], complete: true },
        pending: { items: [{ ...hostile, id: 'req_mine', requesterId: BOB }], complete: true },
        requestable: [{ resource: '<!here>', role: '<@U0X>', maxDurationMs: HOUR }],
      }),
    );
    const text = visible(view);
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<!here>');
    expect(text).not.toContain('<https://evil');
    expect(text).not.toContain('<@U0EVIL>');
    expect(text).not.toContain('<@U0X>');
    expect(text).toContain('&lt;!channel&gt;');
  });
});
