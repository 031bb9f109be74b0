/**
 * The whole lifecycle in chat, end to end: list, status, cancel, early revoke (by the requester and by an
 * approver), reminders, pending expiry and the expiry warning, with the real app, database, queue and
 * target roles. Time-driven behaviour uses a role with short settings (the harness's `quick` role).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTEND_MODAL, EXTEND_MODAL_CALLBACK } from '../../src/chat/slack/ids.js';
import { FakeSlack, type SlackCall } from '../support/fake-slack.js';
import { blockActionsBody, fixtureJson, signedHeaders } from '../support/slack-signing.js';
import { APPROVERS_CHANNEL, ESCALATION_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('lifecycle');
});
afterAll(async () => {
  await h?.close();
});

const about = (id: string) => (c: SlackCall) => JSON.stringify(c.args).includes(id);
const cardOf = (id: string) => h.slack.callsTo('chat.postMessage').find((c) => c.args.channel === APPROVERS_CHANNEL && about(id)(c));
/** The last update of the request's cards (not of the requester's DMs, which are updated once the grant ends). */
const lastCard = (id: string) => h.slack.callsTo('chat.update').filter((c) => !String(c.args.channel).startsWith('D') && about(id)(c)).at(-1);
const dmsTo = (user: string, id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === user && about(id)(c));
const channelPosts = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && about(id)(c));
const actionIds = (call: SlackCall | undefined) =>
  call ? FakeSlack.blocks(call).flatMap((b) => ((b as { elements?: { action_id?: string }[] }).elements ?? []).map((e) => e.action_id)).filter(Boolean) : [];
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string;
const actions = async (id: string) => (await h.sql`SELECT action FROM audit_events WHERE request_id = ${id} ORDER BY id`).map((r) => r.action as string);
const hasRead = () => h.target.hasRole(h.target.principal, h.target.roles.read);
const text = (body: Record<string, unknown>) => JSON.stringify(body);

async function request(role: string, duration: string): Promise<string> {
  const id = requestIdIn((await h.command(`request prod-db ${role} ${duration} INC-5 lifecycle`)).body);
  await eventually(() => expect(cardOf(id)).toBeDefined());
  return id;
}

async function activeGrant(duration: string, role = 'read'): Promise<string> {
  const id = await request(role, duration);
  expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
  await eventually(async () => expect(await statusOf(id)).toBe('active'));
  return id;
}

describe('/access list and /access status', () => {
  it('lists my pending requests and active grants, and tells a request’s story only to those involved', async () => {
    const pendingId = await request('write', '30m');
    const activeId = await activeGrant('1h');

    const list = await h.command('list');
    expect(list.body.response_type).toBe('ephemeral');
    expect(text(list.body)).toContain(pendingId);
    expect(text(list.body)).toContain(activeId);
    expect(text(list.body)).toContain('access_revoke'); // a Revoke button for the active grant

    const story = await h.command(`status ${activeId}`);
    for (const part of ['requested', 'access granted', `<@${USERS.bob}>`, 'INC-5 lifecycle']) expect(text(story.body)).toContain(part);
    const asApprover = await h.command(`status ${activeId}`, USERS.carol);
    expect(text(asApprover.body)).toContain(activeId);
    const asStranger = await h.command(`status ${activeId}`, USERS.dave);
    expect(text(asStranger.body)).toMatch(/There is no request/);

    await h.command(`revoke ${activeId}`);
    await h.command(`cancel ${pendingId}`);
    await eventually(async () => expect(await statusOf(activeId)).toBe('revoked'));
  });
});

