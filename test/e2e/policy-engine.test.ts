/**
 * The policy engine end to end, with the real app, database, queue and target: a role that auto-approves
 * (granted on the target with no approver, its card a record without buttons, the rate brake handing the
 * next request to people), and a high-risk role whose flagged request needs the extra approval.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack, type SlackCall } from '../support/fake-slack.js';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('policy_engine', {
    extraRoles: (roles) => `      self-serve:
        grants: [${roles.read}]
        max_duration: 1h
        approvers: { users: [${USERS.bob}, ${USERS.carol}] }
        channel: ${APPROVERS_CHANNEL}
        auto_approve: { max_duration: 30m, max_per_day: 1 }
      guarded:
        grants: [${roles.write}]
        max_duration: 1h
        approvers: { users: [${USERS.bob}, ${USERS.carol}] }
        channel: ${APPROVERS_CHANNEL}
        justification: { ticket_pattern: 'INC-\\d+' }
        risk: { high: true, flagged_approvals: 2 }
`,
  });
});
afterAll(async () => {
  await h?.close();
});

const about = (id: string) => (c: SlackCall) => JSON.stringify(c.args).includes(id);
const cardOf = (id: string) => h.slack.callsTo('chat.postMessage').find((c) => c.args.channel === APPROVERS_CHANNEL && about(id)(c));
/** What the card shows now: its last update, or the post itself. */
const currentCard = (id: string) => h.slack.callsTo('chat.update').filter(about(id)).at(-1) ?? cardOf(id);
const cardText = (id: string) => JSON.stringify(FakeSlack.blocks(currentCard(id)!));
const actionIds = (call: SlackCall | undefined) =>
  call ? FakeSlack.blocks(call).flatMap((b) => ((b as { elements?: { action_id?: string }[] }).elements ?? []).map((e) => e.action_id)).filter(Boolean) : [];
const dmsTo = (user: string, id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === user && about(id)(c));
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string;
const actions = async (id: string) => (await h.sql`SELECT action FROM audit_events WHERE request_id = ${id} ORDER BY id`).map((r) => r.action as string);
const holds = (role: string) => h.target.hasRole(h.target.principal, role);

describe('auto_approve', () => {
  it('grants on the target with no approver, posts a record card without buttons, then the rate brake asks people', async () => {
    const ack = await h.command('request prod-db self-serve 10m INC-7 quick look at the orders table');
    const id = requestIdIn(ack.body);
    expect(JSON.stringify(ack.body)).toMatch(/auto-approved/);
    expect(JSON.stringify(ack.body)).not.toContain('access_cancel'); // nothing to cancel

    await eventually(async () => expect(await statusOf(id)).toBe('active'));
    expect(await holds(h.target.roles.read)).toBe(true);
    await eventually(() => expect(cardOf(id)).toBeDefined());
    await eventually(() => expect(cardText(id)).toMatch(/Active/));
    expect(actionIds(cardOf(id))).toEqual([]);
    expect(actionIds(currentCard(id))).toEqual([]);
    expect(cardText(id)).toContain('Auto-approved* by rule');
    expect(cardText(id)).toContain('prod-db/self-serve auto_approve (up to 30m; at most 1 per 24h)');
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(1)); // granted
    expect(await actions(id)).toEqual(['request.auto-approved', 'grant.started', 'grant.activated']);
    const [row] = await h.sql`SELECT auto_approved_by, approvals_required FROM access_requests WHERE id = ${id}`;
    expect(row?.auto_approved_by).toMatch(/^prod-db\/self-serve auto_approve/);

    // One auto-approval per 24 hours: the next request waits for an approver, with the usual buttons.
    const next = requestIdIn((await h.command('request prod-db self-serve 10m INC-8 one more look')).body);
    await eventually(() => expect(cardOf(next)).toBeDefined());
    expect(await statusOf(next)).toBe('pending');
    expect(actionIds(cardOf(next))).toEqual(expect.arrayContaining(['access_approve', 'access_deny']));

    await h.command(`cancel ${next}`);
    await h.command(`revoke ${id}`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
    expect(await holds(h.target.roles.read)).toBe(false);
  });
});

describe('risk flags', () => {
  it('refuses a reason without a ticket, then shows a flagged request’s flags and waits for the extra approval', async () => {
    const refused = await h.command('request prod-db guarded 30m migration');
    expect(JSON.stringify(refused.body)).toMatch(/ticket reference/);

    const id = requestIdIn((await h.command('request prod-db guarded 30m INC-9 schema migration')).body);
    await eventually(() => expect(cardOf(id)).toBeDefined());
    expect(cardText(id)).toContain('High-risk role');
    expect(cardText(id)).not.toContain('First request'); // Alice asked for prod-db above
    expect(cardText(id)).toContain('0 of 2 approvals');

    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(() => expect(cardText(id)).toContain('1 of 2 approvals'));
    expect(await statusOf(id)).toBe('pending');
    expect(await holds(h.target.roles.write)).toBe(false);

    expect(await h.click('access_approve', id, USERS.carol)).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('active'));
    expect(await holds(h.target.roles.write)).toBe(true);
    const story = JSON.stringify((await h.command(`status ${id}`)).body);
    expect(story).toContain('Flagged for review');

    await h.command(`revoke ${id}`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
  });
});
