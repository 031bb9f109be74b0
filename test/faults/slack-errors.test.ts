/**
 * Fault: Slack's Web API rate-limits (429 with Retry-After) and fails (500) for a while. Chat messages come
 * from the outbox, so they are retried until delivered, and each is delivered once: FakeSlack records only
 * the calls it accepted, so counting its calls after the recovery counts what people saw. Meanwhile people
 * can still use the bot: a slash command is answered inline, within Slack's 3 s.
 *
 * And Slack refusing for good: a role whose approvers' channel Slack does not have (deleted; FakeSlack answers
 * `channel_not_found`, as it does for any channel it was not given). The card is tried once, given up, audited,
 * the admins get one DM, and the reconciler (every 1 s here) never tries it again. Once the channel is back, an
 * admin's "Send again" on that DM posts the card as the request stands; anyone else's click is refused.
 *
 * Not simulated (FakeSlack cannot): a post that Slack accepted but whose response was lost. Its retry would
 * post a second copy; see docs/reliability.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';
import { FakeSlack, type SlackCall } from '../support/fake-slack.js';
import { blockActionsBody, signedHeaders } from '../support/slack-signing.js';

let h: Harness;
/** A channel FakeSlack does not have: the approvers' channel of the `lost` role, deleted in Slack. */
const GONE_CHANNEL = 'C0GONE0001';
const ADMIN = 'U0ADMIN03'; // the harness policy's admin
beforeAll(async () => {
  h = await startHarness('slackerr', {
    reconcileInterval: '1s',
    extraRoles: (roles) => `      lost:
        grants: [${roles.read}]
        max_duration: 1h
        approvers: { users: [${USERS.bob}] }
        channel: ${GONE_CHANNEL}
`,
  });
});
afterAll(async () => {
  await h?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const about = (id: string) => (c: { args: Record<string, unknown> }) => JSON.stringify(c.args).includes(id);
const cardsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && about(id)(c));
const dmsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === USERS.alice && about(id)(c));
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string | undefined;
const outbox = async (id: string) =>
  (await h.sql`SELECT payload->>'kind' AS kind, attempts, delivered_at, last_error FROM notifications WHERE request_id = ${id} ORDER BY id`).map((r) => ({
    kind: r.kind as string,
    attempts: Number(r.attempts),
    delivered: r.delivered_at !== null,
    lastError: r.last_error as string | null,
  }));

async function timedCommand(text: string) {
  const started = Date.now();
  const res = await h.command(text);
  return { ...res, ms: Date.now() - started };
}

describe('Slack answers 429 (Retry-After: 1 s), then 500, for a while', () => {
  it('delivers the card and the DM exactly once each, once Slack recovers', async () => {
    h.slack.failNext('chat.postMessage', 429, 3, 1);
    const id = requestIdIn((await h.command('request prod-db read 1h INC-601 rate limited card')).body);
    await eventually(() => expect(cardsOf(id)).toHaveLength(1), 25_000);
    // Three refusals recorded on the outbox row, then delivered.
    await eventually(async () => expect((await outbox(id))[0]).toEqual({ kind: 'post-cards', attempts: 4, delivered: true, lastError: null }));

    h.slack.failNext('chat.postMessage', 500, 3);
    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('active'));
    await eventually(() => expect(dmsOf(id)).toHaveLength(1), 25_000);
    expect(JSON.stringify(dmsOf(id)[0]!.args)).toMatch(/granted/i);

    // Settle, then count again: nothing arrives twice, and nothing is left undelivered.
    await sleep(2_000);
    expect(cardsOf(id)).toHaveLength(1);
    expect(dmsOf(id)).toHaveLength(1);
    expect((await outbox(id)).filter((n) => !n.delivered)).toEqual([]);
    await h.command(`revoke ${id}`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
  });
});