describe('/access cancel', () => {
  it('withdraws a pending request, retires its card and refuses late clicks politely', async () => {
    const id = await request('read', '1h');
    expect(text((await h.command(`cancel ${id}`, USERS.bob)).body)).toMatch(/not yours/i);
    const res = await h.command(`cancel ${id}`);
    expect(text(res.body)).toMatch(/cancelled/i);
    expect(await statusOf(id)).toBe('cancelled');
    await eventually(() => expect(lastCard(id)).toBeDefined());
    expect(actionIds(lastCard(id))).toEqual([]);
    expect(JSON.stringify(FakeSlack.blocks(lastCard(id)!))).toMatch(/cancel/i);

    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(() =>
      expect(h.slack.callsTo('chat.postEphemeral').some((c) => c.args.user === USERS.bob && /no longer pending/.test(String(c.args.text)))).toBe(true),
    );
    expect(await hasRead()).toBe(false);
    expect(await actions(id)).toEqual(['request.submitted', 'cancel.refused', 'request.cancelled', 'decision.refused']);
  });
});

describe('/access revoke', () => {
  it('lets the requester give access back early: the role is gone at once and everyone is told once', async () => {
    const id = await activeGrant('1h');
    expect(await hasRead()).toBe(true);
    const res = await h.command(`revoke ${id}`);
    expect(text(res.body)).toMatch(/revoking/i);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
    expect(await hasRead()).toBe(false);
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(2)); // granted, then given back
    expect(JSON.stringify(dmsTo(USERS.alice, id)[1]!.args)).toMatch(/gave/i);
    await eventually(() => expect(JSON.stringify(FakeSlack.blocks(lastCard(id)!))).toMatch(/early/i));
    expect((await actions(id)).filter((a) => a === 'revoke.completed')).toHaveLength(1);
  });

  it('lets an approver revoke from the card, with a reason, and tells the requester who and why', async () => {
    const id = await activeGrant('1h');
    // The active card offers Revoke; without a reason the approver is asked for one, privately.
    await eventually(() => expect(actionIds(lastCard(id))).toContain('access_revoke'));
    expect(await h.clickRevoke(id, USERS.carol)).toBe(200);
    await eventually(() =>
      expect(h.slack.callsTo('chat.postEphemeral').some((c) => c.args.user === USERS.carol && /needs a reason/.test(String(c.args.text)))).toBe(true),
    );
    expect(await statusOf(id)).toBe('active');

    expect(await h.clickRevoke(id, USERS.carol, 'incident closed')).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
    expect(await hasRead()).toBe(false);
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(2));
    const notice = JSON.stringify(dmsTo(USERS.alice, id)[1]!.args);
    expect(notice).toContain(`<@${USERS.carol}>`);
    expect(notice).toContain('incident closed');
  });

  it('refuses a stranger', async () => {
    const id = await activeGrant('1h');
    expect(text((await h.command(`revoke ${id} because`, USERS.dave)).body)).toMatch(/not yours/i);
    expect(await statusOf(id)).toBe('active');
    await h.command(`revoke ${id}`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
  });

  it('racing the scheduled revoke, revokes once and tells the requester once', async () => {
    const id = await activeGrant('5s');
    const [row] = await h.sql`SELECT expires_at FROM grants WHERE request_id = ${id}`;
    await new Promise((r) => setTimeout(r, Math.max(0, row!.expires_at.getTime() - Date.now() - 30)));
    await h.command(`revoke ${id}`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(2)); // granted, then ended
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await actions(id)).filter((a) => a === 'revoke.completed')).toHaveLength(1);
    expect(dmsTo(USERS.alice, id)).toHaveLength(2);
    expect(await hasRead()).toBe(false);
  });
});

describe('time-driven behaviour', () => {
  it('reminds the approvers once, then expires the undecided request and tells the requester', async () => {
    const id = await request('quick', '10m');
    await eventually(() => expect(channelPosts(id).length).toBe(2), 10_000); // the card, then the reminder
    expect(actionIds(channelPosts(id)[1])).toEqual(expect.arrayContaining(['access_approve', 'access_deny']));
    await eventually(async () => expect(await statusOf(id)).toBe('expired'), 10_000);
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(1));
    // The expiry's card refresh is delivered after the status changes: wait for it.
    await eventually(() => expect(actionIds(lastCard(id))).toEqual([]));
    expect(channelPosts(id)).toHaveLength(2);

    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(() =>
      expect(h.slack.callsTo('chat.postEphemeral').filter((c) => c.args.user === USERS.bob && /no longer pending/.test(String(c.args.text))).length).toBeGreaterThan(0),
    );
    expect((await actions(id)).filter((a) => a === 'request.reminded')).toHaveLength(1);
  });

  it('warns the requester before the window ends, with a Revoke now button', async () => {
    const id = await activeGrant('8s', 'quick');
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(2), 10_000); // granted, expiring soon
    expect(await statusOf(id)).toBe('active');
    expect(actionIds(dmsTo(USERS.alice, id)[1])).toContain('access_revoke');
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'), 15_000);
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(3));
  });
});

