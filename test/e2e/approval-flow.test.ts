/**
 * The product, end to end: Alice asks in Slack, Bob approves on the card, the role is really granted on the
 * target PostgreSQL, and really revoked when the window ends. Also deny, and the two-approval flow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../support/fake-slack.js';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('flow');
});
afterAll(async () => {
  await h?.close();
});

const cardFor = (id: string) =>
  h.slack.callsTo('chat.postMessage').find((c) => c.args.channel === APPROVERS_CHANNEL && JSON.stringify(c.args).includes(id));
const updatesOf = (id: string) => h.slack.callsTo('chat.update').filter((c) => JSON.stringify(c.args).includes(id));
const dmsTo = (user: string, id: string) =>
  h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === user && JSON.stringify(c.args).includes(id));
const actionsOf = (call: { args: Record<string, unknown> }) =>
  FakeSlack.blocks(call as never).filter((b) => b.type === 'actions') as { elements: { action_id: string; value: string }[] }[];
const audit = async (id: string) =>
  (await h.sql`SELECT action, actor FROM audit_events WHERE request_id = ${id} ORDER BY id`).map((r) => `${r.action}:${r.actor}`);

describe('a request approved by one approver', () => {
  it('is confirmed privately, carded, granted on the real database, then revoked when the window ends', async () => {
    const res = await h.command('request prod-db read 6s INC-4821 hotfix');
    expect(res.status).toBe(200);
    expect(res.body.response_type).toBe('ephemeral');
    const id = requestIdIn(res.body);

    // The card lands in the approvers' channel with the request and both buttons carrying the id.
    await eventually(() => expect(cardFor(id)).toBeDefined());
    const card = cardFor(id)!;
    const cardText = JSON.stringify(FakeSlack.blocks(card));
    for (const part of [`<@${USERS.alice}>`, 'prod-db', 'read', 'INC-4821 hotfix', id]) expect(cardText).toContain(part);
    const buttons = actionsOf(card).flatMap((a) => a.elements);
    expect(buttons.map((b) => [b.action_id, b.value])).toEqual([
      ['access_approve', id],
      ['access_deny', id],
    ]);

    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);

    // The role is really granted on the target, and Alice is told what and until when.
    await eventually(async () => expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(true));
    await eventually(() => expect(dmsTo(USERS.alice, id).length).toBe(1));
    expect(JSON.stringify(dmsTo(USERS.alice, id)[0]!.args)).toContain(h.target.principal);

    // The card is updated in place: who decided; Approve and Deny are gone, only Revoke remains while active.
    // (The approval and the grant each refresh the card; wait for the grant's.)
    await eventually(() =>
      expect(actionsOf(updatesOf(id).at(-1) ?? { args: {} }).flatMap((a) => a.elements).map((b) => b.action_id)).toEqual(['access_revoke']),
    );
    const last = updatesOf(id).at(-1)!;
    expect(last.args.ts).toBe(card.args.ts ?? last.args.ts);
    expect(JSON.stringify(FakeSlack.blocks(last))).toContain(`<@${USERS.bob}>`);

    // When the window ends the role is really gone, and Alice is told.
    await eventually(async () => expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(false), 20_000);
    await eventually(() => expect(dmsTo(USERS.alice, id).length).toBe(2));
    const [row] = await h.sql`SELECT r.status, g.granted_at, g.expires_at, g.revoked_at FROM access_requests r JOIN grants g ON g.request_id = r.id WHERE r.id = ${id}`;
    expect(row?.status).toBe('revoked');
    expect(row!.revoked_at.getTime()).toBeGreaterThanOrEqual(row!.expires_at.getTime());
    expect(row!.expires_at.getTime() - row!.granted_at.getTime()).toBe(6_000);
    // Once revoked, the card has no buttons at all.
    await eventually(() => expect(actionsOf(updatesOf(id).at(-1)!)).toEqual([]));

    expect(await audit(id)).toEqual([
      `request.submitted:${USERS.alice}`,
      `request.approved:${USERS.bob}`,
      'grant.started:system',
      'grant.activated:system',
      'revoke.started:system',
      'revoke.completed:system',
    ]);
  });
});

describe('a denied request', () => {
  it('ends at once with the reason on the card and in the requester DM, and grants nothing', async () => {
    const id = requestIdIn((await h.command('request prod-db read 2h INC-1 look at logs')).body);
    await eventually(() => expect(cardFor(id)).toBeDefined());
    expect(await h.click('access_deny', id, USERS.carol, 'use the read replica')).toBe(200);

    await eventually(() => expect(dmsTo(USERS.alice, id).length).toBe(1));
    expect(JSON.stringify(dmsTo(USERS.alice, id)[0]!.args)).toContain('use the read replica');
    await eventually(() => expect(updatesOf(id).length).toBeGreaterThan(0));
    const last = updatesOf(id).at(-1)!;
    expect(actionsOf(last)).toEqual([]);
    expect(JSON.stringify(FakeSlack.blocks(last))).toContain(`<@${USERS.carol}>`);
    const [row] = await h.sql`SELECT status FROM access_requests WHERE id = ${id}`;
    expect(row?.status).toBe('denied');
    expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(false);
    const decisions = await h.sql`SELECT approver_id, outcome, reason FROM decisions WHERE request_id = ${id}`;
    expect(decisions.map((d) => ({ ...d }))).toEqual([{ approver_id: USERS.carol, outcome: 'deny', reason: 'use the read replica' }]);
  });
});

describe('a role that needs two approvals', () => {
  it('shows 1 of 2 and keeps its buttons until a second, distinct approver approves', async () => {
    const id = requestIdIn((await h.command('request prod-db write 30m INC-9 migrate')).body);
    await eventually(() => expect(cardFor(id)).toBeDefined());

    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(() => expect(updatesOf(id).length).toBe(1));
    const partial = updatesOf(id)[0]!;
    expect(JSON.stringify(FakeSlack.blocks(partial))).toMatch(/1 of 2/);
    expect(actionsOf(partial).flatMap((a) => a.elements).map((b) => b.action_id)).toEqual(['access_approve', 'access_deny']);

    // Bob again: refused privately, nothing recorded twice.
    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(() =>
      expect(h.slack.callsTo('chat.postEphemeral').some((c) => c.args.user === USERS.bob && /already/i.test(String(c.args.text)))).toBe(true),
    );
    expect(await h.target.hasRole(h.target.principal, h.target.roles.write)).toBe(false);

    expect(await h.click('access_approve', id, USERS.carol)).toBe(200);
    await eventually(async () => expect(await h.target.hasRole(h.target.principal, h.target.roles.write)).toBe(true));
    const decisions = await h.sql`SELECT approver_id FROM decisions WHERE request_id = ${id} ORDER BY id`;
    expect(decisions.map((d) => d.approver_id)).toEqual([USERS.bob, USERS.carol]);
  });
});
