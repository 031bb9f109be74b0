/**
 * Fault: Slack's Web API rate-limits (429 with Retry-After) and fails (500) for a while. Chat messages come
 * from the outbox, so they are retried until delivered, and each is delivered once: FakeSlack records only
 * the calls it accepted, so counting its calls after the recovery counts what people saw. Meanwhile people
 * can still use the bot: a slash command is answered inline, within Slack's 3 s.
 *
 * Not simulated (FakeSlack cannot): a post that Slack accepted but whose response was lost. Its retry would
 * post a second copy; see docs/reliability.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('slackerr', { reconcileInterval: '1s' });
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
