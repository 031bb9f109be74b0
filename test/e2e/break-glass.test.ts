/**
 * Break-glass end to end, with the real app, database, queue and target: a role with `break_glass: true` is
 * granted at once with no approver click, its card says BREAK-GLASS with an Acknowledge button, the admins
 * are DMed, the requester's own Acknowledge is refused privately, and an approver's is recorded on the card
 * and in the audit log. A role without the switch refuses the verb.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack, type SlackCall } from '../support/fake-slack.js';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';

const ADMIN = 'U0ADMIN03';
const REASON = 'INC-77 orders DB is down, restarting replication';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('break_glass', {
    extraRoles: (roles) => `      emergency:
        grants: [${roles.read}]
        max_duration: 1h
        approvers: { users: [${USERS.bob}, ${USERS.carol}] }
        channel: ${APPROVERS_CHANNEL}
        break_glass: true
`,
  });
});
afterAll(async () => {
  await h?.close();
});

const about = (id: string) => (c: SlackCall) => JSON.stringify(c.args).includes(id);
const cardOf = (id: string) => h.slack.callsTo('chat.postMessage').find((c) => c.args.channel === APPROVERS_CHANNEL && about(id)(c));
const currentCard = (id: string) => h.slack.callsTo('chat.update').filter(about(id)).at(-1) ?? cardOf(id);
const cardText = (id: string) => JSON.stringify(FakeSlack.blocks(currentCard(id)!));
const actionIds = (call: SlackCall | undefined) =>
  call ? FakeSlack.blocks(call).flatMap((b) => ((b as { elements?: { action_id?: string }[] }).elements ?? []).map((e) => e.action_id)).filter(Boolean) : [];
const dmsTo = (user: string, id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === user && about(id)(c));
const ephemeralsTo = (user: string) => h.slack.callsTo('chat.postEphemeral').filter((c) => c.args.user === user);
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string;
const actions = async (id: string) => (await h.sql`SELECT action FROM audit_events WHERE request_id = ${id} ORDER BY id`).map((r) => r.action as string);
const holds = (role: string) => h.target.hasRole(h.target.principal, role);

describe('break-glass', () => {
  it('refuses a role without break_glass, and a short reason', async () => {
    const refused = await h.command(`break-glass prod-db read 30m ${REASON}`);
    expect(JSON.stringify(refused.body)).toMatch(/does not allow break-glass/);
    const short = await h.command('break-glass prod-db emergency 30m db down');
    expect(JSON.stringify(short.body)).toMatch(/at least 20 characters/);
    expect(await h.sql`SELECT id FROM access_requests`).toHaveLength(0);
  });

  it('grants at once, broadcasts loudly, refuses the requester’s own acknowledgement and records an approver’s', async () => {
    const ack = await h.command(`break-glass prod-db emergency 30m ${REASON}`);
    const id = requestIdIn(ack.body);
    expect(JSON.stringify(ack.body)).toMatch(/Break-glass/);

    // Granted on the real target with nobody clicking anything.
    await eventually(async () => expect(await statusOf(id)).toBe('active'));
    expect(await holds(h.target.roles.read)).toBe(true);

    await eventually(() => expect(cardOf(id)).toBeDefined());
    await eventually(() => expect(cardText(id)).toMatch(/Active/));
    expect(cardText(id)).toContain('BREAK-GLASS');
    expect(cardText(id)).toContain(REASON);
    expect(cardText(id)).toContain('Flagged for review');
    expect(actionIds(currentCard(id))).toEqual(['access_acknowledge', 'access_revoke']);
    expect(actionIds(cardOf(id))).not.toContain('access_approve');

    await eventually(() => expect(dmsTo(ADMIN, id)).toHaveLength(1));
    expect(JSON.stringify(dmsTo(ADMIN, id)[0]!.args)).toContain('BREAK-GLASS');

    // The requester cannot acknowledge their own; they are told privately and nothing changes.
    expect(await h.click('access_acknowledge', id, USERS.alice)).toBe(200);
    await eventually(() => expect(ephemeralsTo(USERS.alice).length).toBeGreaterThan(0));
    expect(String(ephemeralsTo(USERS.alice).at(-1)!.args.text)).toMatch(/your own/);
    expect((await h.sql`SELECT acknowledged_by FROM access_requests WHERE id = ${id}`)[0]?.acknowledged_by).toBeNull();

    // An approver acknowledges: recorded, audited, and the card says so (Revoke stays while active).
    expect(await h.click('access_acknowledge', id, USERS.bob)).toBe(200);
    await eventually(() => expect(cardText(id)).toContain('Acknowledged by'));
    expect(cardText(id)).toContain(USERS.bob);
    expect(actionIds(currentCard(id))).toEqual(['access_revoke']);
    const [row] = await h.sql`SELECT acknowledged_by, acknowledged_at FROM access_requests WHERE id = ${id}`;
    expect(row?.acknowledged_by).toBe(USERS.bob);
    expect(row?.acknowledged_at).toBeInstanceOf(Date);
    expect(await actions(id)).toEqual(expect.arrayContaining(['request.break-glass', 'grant.activated', 'acknowledge.refused', 'request.acknowledged']));
    expect((await actions(id))[0]).toBe('request.break-glass');

    await h.command(`revoke ${id}`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
    expect(await holds(h.target.roles.read)).toBe(false);
  });
});
