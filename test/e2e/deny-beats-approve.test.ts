/**
 * Deny beats approve, end to end with the real app, database, queue and target. The deciding approval starts
 * the role's approval grace (`approval_grace`); a deny that lands before the grant job claims the request ends
 * it, whatever approvals came first. The card says so and keeps a Deny button meanwhile; once the grant has
 * started, a deny is refused privately and the grant stands (it can be revoked).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack, type SlackCall } from '../support/fake-slack.js';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';

const GRACE_MS = 3_000;

let h: Harness;
beforeAll(async () => {
  h = await startHarness('deny_beats', {
    extraRoles: (roles) => `      guarded:
        grants: [${roles.read}]
        max_duration: 1h
        approvers: { users: [${USERS.bob}, ${USERS.carol}] }
        channel: ${APPROVERS_CHANNEL}
        approval_grace: ${GRACE_MS / 1000}s
      ungraced:
        grants: [${roles.write}]
        max_duration: 1h
        approvers: { users: [${USERS.bob}, ${USERS.carol}] }
        channel: ${APPROVERS_CHANNEL}
        approval_grace: off
`,
  });
});
afterAll(async () => {
  await h?.close();
});

const about = (id: string) => (c: SlackCall) => JSON.stringify(c.args).includes(id);
const cardOf = (id: string) => h.slack.callsTo('chat.postMessage').find((c) => c.args.channel === APPROVERS_CHANNEL && about(id)(c));
const updatesOf = (id: string) => h.slack.callsTo('chat.update').filter(about(id));
const cardText = (call: SlackCall) => JSON.stringify(FakeSlack.blocks(call));
const actionIds = (call: SlackCall | undefined) =>
  call ? FakeSlack.blocks(call).flatMap((b) => ((b as { elements?: { action_id?: string }[] }).elements ?? []).map((e) => e.action_id)).filter(Boolean) : [];
const dmsTo = (user: string, id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === user && about(id)(c));
const ephemeralsTo = (user: string, id: string) => h.slack.callsTo('chat.postEphemeral').filter((c) => c.args.user === user && String(c.args.text).includes(id));
const row = async (id: string) =>
  (await h.sql`SELECT status, decided_at, grant_after, grant_started_at FROM access_requests WHERE id = ${id}`)[0] as {
    status: string;
    decided_at: Date | null;
    grant_after: Date | null;
    grant_started_at: Date | null;
  };
const audit = async (id: string) =>
  (await h.sql`SELECT action, actor, details FROM audit_events WHERE request_id = ${id} ORDER BY id`).map((r) => ({
    action: r.action as string,
    actor: r.actor as string,
    details: r.details as Record<string, unknown>,
  }));
const holds = (role: string) => h.target.hasRole(h.target.principal, role);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function newRequest(text: string): Promise<string> {
  const res = await h.command(text, USERS.alice);
  expect(res.status).toBe(200);
  const id = requestIdIn(res.body);
  await eventually(() => expect(cardOf(id)).toBeDefined());
  return id;
}

describe('a deny inside the approval grace', () => {
  it('overrides the approval: denied, nothing granted even after the grace, one DM, the card shows both decisions', async () => {
    const id = await newRequest('request prod-db guarded 30m INC-900 deny wins');

    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(async () => expect((await row(id)).status).toBe('approved'));
    const approved = await row(id);
    expect(approved.grant_after!.getTime() - approved.decided_at!.getTime()).toBe(GRACE_MS);
    // The approvers see that a deny still wins, and a card that still offers Deny (and only Deny).
    await eventually(() => expect(updatesOf(id).some((u) => cardText(u).includes('unless an approver denies first'))).toBe(true));
    const graceCard = updatesOf(id).find((u) => cardText(u).includes('unless an approver denies first'))!;
    expect(actionIds(graceCard)).toEqual(['access_deny']);

    expect(await h.click('access_deny', id, USERS.carol, 'change freeze until Monday')).toBe(200);
    await eventually(async () => expect((await row(id)).status).toBe('denied'));

    // Past the grace, with time for a (wrongly) scheduled grant job to run: still nothing granted.
    await sleep(GRACE_MS + 1_500);
    expect(await row(id)).toMatchObject({ status: 'denied', grant_after: null, grant_started_at: null });
    expect(await holds(h.target.roles.read)).toBe(false);
    const actions = await audit(id);
    expect(actions.map((a) => a.action)).toEqual(['request.submitted', 'request.approved', 'request.denied']);
    expect(actions[2]).toMatchObject({ actor: USERS.carol, details: { reason: 'change freeze until Monday', overrodeApprovals: [USERS.bob] } });

    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(1));
    expect(JSON.stringify(dmsTo(USERS.alice, id)[0]!.args)).toMatch(/denied/i);
    expect(JSON.stringify(dmsTo(USERS.alice, id)[0]!.args)).toContain('change freeze until Monday');
    await eventually(() => expect(cardText(updatesOf(id).at(-1)!)).toMatch(/Denied\* by <@U0CAROL03>/));
    const finalCard = updatesOf(id).at(-1)!;
    expect(cardText(finalCard)).toContain(`Approved so far by <@${USERS.bob}>`);
    expect(actionIds(finalCard)).toEqual([]);
  });
});

describe('no deny inside the grace', () => {
  it('the grant waits for the grace, then starts: claimed, granted, active', async () => {
    const id = await newRequest('request prod-db guarded 30m INC-901 nobody objects');
    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(async () => expect((await row(id)).decided_at).not.toBeNull());
    const approvedAt = (await row(id)).decided_at!;

    await eventually(async () => expect((await row(id)).status).toBe('active'), 15_000);
    const granted = (await h.sql`SELECT granted_at FROM grants WHERE request_id = ${id} AND granted_at IS NOT NULL`)[0]!.granted_at as Date;
    expect(granted.getTime() - approvedAt.getTime()).toBeGreaterThanOrEqual(GRACE_MS);
    expect((await row(id)).grant_started_at!.getTime()).toBeGreaterThanOrEqual(approvedAt.getTime() + GRACE_MS);
    expect(await holds(h.target.roles.read)).toBe(true);
    expect((await audit(id)).map((a) => a.action)).toEqual(
      expect.arrayContaining(['request.approved', 'grant.started', 'grant.activated']),
    );
    await h.clickRevoke(id, USERS.alice);
    await eventually(async () => expect(await holds(h.target.roles.read)).toBe(false), 15_000);
  });
});

describe('a deny after the grant has started', () => {
  it('is refused privately; the grant stands and the refusal is audited', async () => {
    const id = await newRequest('request prod-db ungraced 30m INC-902 too late to deny');
    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(async () => expect((await row(id)).status).toBe('active'), 15_000);

    expect(await h.click('access_deny', id, USERS.carol)).toBe(200);
    await eventually(() => expect(ephemeralsTo(USERS.carol, id)).toHaveLength(1));
    expect(String(ephemeralsTo(USERS.carol, id)[0]!.args.text)).toMatch(new RegExp(`already decided by <@${USERS.bob}>`));
    expect((await row(id)).status).toBe('active');
    expect(await holds(h.target.roles.write)).toBe(true);
    expect((await audit(id)).filter((a) => a.action === 'decision.refused')).toEqual([
      { action: 'decision.refused', actor: USERS.carol, details: expect.objectContaining({ outcome: 'deny', code: 'NOT_PENDING' }) },
    ]);
    await h.clickRevoke(id, USERS.alice);
    await eventually(async () => expect(await holds(h.target.roles.write)).toBe(false), 15_000);
  });
});