describe('/access extend', () => {
  it('asks the approvers for more time and, once approved, moves the revoke later (one revoke, not two)', async () => {
    const id = await activeGrant('6s');
    const res = await h.command(`extend ${id} 6s migration still running`);
    const extId = requestIdIn({ text: JSON.stringify(res.body).replace(id, '') });
    expect(text(res.body)).toMatch(/Extension/);
    await eventually(() => expect(cardOf(extId)).toBeDefined());
    expect(JSON.stringify(FakeSlack.blocks(cardOf(extId)!))).toContain(id);
    expect(await h.click('access_approve', extId, USERS.bob)).toBe(200);
    await eventually(async () => expect(await statusOf(extId)).toBe('applied'));

    const [g] = await h.sql`SELECT granted_at, expires_at FROM grants WHERE request_id = ${id}`;
    expect(g!.expires_at.getTime() - g!.granted_at.getTime()).toBe(12_000);
    await eventually(() => expect(dmsTo(USERS.alice, id).some((c) => /extended/.test(String(c.args.text)))).toBe(true));

    // Past the first end the role is still there; it goes at the new end, revoked once.
    await new Promise((r) => setTimeout(r, Math.max(0, g!.granted_at.getTime() + 7_500 - Date.now())));
    expect(await statusOf(id)).toBe('active');
    expect(await hasRead()).toBe(true);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'), 15_000);
    expect(await hasRead()).toBe(false);
    expect((await actions(id)).filter((a) => a === 'revoke.completed')).toHaveLength(1);
    expect((await actions(id)).filter((a) => a === 'grant.extended')).toHaveLength(1);
  });

  it('refuses an extension past the role’s maximum total, and one asked by someone else', async () => {
    const id = await activeGrant('4h');
    expect(text((await h.command(`extend ${id} 1h more please`)).body)).toMatch(/maximum total of 4h/);
    expect(text((await h.command(`extend ${id} 1h mine now`, USERS.bob)).body)).toMatch(/There is no request/);
    await h.command(`revoke ${id}`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
  });
});

describe('escalation', () => {
  it('posts the card to the escalation channel and DMs it to the escalation group, who may decide from then on', async () => {
    const id = await request('quick', '10m');
    // Before escalation Dave is not an approver of the role.
    expect(await h.click('access_approve', id, USERS.dave)).toBe(200);
    await eventually(() =>
      expect(h.slack.callsTo('chat.postEphemeral').some((c) => c.args.user === USERS.dave && /not one of its approvers/.test(String(c.args.text)))).toBe(true),
    );
    await eventually(
      () => expect(h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === ESCALATION_CHANNEL && about(id)(c))).toHaveLength(1),
      10_000,
    );
    const daveCards = () => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === USERS.dave && about(id)(c));
    await eventually(() => expect(daveCards()).toHaveLength(1));
    expect(JSON.stringify(FakeSlack.blocks(daveCards()[0]!))).toMatch(/access_approve.*access_deny/);
    expect(await h.click('access_approve', id, USERS.dave)).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('active'));
    expect((await actions(id)).filter((a) => a === 'request.escalated')).toHaveLength(1);
    // Every card shows the outcome.
    await eventually(() => {
      const updated = h.slack.callsTo('chat.update').filter(about(id)).map((c) => c.args.channel);
      expect(new Set(updated)).toEqual(new Set([APPROVERS_CHANNEL, ESCALATION_CHANNEL, String(daveCards()[0]!.answer?.channel)]));
    });
    await h.command(`revoke ${id}`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
  });
});

