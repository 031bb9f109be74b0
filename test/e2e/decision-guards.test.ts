/**
 * Who may decide, and how many times: clicks on the approval card from people who may not decide, from the
 * requester, from two approvers at once, and late. Each is answered privately to the clicker, audited, and never
 * yields a second decision, grant or DM. A click replayed byte for byte is refused with 401 before any listener runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';
import { blockActionsBody, signedHeaders } from '../support/slack-signing.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('guards', {
    extraRoles: (roles) => `      raced:
        grants: [${roles.read}]
        max_duration: 4h
        approvers: { users: [${USERS.bob}, ${USERS.carol}] }
        channel: ${APPROVERS_CHANNEL}
        approval_grace: 30s
`,
  });
});
afterAll(async () => {
  await h?.close();
});

const FORM = 'application/x-www-form-urlencoded';

const cardFor = (id: string) =>
  h.slack.callsTo('chat.postMessage').find((c) => c.args.channel === APPROVERS_CHANNEL && JSON.stringify(c.args).includes(id));
const updatesOf = (id: string) => h.slack.callsTo('chat.update').filter((c) => JSON.stringify(c.args).includes(id));
const dmsTo = (user: string, id: string) =>
  h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === user && JSON.stringify(c.args).includes(id));
/** Private replies to `user` in the approvers' channel, optionally only those naming request `id`. */
const ephemeralsTo = (user: string, id?: string) =>
  h.slack
    .callsTo('chat.postEphemeral')
    .filter((c) => c.args.user === user && c.args.channel === APPROVERS_CHANNEL && (id === undefined || String(c.args.text).includes(id)));
const ephemeralsAbout = (id: string) => h.slack.callsTo('chat.postEphemeral').filter((c) => String(c.args.text).includes(id));
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string | undefined;
const decisionsOf = async (id: string) =>
  (await h.sql`SELECT approver_id, outcome FROM decisions WHERE request_id = ${id} ORDER BY id`).map((d) => ({ approver: d.approver_id, outcome: d.outcome }));
const auditOf = async (id: string) =>
  (await h.sql`SELECT action, actor, details FROM audit_events WHERE request_id = ${id} ORDER BY id`).map((r) => ({
    action: r.action as string,
    actor: r.actor as string,
    details: r.details as Record<string, unknown>,
  }));

/** A click exactly as Slack sends it, as a raw signed body, so the very same bytes can be posted again. */
function signedClick(action: 'access_approve' | 'access_deny', requestId: string, user: string): { body: string; headers: Record<string, string> } {
  const card = cardFor(requestId);
  const body = blockActionsBody((p) => {
    p.user = { ...p.user, id: user, username: user.toLowerCase(), name: user.toLowerCase() };
    p.actions[0].action_id = action;
    p.actions[0].value = requestId;
    p.actions[0].block_id = `req_decision:${requestId}`;
    p.response_url = h.slack.responseUrl(`actions/${user}`);
    if (card) p.container.message_ts = p.message.ts = String(card.args.ts ?? p.message.ts);
  });
  return { body, headers: signedHeaders(h.secrets.signingSecret, body, FORM) };
}

async function newRequest(text: string, user: string = USERS.alice): Promise<string> {
  const res = await h.command(text, user);
  expect(res.status).toBe(200);
  const id = requestIdIn(res.body);
  await eventually(() => expect(cardFor(id)).toBeDefined());
  return id;
}

const undelivered = async () =>
  (await h.sql`SELECT count(*)::int AS n FROM notifications WHERE delivered_at IS NULL AND abandoned_at IS NULL`)[0]!.n as number;

let barriers = 0;
/**
 * Instead of a blind wait before checking that nothing more arrived: once a click has been answered, its
 * listener has committed whatever it changed, outbox rows included (they are written with the state change,
 * before the answer). A new request is then submitted and its card waited for, so the outbox worker has reached
 * work queued after the click; and the outbox is waited to be empty, so every chat message any step owed (a
 * card update, a DM) has been sent. Only then does "nothing more" mean nothing more.
 */
