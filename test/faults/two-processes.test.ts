/**
 * Fault (of scale): two complete app instances (web and workers each) on one database, one Redis prefix and
 * one target, with approvals for the same requests arriving at both at once. The row lock and version check
 * decide each click once; the idempotent job ids run each grant and revoke once; the outbox delivers each
 * message once; the target lock keeps overlapping grants of the same role from interleaving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBot } from '../../src/app.js';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness, type SlackSender } from '../support/harness.js';

let h: Harness;
let other: RunningBot;
let a: SlackSender;
let b: SlackSender;
beforeAll(async () => {
  h = await startHarness('twoproc', { reconcileInterval: '1s' });
  other = await h.startInstance({ web: true, worker: true });
  a = h.via(h.baseUrl());
  b = h.via(`http://127.0.0.1:${other.port}`);
});
afterAll(async () => {
  await h?.close(); // stops the second instance too
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const about = (id: string) => (c: { args: Record<string, unknown> }) => JSON.stringify(c.args).includes(id);
const cardsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && about(id)(c));
const dmsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === USERS.alice && about(id)(c));
const lateRepliesAbout = (id: string) => h.slack.callsTo('chat.postEphemeral').filter((c) => String(c.args.text).includes(id));
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string | undefined;
const actions = async (id: string) => (await h.sql`SELECT action FROM audit_events WHERE request_id = ${id} ORDER BY id`).map((r) => r.action as string);
const count = (list: string[], action: string) => list.filter((x) => x === action).length;

describe('two instances on the same database, Redis prefix and target', () => {
  it('concurrent approvals at both: no duplicate decision, grant, revoke, card or DM', async () => {
    // Submitted through both instances; one-approval (read) and two-approval (write) roles, short windows.
    const plan = [
      { via: a, role: 'read', duration: '6s' },
      { via: b, role: 'read', duration: '7s' },
      { via: a, role: 'write', duration: '6s' },
      { via: b, role: 'write', duration: '7s' },
    ];
    const requests = await Promise.all(
      plan.map(async (p, i) => ({ ...p, id: requestIdIn((await p.via.command(`request prod-db ${p.role} ${p.duration} INC-50${i} two instances`)).body) })),
    );
    for (const r of requests) await eventually(() => expect(cardsOf(r.id)).toHaveLength(1));

    // Bob's click reaches instance A while Carol's reaches instance B, for every request, all at once.
    const clicks = requests.flatMap((r) => [a.click('access_approve', r.id, USERS.bob), b.click('access_approve', r.id, USERS.carol)]);
    expect(await Promise.all(clicks)).toEqual(clicks.map(() => 200));

    for (const r of requests) await eventually(async () => expect(await statusOf(r.id)).toBe('active'), 15_000);
    expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(true);
    expect(await h.target.hasRole(h.target.principal, h.target.roles.write)).toBe(true);

    for (const r of requests) await eventually(async () => expect(await statusOf(r.id)).toBe('revoked'), 20_000);
    expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(false);
    expect(await h.target.hasRole(h.target.principal, h.target.roles.write)).toBe(false);
    for (const r of requests) await eventually(() => expect(dmsOf(r.id)).toHaveLength(2)); // granted, then ended

    await sleep(2_000); // both instances' reconcilers have run again by now
    for (const r of requests) {
      const trail = await actions(r.id);
      const decisions = (await h.sql`SELECT approver_id FROM decisions WHERE request_id = ${r.id}`).length;
      const summary = {
        role: r.role,
        decisions,
        approved: count(trail, 'request.approved'),
        granted: count(trail, 'grant.activated'),
        revoked: count(trail, 'revoke.completed'),
        cards: cardsOf(r.id).length,
        dms: dmsOf(r.id).length,
        lateReplies: lateRepliesAbout(r.id).length,
      };
      expect(summary).toEqual({
        role: r.role,
        // One approval: one click wins, the other is told privately it was already decided. Two: both count.
        decisions: r.role === 'read' ? 1 : 2,
        approved: 1,
        granted: 1,
        revoked: 1,
        cards: 1,
        dms: 2,
        lateReplies: r.role === 'read' ? 1 : 0,
      });
    }
    const [undelivered] = await h.sql`SELECT count(*)::int AS n FROM notifications WHERE delivered_at IS NULL`;
    expect(undelivered!.n).toBe(0);
  });

  it('an early revoke asked at both instances at once: revoked once, the requester told once', async () => {
    const id = requestIdIn((await a.command('request prod-db read 1h INC-510 revoke at both')).body);
    expect(await b.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('active'));
    await eventually(() => expect(dmsOf(id)).toHaveLength(1));

    const [byRequester, byApprover] = await Promise.all([a.command(`revoke ${id}`), b.clickRevoke(id, USERS.carol, 'incident closed')]);
    expect(byRequester.status).toBe(200);
    expect(byApprover).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
    expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(false);
    await eventually(() => expect(dmsOf(id)).toHaveLength(2));
    await sleep(1_500);
    expect(dmsOf(id)).toHaveLength(2);
    const trail = await actions(id);
    expect(count(trail, 'revoke.completed')).toBe(1);
    expect(count(trail, 'grant.activated')).toBe(1);
  });
});
