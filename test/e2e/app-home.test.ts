/**
 * The App Home end to end, as Slack sends it: `app_home_opened` publishes a Home for each kind of viewer
 * (requester, approver, admin), a button clicked in the Home arrives as a block_actions with a `view`
 * container (no channel, no response_url) and works there, and a state change republishes the Home of those
 * who have opened it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_APPROVE, ACTION_DENY, ACTION_OPEN_REQUEST_FORM, ACTION_REVOKE, REQUEST_MODAL_CALLBACK } from '../../src/chat/slack/ids.js';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';
import { blockActionsBody, fixtureJson, signedHeaders } from '../support/slack-signing.js';

const ADMIN = 'U0ADMIN03';
const JSON_TYPE = 'application/json';
const FORM = 'application/x-www-form-urlencoded';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('apphome');
});
afterAll(async () => {
  await h?.close();
});

interface Block {
  type: string;
  block_id?: string;
  text?: { text: string };
  accessory?: Button;
  elements?: Button[];
}
interface Button {
  type: string;
  action_id: string;
  value?: string;
  text: { text: string };
}
interface HomeView {
  type: string;
  blocks: Block[];
}

let eventCounter = 0;
async function openHome(user: string): Promise<void> {
  const p = fixtureJson('event-app-home-opened.json');
  p.event.user = user;
  p.event_id = `Ev0APPHOME${++eventCounter}`;
  p.event_time = Math.floor(Date.now() / 1000);
  const body = JSON.stringify(p);
  const res = await h.post(body, signedHeaders(h.secrets.signingSecret, body, JSON_TYPE));
  expect(res.status).toBe(200);
  await res.text();
}

const publishesTo = (user: string) => h.slack.callsTo('views.publish').filter((c) => c.args.user_id === user);

function viewOf(call: { args: Record<string, unknown> }): HomeView {
  const raw = call.args.view;
  return (typeof raw === 'string' ? JSON.parse(raw) : raw) as HomeView;
}

/** Opens the Home and waits for the Home published in answer (the next views.publish for this user). */
async function homeAfterOpening(user: string): Promise<HomeView> {
  const before = publishesTo(user).length;
  await openHome(user);
  await eventually(() => expect(publishesTo(user).length).toBeGreaterThan(before));
  return viewOf(publishesTo(user).at(-1)!);
}

const buttonsOf = (view: HomeView): Button[] =>
  view.blocks.flatMap((b) => [...(b.accessory?.type === 'button' ? [b.accessory] : []), ...(b.type === 'actions' ? (b.elements ?? []) : [])]);
const textOf = (view: HomeView) => view.blocks.map((b) => JSON.stringify(b)).join('\n');

/**
 * A click on a button of a published Home: what Slack sends for a Home, built from the recorded card click.
 * Returns the click's trigger id (fresh for every click, as Slack makes it).
 */
async function clickInHome(user: string, home: HomeView, button: Button): Promise<string> {
  let triggerId = '';
  const body = blockActionsBody((p) => {
    triggerId = String(p.trigger_id);
    const homeEvent = fixtureJson('event-app-home-opened.json');
    p.user = { ...p.user, id: user, username: user.toLowerCase(), name: user.toLowerCase() };
    p.container = { type: 'view', view_id: homeEvent.event.view.id };
    p.view = { ...homeEvent.event.view, blocks: home.blocks };
    delete p.channel;
    delete p.message;
    delete p.response_url;
    const block = home.blocks.find((b) => b.accessory === button || b.elements?.includes(button));
    p.actions = [{ ...button, block_id: block?.block_id ?? '', action_ts: String(Date.now() / 1000) }];
    p.state = { values: {} };
  });
  const res = await h.post(body, signedHeaders(h.secrets.signingSecret, body, FORM));
  expect(res.status).toBe(200);
  await res.text();
  return triggerId;
}