async function barrier(): Promise<void> {
  await newRequest(`request prod-db read 1h INC-99${++barriers} barrier`);
  await eventually(async () => expect(await undelivered()).toBe(0));
}

describe('a click from someone who is not an approver', () => {
  it('is refused privately and audited; the request, the card and the target are untouched', async () => {
    const id = await newRequest('request prod-db read 1h INC-100 not for dave');

    expect(await h.click('access_approve', id, USERS.dave)).toBe(200);

    await eventually(() => expect(ephemeralsTo(USERS.dave)).toHaveLength(1));
    const reply = ephemeralsTo(USERS.dave)[0]!;
    expect(String(reply.args.text)).toMatch(/cannot decide/i);
    expect(String(reply.args.text)).toMatch(/not one of its approvers/i);
    await eventually(async () =>
      expect((await auditOf(id)).filter((a) => a.action === 'decision.refused')).toEqual([
        { action: 'decision.refused', actor: USERS.dave, details: expect.objectContaining({ outcome: 'approve' }) },
      ]),
    );

    await barrier();
    expect(ephemeralsTo(USERS.dave)).toHaveLength(1);
    expect(await statusOf(id)).toBe('pending');
    expect(await decisionsOf(id)).toEqual([]);
    expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(false);
    expect(updatesOf(id)).toEqual([]);
    expect(dmsTo(USERS.alice, id)).toEqual([]);
    // Nothing went to the channel for everyone to see.
    expect(h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && JSON.stringify(c.args).includes(USERS.dave))).toEqual([]);
  });
});

describe('an approver clicking Approve on their own request', () => {
  it('is refused privately ("your own"), audited, and the request stays pending', async () => {
    const id = await newRequest('request prod-db read 1h INC-101 bob wants it himself', USERS.bob);

    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);

    await eventually(() => expect(ephemeralsTo(USERS.bob).length).toBeGreaterThan(0));
    const reply = ephemeralsTo(USERS.bob).at(-1)!;
    expect(String(reply.args.text)).toMatch(/cannot decide/i);
    expect(String(reply.args.text)).toMatch(/your own/i);
    await eventually(async () =>
      expect((await auditOf(id)).filter((a) => a.action === 'decision.refused').map((a) => a.actor)).toEqual([USERS.bob]),
    );

    const toBob = ephemeralsTo(USERS.bob).length;
    await barrier();
    expect(ephemeralsTo(USERS.bob)).toHaveLength(toBob);
    expect(await statusOf(id)).toBe('pending');
    expect(await decisionsOf(id)).toEqual([]);
    expect(updatesOf(id)).toEqual([]);
    expect(dmsTo(USERS.bob, id)).toEqual([]);
  });
});

