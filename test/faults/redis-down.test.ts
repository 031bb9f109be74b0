/**
 * Fault: Redis goes away (a private Redis, killed) while a grant is active, and comes back empty a few
 * seconds after the grant's window ended. PostgreSQL is the system of record, so the app stays up, says it
 * is not ready, still answers people in Slack, and revokes the overdue grant once Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-servers.js';

let redis: PrivateRedis;
let h: Harness;
beforeAll(async () => {
  redis = await startPrivateRedis();
  h = await startHarness('redisdown', { redisUrl: redis.url, reconcileInterval: '1s' });
});
afterAll(async () => {
  try {
    redis?.thaw();
    await redis?.start().catch(() => undefined); // running, so the harness can clear this file's keys
    await h?.close();
  } finally {
    await redis?.close();
  }
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hasRead = () => h.target.hasRole(h.target.principal, h.target.roles.read);
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string | undefined;
const about = (id: string) => (c: { args: Record<string, unknown> }) => JSON.stringify(c.args).includes(id);
const cardsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && about(id)(c));
const dmsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === USERS.alice && about(id)(c));
async function readyz(): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${h.baseUrl()}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** A slash command, timed from the moment it is sent to Slack's receiving the HTTP response (the ack). */
async function timedCommand(text: string, user: string = USERS.alice) {
  const started = Date.now();
  const res = await h.command(text, user);
  return { ...res, ms: Date.now() - started, text: JSON.stringify(res.body) };
}

describe('Redis killed while a grant is active, back (empty) after its window ended', () => {
  it('stays up and answers, reports not ready, and revokes the overdue grant once Redis is back', async () => {
    const id = requestIdIn((await h.command('request prod-db read 7s INC-901 redis down')).body);
    await eventually(() => expect(cardsOf(id)).toHaveLength(1));
    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('active'));
    expect(await hasRead()).toBe(true);
    const [window] = await h.sql`SELECT expires_at FROM grants WHERE request_id = ${id}`;
    const expiresAt = (window!.expires_at as Date).getTime();

    // Everything the app says about the outage goes through its structured logger, not raw stacks on stderr.
    const stderr = vi.spyOn(console, 'error');
    await redis.kill();
    const down = Date.now();
    expect(expiresAt).toBeGreaterThan(down); // Redis went down before the window ended

    // Not ready: PostgreSQL answers, Redis does not. Alive all the same.
    await eventually(async () => expect(await readyz()).toMatchObject({ status: 503, body: { ready: false, checks: { database: 'ok', redis: 'unreachable' } } }));
    expect((await fetch(`${h.baseUrl()}/healthz`)).status).toBe(200);

    // An outage that lasts: the Redis client's reconnect back-off has grown by now.
    await sleep(Math.max(0, down + 3_000 - Date.now()));
    // A slash command while Redis is down: recorded in PostgreSQL, and the user gets the normal private
    // confirmation inline, well within Slack's 3 s (not "Working on it…" followed by a late reply).
    const asked = await timedCommand('request prod-db read 1h INC-902 asked while redis is down');
    expect(asked.status).toBe(200);
    expect(asked.ms).toBeLessThan(2_500);
    expect(asked.body.response_type).toBe('ephemeral');
    const late = requestIdIn(asked.body);
    expect(await statusOf(late)).toBe('pending');
    // A command whose use case enqueues follow-up work (a card refresh) and acks only when done.
    const cancelled = await timedCommand(`cancel ${late}`);
    expect(cancelled.ms).toBeLessThan(2_500);
    expect(cancelled.text).toMatch(/cancelled/i);
    expect(await statusOf(late)).toBe('cancelled');

    // The window ends while Redis is still down: nothing can run the revoke yet.
    await sleep(Math.max(0, expiresAt - Date.now()) + 3_000);
    expect(await statusOf(id)).toBe('active');
    expect(await hasRead()).toBe(true);

    expect(stderr).not.toHaveBeenCalled();
    expect(h.logs()).toMatch(/redis connection error/);
    const back = Date.now();
    await redis.start();
    await eventually(async () => expect((await readyz()).status).toBe(200));
    // The reconcile schedule was lost with Redis' data: the worker's watchdog restores it within one interval
    // (1 s here) and reconciles, which enqueues the overdue revoke from PostgreSQL.
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'), 15_000);
    expect(await hasRead()).toBe(false);
    const [g] = await h.sql`SELECT revoked_at FROM grants WHERE request_id = ${id}`;
    // Late by at most the Redis client's reconnect back-off (ioredis 6: up to ~5.2 s) plus one interval.
    expect((g!.revoked_at as Date).getTime() - back).toBeLessThan(8_000);

    // What was owed to Slack while Redis was down is delivered from the outbox, once each.
    await eventually(() => expect(cardsOf(late)).toHaveLength(1));
    await eventually(() => expect(dmsOf(id).length).toBeGreaterThanOrEqual(2)); // granted, then ended
    await sleep(2_000);
    expect(cardsOf(late)).toHaveLength(1);
    expect(cardsOf(id)).toHaveLength(1);
    expect(dmsOf(id)).toHaveLength(2);
  });
});

describe('Redis stops answering (hung: connections open, no replies)', () => {
  it('still answers slash commands in time, reports not ready, and catches up when Redis answers again', async () => {
    await redis.start(); // (no-op when the previous test brought it back)
    await eventually(async () => expect((await readyz()).status).toBe(200));
    redis.freeze();
    try {
      await eventually(async () => expect(await readyz()).toMatchObject({ status: 503, body: { ready: false, checks: { database: 'ok', redis: 'unreachable' } } }));
      const asked = await timedCommand('request prod-db read 1h INC-903 asked while redis hangs');
      expect(asked.ms).toBeLessThan(2_500);
      const id = requestIdIn(asked.body); // the confirmation itself, not "Working on it…"
      expect(await statusOf(id)).toBe('pending');
      const cancelled = await timedCommand(`cancel ${id}`);
      expect(cancelled.ms).toBeLessThan(2_500);
      expect(cancelled.text).toMatch(/cancelled/i);
      expect(await statusOf(id)).toBe('cancelled');
      redis.thaw();
      await eventually(async () => expect((await readyz()).status).toBe(200));
      await eventually(() => expect(cardsOf(id)).toHaveLength(1));
      await sleep(1_500);
      expect(cardsOf(id)).toHaveLength(1);
    } finally {
      redis.thaw();
    }
  });
});
