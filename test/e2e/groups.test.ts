/**
 * Slack user groups and approver DMs, end to end: membership comes from `usergroups.users.list` on the fake
 * Slack; `notify.dm_approvers` posts the card to each listed approver's DM, and decisions update those too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';

const DEVS = 'S0DEVS001';
const SRE = 'S0SRE0001';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('groups', {
    extraRoles: (roles) => `      oncall:
        grants: [${roles.read}]
        max_duration: 1h
        requesters: { groups: [${DEVS}] }
        approvers: { users: [${USERS.bob}], groups: [${SRE}] }
        channel: ${APPROVERS_CHANNEL}
        notify: { dm_approvers: true }
`,
  });
  // Alice requests only through DEVS; Carol approves only through SRE; Dave is in neither.
  h.slack.setUsergroup(DEVS, [USERS.alice]).setUsergroup(SRE, [USERS.carol]);
});
afterAll(async () => {
  await h?.close();
});

const postsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => JSON.stringify(c.args).includes(`req_decision:${id}`));
const updatesOf = (id: string) => h.slack.callsTo('chat.update').filter((c) => JSON.stringify(c.args).includes(id));
const audit = async (actor: string) =>
  (await h.sql`SELECT action FROM audit_events WHERE actor = ${actor} ORDER BY id`).map((r) => r.action as string);

describe('a role open to user groups', () => {
  it('refuses a requester outside the requester group', async () => {
    const res = await h.command('request prod-db oncall 30m INC-7 check', USERS.dave);
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).not.toMatch(/req_[a-z0-9]+/);
    await eventually(async () => expect(await audit(USERS.dave)).toContain('request.refused'));
    expect(h.slack.callsTo('usergroups.users.list').map((c) => c.args.usergroup).sort()).toEqual([DEVS, SRE]);
  });

  it('lets a group member request; the card goes to the channel and to the listed approver DM, not the group', async () => {
    const res = await h.command('request prod-db oncall 30m INC-7 check', USERS.alice);
    const id = requestIdIn(res.body);
    await eventually(() => expect(postsOf(id).map((c) => c.args.channel).sort()).toEqual([APPROVERS_CHANNEL, USERS.bob].sort()));

    // Dave is no approver: refused, and the request stays pending.
    expect(await h.click('access_approve', id, USERS.dave)).toBe(200);
    await eventually(async () => expect(await audit(USERS.dave)).toContain('decision.refused'));
    const [pending] = await h.sql`SELECT status FROM access_requests WHERE id = ${id}`;
    expect(pending?.status).toBe('pending');

    // Carol approves through SRE; every posted card (channel and Bob's DM) is updated.
    expect(await h.click('access_approve', id, USERS.carol)).toBe(200);
    await eventually(async () => expect(await audit(USERS.carol)).toContain('request.approved'));
    await eventually(() => {
      const channels = new Set(updatesOf(id).map((c) => c.args.channel));
      expect(channels).toEqual(new Set([APPROVERS_CHANNEL, `D${USERS.bob.slice(1)}`]));
    });
    // Membership was read once per group and cached: no further usergroups.users.list calls.
    expect(h.slack.callsTo('usergroups.users.list')).toHaveLength(2);
  });
});