describe('twenty concurrent clicks from two approvers on a one-approval request', () => {
  it('deny beats approve: denied, at most one approval before it, no grant, one DM; every loser is told privately', async () => {
    // `raced` waits 30 s after an approval, so the deny among the clicks always lands before the grant starts.
    const id = await newRequest('request prod-db raced 1h INC-200 race');
    const clicks = Array.from({ length: 20 }, (_, i) => ({
      user: i % 2 === 0 ? USERS.bob : USERS.carol,
      action: (i % 4 < 2 ? 'access_approve' : 'access_deny') as 'access_approve' | 'access_deny',
    }));

    const statuses = await Promise.all(clicks.map((c) => h.click(c.action, id, c.user)));
    expect(statuses).toEqual(clicks.map(() => 200));

    // Both approvers deny at least once: whoever's click commits first, a deny from the other wins.
    await eventually(async () => expect(await statusOf(id)).toBe('denied'));
    const decisions = await decisionsOf(id);
    expect(decisions.filter((d) => d.outcome === 'deny')).toHaveLength(1);
    const denier = decisions.find((d) => d.outcome === 'deny')!.approver;
    const approver = decisions.find((d) => d.outcome === 'approve')?.approver;
    expect(decisions).toHaveLength(approver ? 2 : 1);
    if (approver) expect(approver).not.toBe(denier);

    // Every other click is answered privately: "already decided by …", or "you already approved".
    const losers = 20 - decisions.length;
    await eventually(() => expect(ephemeralsAbout(id)).toHaveLength(losers));
    for (const reply of ephemeralsAbout(id)) {
      expect([USERS.bob, USERS.carol]).toContain(reply.args.user);
      expect(reply.args.channel).toBe(APPROVERS_CHANNEL);
      expect(String(reply.args.text)).toMatch(/already decided by <@U0[A-Z0-9]+>|You already (approved|denied)/);
    }
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(1));
    expect(JSON.stringify(dmsTo(USERS.alice, id)[0]!.args)).toMatch(/denied/i);

    // Past a barrier, make sure nothing else came: no second DM, no grant, no further decision.
    await barrier();
    expect(dmsTo(USERS.alice, id)).toHaveLength(1);
    expect(ephemeralsAbout(id)).toHaveLength(losers);
    expect(await decisionsOf(id)).toEqual(decisions);
    expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(false);
    const audit = await auditOf(id);
    expect(audit.filter((a) => a.action === 'grant.started' || a.action === 'grant.activated')).toEqual([]);
    expect(audit.filter((a) => a.action === 'request.denied').map((a) => a.actor)).toEqual([denier]);
    expect(audit.filter((a) => a.action === 'request.approved').map((a) => a.actor)).toEqual(approver ? [approver] : []);
    expect(audit.filter((a) => a.action === 'decision.refused')).toHaveLength(losers);
    const [grantRows] = await h.sql`SELECT count(*)::int AS n FROM grants WHERE request_id = ${id} AND granted_at IS NOT NULL`;
    expect(grantRows?.n).toBe(0);
  });
});

describe('a replayed click', () => {
  it('the same signed body posted again is refused with 401 and changes nothing (Slack never sends the same bytes twice)', async () => {
    // Two approvals: Bob's is recorded first, Carol's (the replayed one) decides.
    const id = await newRequest('request prod-db write 30m INC-300 replay');
    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(async () => expect(await decisionsOf(id)).toHaveLength(1));

    const carol = signedClick('access_approve', id, USERS.carol);
    const first = await h.post(carol.body, carol.headers);
    expect(first.status).toBe(200);
    await first.text();
    await eventually(async () => expect(await h.target.hasRole(h.target.principal, h.target.roles.write)).toBe(true));
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(1));
    const auditBefore = await auditOf(id);
    const toCarol = () => [...ephemeralsTo(USERS.carol), ...h.slack.responses.filter((r) => r.path.endsWith(`actions/${USERS.carol}`))].length;
    const toCarolBefore = toCarol();

    const replay = await h.post(carol.body, carol.headers);
    expect(replay.status).toBe(401);
    await replay.text();

    // Refused before any listener ran: no answer to anyone, no audit entry, nothing recorded twice. The barrier
    // is a fresh click from Carol, sent after the replay down the same path: once its own answer is there, the
    // replay, had it reached a listener, would have been answered and audited too.
    expect(await h.click('access_approve', id, USERS.carol)).toBe(200);
    await eventually(() => expect(ephemeralsTo(USERS.carol, id)).toHaveLength(1));
    await eventually(async () => expect(await auditOf(id)).toHaveLength(auditBefore.length + 1));
    await barrier();
    expect(toCarol()).toBe(toCarolBefore + 1);
    expect(String(ephemeralsTo(USERS.carol, id)[0]!.args.text)).toMatch(/already decided by/);
    expect(await auditOf(id)).toEqual([
      ...auditBefore,
      { action: 'decision.refused', actor: USERS.carol, details: expect.objectContaining({ outcome: 'approve', code: 'NOT_PENDING' }) },
    ]);
    expect(await decisionsOf(id)).toEqual([
      { approver: USERS.bob, outcome: 'approve' },
      { approver: USERS.carol, outcome: 'approve' },
    ]);
    expect(await statusOf(id)).toBe('active');
    const audit = await auditOf(id);
    expect(audit.filter((a) => a.action === 'request.approved')).toHaveLength(1);
    expect(audit.filter((a) => a.action === 'grant.activated')).toHaveLength(1);
    expect(dmsTo(USERS.alice, id)).toHaveLength(1);
    expect(h.logs()).toMatch(/Slack request refused by the request guard.*"reason":"replay"|"reason":"replay".*Slack request refused by the request guard/);
  });
});