describe('the Extend button', () => {
  const FORM = 'application/x-www-form-urlencoded';
  const send = (body: string) => h.post(body, signedHeaders(h.secrets.signingSecret, body, FORM));

  it('on the grant DM opens the extension form, whose submission asks the approvers', async () => {
    const id = await activeGrant('1h');
    await eventually(() => expect(actionIds(dmsTo(USERS.alice, id)[0])).toContain('access_extend'));
    const click = blockActionsBody((p) => {
      p.user = { ...p.user, id: USERS.alice, username: 'alice', name: 'alice' };
      p.channel = { id: 'D0ALICE001', name: 'directmessage' };
      p.container = { ...p.container, channel_id: 'D0ALICE001' };
      p.actions[0] = { ...p.actions[0], action_id: 'access_extend', value: id, block_id: `req_decision:${id}`, text: { type: 'plain_text', text: 'Extend', emoji: true } };
      delete p.actions[0].style;
      p.response_url = h.slack.responseUrl('actions/alice-dm');
    });
    expect((await send(click)).status).toBe(200);
    await eventually(() => expect(h.slack.callsTo('views.open').some((c) => String(c.args.view).includes(EXTEND_MODAL_CALLBACK))).toBe(true));
    const opened = h.slack.callsTo('views.open').filter((c) => String(c.args.view).includes(EXTEND_MODAL_CALLBACK)).at(-1)!;
    const view = JSON.parse(String(opened.args.view)) as { private_metadata: string; blocks: unknown[] };
    expect(view.private_metadata).toBe(id);

    const submission = (duration: string) => {
      const p = fixtureJson('view-submission-rule-edit.json');
      p.user = { ...p.user, id: USERS.alice, username: 'alice', name: 'alice' };
      Object.assign(p.view, { id: 'V0EXTEND01', root_view_id: 'V0EXTEND01', callback_id: EXTEND_MODAL_CALLBACK, private_metadata: id, blocks: view.blocks });
      p.view.state.values = {
        [EXTEND_MODAL.durationBlock]: { [EXTEND_MODAL.durationAction]: { type: 'plain_text_input', value: duration } },
        [EXTEND_MODAL.reasonBlock]: { [EXTEND_MODAL.reasonAction]: { type: 'plain_text_input', value: 'still migrating' } },
      };
      return `payload=${encodeURIComponent(JSON.stringify(p))}`;
    };
    // Past the role's maximum total: the form says so, on the duration field, and nothing is created.
    const tooLong = await send(submission('4h'));
    expect(await tooLong.json()).toMatchObject({ response_action: 'errors', errors: { [EXTEND_MODAL.durationBlock]: expect.stringMatching(/maximum total/) } });
    const ok = await send(submission('30m'));
    expect(await ok.text()).toBe('');
    await eventually(async () => expect((await h.sql`SELECT id FROM access_requests WHERE extends_id = ${id}`).length).toBe(1));
    await h.command(`revoke ${id}`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
  });
});

describe('buttons on the requester’s own messages', () => {
  const FORM = 'application/x-www-form-urlencoded';
  const press = (actionId: string, id: string, where: { channel: string; ephemeral: boolean }) => {
    const body = blockActionsBody((p) => {
      p.user = { ...p.user, id: USERS.alice, username: 'alice', name: 'alice' };
      p.channel = { id: where.channel, name: where.ephemeral ? 'general' : 'directmessage' };
      p.container = { ...p.container, channel_id: where.channel, is_ephemeral: where.ephemeral };
      p.actions[0] = { ...p.actions[0], action_id: actionId, value: id, block_id: `req_decision:${id}`, text: { type: 'plain_text', text: actionId, emoji: true } };
      delete p.actions[0].style;
      p.response_url = h.slack.responseUrl(`actions/${actionId}-${id}`);
    });
    return h.post(body, signedHeaders(h.secrets.signingSecret, body, FORM));
  };
  const repliesTo = (actionId: string, id: string) => h.slack.responses.filter((r) => r.path.endsWith(`${actionId}-${id}`));

  it('"Cancel request" on the private confirmation withdraws the request and answers through its response_url', async () => {
    const id = await request('read', '1h');
    expect((await press('access_cancel', id, { channel: 'C0GENERAL1', ephemeral: true })).status).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('cancelled'));
    await eventually(() => expect(repliesTo('access_cancel', id)).toHaveLength(1));
    expect(repliesTo('access_cancel', id)[0]!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(String(repliesTo('access_cancel', id)[0]!.body.text)).toMatch(/cancelled/);
  });

  /** The chat.update calls on the message that `posted` created, by the channel and ts Slack answered with. */
  const updatesOf = (posted: SlackCall) =>
    h.slack.callsTo('chat.update').filter((c) => c.args.channel === posted.answer?.channel && c.args.ts === posted.answer?.ts);
  const sections = (call: SlackCall) => FakeSlack.blocks(call).filter((b) => b.type === 'section');

  it('"Revoke now" takes the buttons off the grant DM in place, once, saying why', async () => {
    const id = await activeGrant('1h');
    await eventually(() => expect(actionIds(dmsTo(USERS.alice, id)[0])).toContain('access_revoke'));
    const granted = dmsTo(USERS.alice, id)[0]!;
    await eventually(() => expect(granted.answer).toBeDefined());
    expect((await press('access_revoke', id, { channel: String(granted.answer!.channel), ephemeral: false })).status).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(2)); // granted, then given back

    await eventually(() => expect(updatesOf(granted)).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 1_000)); // the refresh at `revoked` has run too: still one update
    expect(updatesOf(granted)).toHaveLength(1);
    const [update] = updatesOf(granted);
    expect(update!.args.channel).toMatch(/^D/); // the DM's own channel, as chat.postMessage answered
    expect(FakeSlack.blocks(update!).filter((b) => b.type === 'actions')).toEqual([]);
    expect(actionIds(update)).toEqual([]);
    expect(sections(update!)).toEqual(sections(granted));
    expect(update!.args.text).toBe(granted.args.text);
    expect(JSON.stringify(FakeSlack.blocks(update!))).toMatch(/Ended <!date\^\d+\^[^>]*>: you gave this access back/);
    // The "given back" DM offers nothing, and is never updated.
    expect(actionIds(dmsTo(USERS.alice, id)[1])).toEqual([]);
    expect(updatesOf(dmsTo(USERS.alice, id)[1]!)).toEqual([]);
    expect((await h.sql`SELECT count(*)::int AS n FROM requester_messages WHERE request_id = ${id} AND ended_at IS NOT NULL`)[0]?.n).toBe(1);
  });

  it('at the end of the window, the grant DM and the expiry warning both lose their buttons, once each', async () => {
    const id = await activeGrant('8s', 'quick');
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(2), 10_000); // granted, expiring soon
    const [granted, warning] = dmsTo(USERS.alice, id) as [SlackCall, SlackCall];
    expect(actionIds(warning)).toContain('access_revoke');
    expect(updatesOf(granted)).toEqual([]); // still active: the buttons stay
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'), 15_000);
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(3));

    await eventually(() => expect([...updatesOf(granted), ...updatesOf(warning)]).toHaveLength(2));
    await new Promise((r) => setTimeout(r, 1_000));
    for (const posted of [granted, warning]) {
      expect(updatesOf(posted)).toHaveLength(1);
      const [update] = updatesOf(posted);
      expect(actionIds(update)).toEqual([]);
      expect(sections(update!)).toEqual(sections(posted));
      expect(JSON.stringify(FakeSlack.blocks(update!))).toMatch(/Ended <!date\^\d+\^[^>]*>: the window closed/);
    }
  });

  it('"Revoke now" in the grant DM gives access back at once', async () => {
    const id = await activeGrant('1h');
    expect((await press('access_revoke', id, { channel: 'D0ALICE001', ephemeral: false })).status).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
    expect(await hasRead()).toBe(false);
    await eventually(() => expect(repliesTo('access_revoke', id)).toHaveLength(1));
    expect(String(repliesTo('access_revoke', id)[0]!.body.text)).toMatch(/Revoking/);
  });
});