describe('a new slash command while deliveries are rate-limited', () => {
  it('is answered inline with its confirmation, not held behind the rate limit of chat.postMessage', async () => {
    // A delivery gets 429 with a Retry-After longer than Slack's 3 s for the slash command's answer.
    const rateLimited = () => h.logs().match(/rate limit/gi)?.length ?? 0;
    const before = rateLimited();
    h.slack.failNext('chat.postMessage', 429, 1, 4);
    const first = requestIdIn((await h.command('request prod-db read 1h INC-602 delivery rate limited')).body);
    await eventually(() => expect(rateLimited()).toBeGreaterThan(before)); // the client now waits out the 4 s

    const asked = await timedCommand('request prod-db read 1h INC-603 asked during the rate limit');
    expect(asked.status).toBe(200);
    expect(asked.ms).toBeLessThan(2_500);
    const second = requestIdIn(asked.body); // the confirmation itself, not "Working on your request…"
    expect(await statusOf(second)).toBe('pending');

    await eventually(() => expect(cardsOf(first)).toHaveLength(1), 20_000);
    await eventually(() => expect(cardsOf(second)).toHaveLength(1), 20_000);
    await sleep(1_500);
    expect(cardsOf(first)).toHaveLength(1);
    expect(cardsOf(second)).toHaveLength(1);
  });
});

describe('the approvers’ channel is gone: Slack answers channel_not_found', () => {
  it('tries the card once, gives it up, audits it, DMs the admins once, and never tries again', async () => {
    const toGone = () => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === GONE_CHANNEL);
    const id = requestIdIn((await h.command('request prod-db lost 1h INC-604 approvers channel deleted')).body);
    const adminDms = () => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === ADMIN && about(id)(c));
    const row = async () =>
      (await h.sql`SELECT payload->>'kind' AS kind, delivered_at, abandoned_at, abandon_reason FROM notifications WHERE request_id = ${id} ORDER BY id`)[0];

    await eventually(async () => expect((await row())?.abandoned_at).toBeInstanceOf(Date));
    expect(await row()).toMatchObject({ kind: 'post-cards', delivered_at: null, abandon_reason: 'channel_not_found' });
    expect(toGone()).toHaveLength(1);
    expect(toGone()[0]!.answer).toEqual({ ok: false, error: 'channel_not_found' });
    const audit = await h.sql`SELECT actor, details FROM audit_events WHERE request_id = ${id} AND action = 'notification.abandoned'`;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'system', details: { kind: 'post-cards', code: 'channel_not_found', destination: GONE_CHANNEL } });
    await eventually(() => expect(adminDms()).toHaveLength(1));
    const dm = JSON.stringify(adminDms()[0]!.args);
    expect(dm).toContain(`<#${GONE_CHANNEL}>`);
    expect(dm).toContain('channel_not_found');
    expect(dm).not.toContain('approvers channel deleted'); // the request's reason is not repeated
    expect(h.logs()).toMatch(/"level":(50|"error").*chat refused a notification for good/);

    // Two reconcile intervals later: nothing tried again, nobody told twice, the request still pending.
    await sleep(2_500);
    expect(toGone()).toHaveLength(1);
    expect(adminDms()).toHaveLength(1);
    expect(await statusOf(id)).toBe('pending');
  });
});

/** A click on the alert's own "Send again" button, as Slack sends it from the DM the alert was posted in. */
async function clickSendAgain(alert: SlackCall, user: string): Promise<number> {
  const blocks = FakeSlack.blocks(alert);
  const block = blocks.find((b) => ((b as { elements?: Record<string, unknown>[] }).elements ?? []).some((e) => e.action_id === 'access_resend'));
  const button = ((block as { elements?: Record<string, unknown>[] } | undefined)?.elements ?? []).find((e) => e.action_id === 'access_resend');
  if (!block || !button) throw new Error('the alert has no Send again button');
  expect(button).toMatchObject({ type: 'button', text: { text: 'Send again' } });
  const dm = String(alert.answer?.channel);
  const body = blockActionsBody((p) => {
    p.user = { ...p.user, id: user, username: user.toLowerCase(), name: user.toLowerCase() };
    p.actions[0] = { ...button, block_id: block.block_id, action_ts: p.actions[0].action_ts };
    p.container = { type: 'message', message_ts: String(alert.answer?.ts), channel_id: dm, is_ephemeral: false };
    p.channel = { id: dm, name: 'directmessage' };
    p.message = { ...p.message, ts: String(alert.answer?.ts), text: alert.args.text, blocks };
    p.response_url = h.slack.responseUrl(`actions/${user}`);
    p.state = { values: {} };
  });
  const res = await h.post(body, signedHeaders(h.secrets.signingSecret, body, 'application/x-www-form-urlencoded'));
  await res.text();
  return res.status;
}