describe('a click after the request was decided', () => {
  it('tells the late approver privately that it was already decided, and by whom', async () => {
    const id = await newRequest('request prod-db read 1h INC-400 late click');
    expect(await h.click('access_deny', id, USERS.bob, 'not during the freeze')).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('denied'));
    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(1));

    expect(await h.click('access_approve', id, USERS.carol)).toBe(200);

    await eventually(() => expect(ephemeralsTo(USERS.carol, id)).toHaveLength(1));
    const text = String(ephemeralsTo(USERS.carol, id)[0]!.args.text);
    expect(text).toMatch(new RegExp(`already decided by <@${USERS.bob}>`));
    expect(text).toMatch(/denied/);
    await eventually(async () =>
      expect((await auditOf(id)).filter((a) => a.action === 'decision.refused').map((a) => [a.actor, a.details.code])).toEqual([
        [USERS.carol, 'NOT_PENDING'],
      ]),
    );

    const updates = updatesOf(id).length;
    await barrier();
    expect(ephemeralsTo(USERS.carol, id)).toHaveLength(1);
    expect(await statusOf(id)).toBe('denied');
    expect(await decisionsOf(id)).toEqual([{ approver: USERS.bob, outcome: 'deny' }]);
    expect(dmsTo(USERS.alice, id)).toHaveLength(1);
    expect(updatesOf(id)).toHaveLength(updates);
  });
});

describe('a click carrying a request id that does not exist', () => {
  it('is answered privately that there is no such request, audited, and creates nothing', async () => {
    const id = 'req_doesnotexist';
    expect(await h.click('access_approve', id, USERS.carol)).toBe(200);
    await eventually(() => expect(ephemeralsTo(USERS.carol, id)).toHaveLength(1));
    expect(String(ephemeralsTo(USERS.carol, id)[0]!.args.text)).toMatch(/there is no request/i);
    await eventually(async () =>
      expect((await auditOf(id)).map((a) => [a.action, a.actor, a.details.code])).toEqual([['decision.refused', USERS.carol, 'NOT_FOUND']]),
    );
    expect(await h.sql`SELECT id FROM access_requests WHERE id = ${id}`).toHaveLength(0);
    expect(await decisionsOf(id)).toEqual([]);
  });
});

describe('a click whose button value and block disagree', () => {
  it('is refused privately as not belonging to its message; nothing is decided or audited for either request', async () => {
    const shown = await newRequest('request prod-db read 1h INC-771 the card clicked');
    const other = await newRequest('request prod-db read 1h INC-772 the id smuggled in');
    const { body } = signedClick('access_approve', shown, USERS.bob);
    // The value names another request than the block it sits in (a payload not made from our card).
    const tampered = body.replace(encodeURIComponent(`"value":"${shown}"`), encodeURIComponent(`"value":"${other}"`));
    expect(tampered).not.toBe(body);
    const res = await h.post(tampered, signedHeaders(h.secrets.signingSecret, tampered, FORM));
    expect(res.status).toBe(200);
    await res.text();
    const refusals = () => h.slack.callsTo('chat.postEphemeral').filter((c) => c.args.user === USERS.bob && String(c.args.text).includes('does not belong'));
    await eventually(() => expect(refusals()).toHaveLength(1));
    await barrier();
    expect(refusals()).toHaveLength(1);
    for (const id of [shown, other]) {
      expect(updatesOf(id)).toEqual([]);
      expect(dmsTo(USERS.alice, id)).toEqual([]);
      expect(await statusOf(id)).toBe('pending');
      expect(await decisionsOf(id)).toEqual([]);
      expect((await auditOf(id)).map((a) => a.action)).toEqual(['request.submitted']);
    }
  });
});