describe('the App Home', () => {
  let readId = '';

  it('an approver with a pending request sees it under "Waiting for me" with Approve and Deny', async () => {
    readId = requestIdIn((await h.command('request prod-db read 1h INC-900 home approve')).body);
    await eventually(() => expect(h.slack.callsTo('chat.postMessage').some((c) => c.args.channel === APPROVERS_CHANNEL && JSON.stringify(c.args).includes(readId))).toBe(true));
    const home = await homeAfterOpening(USERS.bob);
    expect(home.type).toBe('home');
    expect(home.blocks.length).toBeLessThanOrEqual(100);
    const mine = buttonsOf(home).filter((b) => b.value === readId).map((b) => b.action_id);
    expect(mine).toEqual([ACTION_APPROVE, ACTION_DENY]);
    expect(textOf(home)).toContain('*Waiting for me* (1)');
    expect(textOf(home)).not.toContain('home_admin');
  });

  it('Approve clicked in the Home grants the role and republishes the clicker’s Home, with nothing said in a channel', async () => {
    const home = viewOf(publishesTo(USERS.bob).at(-1)!);
    const approve = buttonsOf(home).find((b) => b.value === readId && b.action_id === ACTION_APPROVE)!;
    const before = publishesTo(USERS.bob).length;
    const ephemeralsBefore = h.slack.callsTo('chat.postEphemeral').length;
    await clickInHome(USERS.bob, home, approve);
    await eventually(async () => expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(true));
    await eventually(() => expect(publishesTo(USERS.bob).length).toBeGreaterThan(before));
    const after = viewOf(publishesTo(USERS.bob).at(-1)!);
    expect(buttonsOf(after).filter((b) => b.value === readId)).toEqual([]);
    expect(textOf(after)).toContain('*Waiting for me* (0)');
    const [status] = await h.sql`SELECT status FROM access_requests WHERE id = ${readId}`;
    expect(['approved', 'active']).toContain(status!.status);
    expect(h.slack.callsTo('chat.postEphemeral')).toHaveLength(ephemeralsBefore);
    expect(h.slack.responses.filter((r) => JSON.stringify(r).includes(readId))).toEqual([]);
    // No error DM to Bob either: the approval went through.
    expect(h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === USERS.bob)).toEqual([]);
  });

  it('a requester with an active grant sees it with its time left and a Revoke now button for it', async () => {
    await eventually(async () => expect((await h.sql`SELECT status FROM access_requests WHERE id = ${readId}`)[0]!.status).toBe('active'));
    const home = await homeAfterOpening(USERS.alice);
    const revoke = buttonsOf(home).find((b) => b.action_id === ACTION_REVOKE);
    expect(revoke).toMatchObject({ value: readId, text: { text: 'Revoke now' } });
    expect(textOf(home)).toMatch(/\*My active grants\* \(1\)/);
    expect(textOf(home)).toMatch(/(59m|1h) left/);
    expect(textOf(home)).not.toContain('home_admin');
    expect(textOf(home)).not.toContain('Waiting for me');
  });

  it('a new request republishes the Home of the approvers and the requester who opened it, without them reopening it', async () => {
    const bobBefore = publishesTo(USERS.bob).length;
    const aliceBefore = publishesTo(USERS.alice).length;
    const carolBefore = publishesTo(USERS.carol).length;
    const writeId = requestIdIn((await h.command('request prod-db write 30m INC-901 home refresh')).body);
    await eventually(() => {
      const bob = viewOf(publishesTo(USERS.bob).at(-1)!);
      expect(publishesTo(USERS.bob).length).toBeGreaterThan(bobBefore);
      expect(buttonsOf(bob).filter((b) => b.value === writeId).map((b) => b.action_id)).toEqual([ACTION_APPROVE, ACTION_DENY]);
    });
    await eventually(() => expect(publishesTo(USERS.alice).length).toBeGreaterThan(aliceBefore));
    expect(textOf(viewOf(publishesTo(USERS.alice).at(-1)!))).toContain(writeId);
    // Carol approves writes too, but has never opened the Home: nothing is published for her.
    expect(publishesTo(USERS.carol)).toHaveLength(carolBefore);
  });

  it('Revoke now clicked in the Home starts the revoke and republishes the requester’s Home', async () => {
    const home = viewOf(publishesTo(USERS.alice).at(-1)!);
    const revoke = buttonsOf(home).find((b) => b.action_id === ACTION_REVOKE && b.value === readId)!;
    const before = publishesTo(USERS.alice).length;
    await clickInHome(USERS.alice, home, revoke);
    await eventually(async () => expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(false));
    await eventually(() => expect(publishesTo(USERS.alice).length).toBeGreaterThan(before));
  });

  it('an admin sees the rules and the recent audit entries; a non-admin sees neither', async () => {
    const home = await homeAfterOpening(ADMIN);
    expect(home.blocks.length).toBeLessThanOrEqual(100);
    const ids = home.blocks.map((b) => b.block_id);
    expect(ids).toContain('home_admin');
    expect(ids).toContain('home_audit');
    const text = textOf(home);
    expect(text).toContain('rules are edited in the policy file');
    expect(text).toMatch(/\*read\*: grants .* max 4h · 1 approval by <@U0BOB0002>, <@U0CAROL03> · cards in <#C0APPROVE1>/);
    expect(text).toMatch(/\*write\*: .*max 1h · 2 approvals/);
    expect(text).toContain(`\`${readId}\``); // in the audit entries
    const bob = await homeAfterOpening(USERS.bob);
    expect(bob.blocks.map((b) => b.block_id)).not.toContain('home_admin');
    expect(bob.blocks.map((b) => b.block_id)).not.toContain('home_audit');
  });

  it('"Request access" in the Home opens the request form with the click’s trigger id', async () => {
    const home = viewOf(publishesTo(USERS.alice).at(-1)!);
    const open = buttonsOf(home).find((b) => b.action_id === ACTION_OPEN_REQUEST_FORM)!;
    const before = h.slack.callsTo('views.open').length;
    const triggerId = await clickInHome(USERS.alice, home, open);
    await eventually(() => expect(h.slack.callsTo('views.open').length).toBeGreaterThan(before));
    const call = h.slack.callsTo('views.open').at(-1)!;
    expect(call.args.trigger_id).toBe(triggerId);
    const view = (typeof call.args.view === 'string' ? JSON.parse(call.args.view) : call.args.view) as { callback_id: string };
    expect(view.callback_id).toBe(REQUEST_MODAL_CALLBACK);
  });

  it('an error from a Home click goes to the clicker by DM (there is no channel and no response_url)', async () => {
    const home = viewOf(publishesTo(USERS.bob).at(-1)!);
    // Bob approves Alice's already-active read request again: stale Home, refused, told by DM.
    const stale: Button = { type: 'button', action_id: ACTION_APPROVE, value: readId, text: { text: 'Approve' } };
    // Let the revoke finish telling everyone first, so whatever arrives next comes from this click.
    await eventually(async () => expect((await h.sql`SELECT status FROM access_requests WHERE id = ${readId}`)[0]!.status).toBe('revoked'));
    await eventually(async () =>
      expect((await h.sql`SELECT count(*)::int AS n FROM notifications WHERE delivered_at IS NULL AND abandoned_at IS NULL`)[0]!.n).toBe(0),
    );
    const dmsToBob = () => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === USERS.bob);
    const decisions = async () => (await h.sql`SELECT approver_id, outcome FROM decisions WHERE request_id = ${readId} ORDER BY id`).map((d) => [d.approver_id, d.outcome]);
    const audit = async () => (await h.sql`SELECT action, actor, details FROM audit_events WHERE request_id = ${readId} ORDER BY id`).map((a) => ({ ...a }));
    const dmsBefore = dmsToBob().length;
    const postsBefore = h.slack.callsTo('chat.postMessage').length;
    const updatesBefore = h.slack.callsTo('chat.update').length;
    const ephemeralsBefore = h.slack.callsTo('chat.postEphemeral').length;
    const responsesBefore = h.slack.responses.length;
    const publishesBefore = publishesTo(USERS.bob).length;
    const decisionsBefore = await decisions();
    const auditBefore = await audit();
    expect(decisionsBefore).toEqual([[USERS.bob, 'approve']]);

    await clickInHome(USERS.bob, { ...home, blocks: [...home.blocks, { type: 'actions', block_id: `req_decision:${readId}`, elements: [stale] }] }, stale);
    // Exactly one DM to Bob, and it is the refusal, in words; then his Home is republished, without the request.
    await eventually(() => expect(dmsToBob().length).toBeGreaterThan(dmsBefore));
    await eventually(() => expect(publishesTo(USERS.bob).length).toBeGreaterThan(publishesBefore));
    expect(buttonsOf(viewOf(publishesTo(USERS.bob).at(-1)!)).filter((b) => b.value === readId)).toEqual([]);
    expect(dmsToBob()).toHaveLength(dmsBefore + 1);
    expect(dmsToBob().at(-1)!.args.text).toBe(
      `Request \`${readId}\` was already decided by <@${USERS.bob}>: it is over: the access was granted and has been revoked.`,
    );
    // Nothing else: no other message, card update, ephemeral or response_url reply; the request, its decisions
    // and the target are as they were; the refusal is audited.
    expect(h.slack.callsTo('chat.postMessage')).toHaveLength(postsBefore + 1);
    expect(h.slack.callsTo('chat.update')).toHaveLength(updatesBefore);
    expect(h.slack.callsTo('chat.postEphemeral')).toHaveLength(ephemeralsBefore);
    expect(h.slack.responses).toHaveLength(responsesBefore);
    expect((await h.sql`SELECT status FROM access_requests WHERE id = ${readId}`)[0]!.status).toBe('revoked');
    expect(await decisions()).toEqual(decisionsBefore);
    expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(false);
    expect(await audit()).toEqual([
      ...auditBefore,
      { action: 'decision.refused', actor: USERS.bob, details: expect.objectContaining({ outcome: 'approve', code: 'NOT_PENDING' }) },
    ]);
  });
});