describe('the approvers’ channel comes back: an admin clicks Send again', () => {
  it('posts the card once, as the request stands; a non-admin’s click is refused and sends nothing', async () => {
    const id = requestIdIn((await h.command('request prod-db lost 1h INC-605 channel archived for a while')).body);
    const toGone = () => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === GONE_CHANNEL && about(id)(c));
    const adminDms = () => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === ADMIN && about(id)(c));
    await eventually(() => expect(adminDms()).toHaveLength(1));
    const alert = adminDms()[0]!;
    expect(JSON.stringify(alert.args)).toMatch(/unarchive it, or invite accessbot back\), then click \*Send again\*/);
    const replies = (user: string) => h.slack.responses.filter((r) => r.path === `/hooks/actions/${user}`).map((r) => r.body.text);

    // Bob approves requests, but is no policy admin: refused privately, audited, nothing sent.
    h.slack.addChannel(GONE_CHANNEL);
    expect(await clickSendAgain(alert, USERS.bob)).toBe(200);
    await eventually(() => expect(replies(USERS.bob)).toContain('Only policy admins may send a card again.'));
    await sleep(1_500);
    expect(toGone()).toHaveLength(1); // the refused post only
    const refused = await h.sql`SELECT actor, details FROM audit_events WHERE request_id = ${id} AND action = 'notification.resend-refused'`;
    expect(refused).toEqual([{ actor: USERS.bob, details: { code: 'NOT_AN_ADMIN' } }]);

    // The admin: the card goes out once, pending with its Approve and Deny buttons, and the row is delivered.
    expect(await clickSendAgain(alert, ADMIN)).toBe(200);
    await eventually(() => expect(toGone()).toHaveLength(2));
    const card = toGone()[1]!;
    expect(card.answer).toMatchObject({ ok: true });
    expect(JSON.stringify(FakeSlack.blocks(card))).toMatch(/access_approve.*access_deny/);
    expect(replies(ADMIN)).toContain(`Sending the card of request \`${id}\` again. If Slack refuses it again, you will get another message like this one.`);
    await eventually(async () => {
      const [row] = await h.sql`SELECT delivered_at, abandoned_at FROM notifications WHERE request_id = ${id} AND payload->>'kind' = 'post-cards'`;
      expect(row).toMatchObject({ delivered_at: expect.any(Date), abandoned_at: null });
    });
    const resent = await h.sql`SELECT actor, details FROM audit_events WHERE request_id = ${id} AND action = 'notification.resent'`;
    expect(resent).toEqual([{ actor: ADMIN, details: { kinds: ['post-cards', 'refresh-cards'], notificationIds: [expect.any(String)] } }]);

    // Decidable from the card that arrived late; its update reaches the restored channel.
    expect(await h.click('access_deny', id, USERS.bob)).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('denied'));
    await eventually(() => expect(h.slack.callsTo('chat.update').filter((c) => c.args.channel === GONE_CHANNEL && about(id)(c)).length).toBeGreaterThan(0));

    // A second click finds nothing given up: nothing sent twice.
    expect(await clickSendAgain(alert, ADMIN)).toBe(200);
    await eventually(() => expect(replies(ADMIN).some((t) => String(t).startsWith(`Nothing of request \`${id}\` is waiting`))).toBe(true));
    await sleep(1_000);
    expect(toGone()).toHaveLength(2);
    expect(adminDms()).toHaveLength(1);
  });
});
