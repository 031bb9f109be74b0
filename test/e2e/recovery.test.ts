/**
 * Nothing depends on a process staying alive or on Redis keeping its data: PostgreSQL is the system of
 * record and the reconciler rebuilds the queue's work from it. Also: a failing revoke is retried until it
 * succeeds, and the approvers are told once when it keeps failing, including when the target blocks the
 * REVOKE (it then fails after the resource's lock_timeout instead of waiting for ever).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../support/fake-slack.js';
import { urlFor } from '../support/env.js';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';
import { holdInTransaction, sessionsWaitingOnLock } from '../support/locks.js';

let h: Harness;
beforeAll(async () => {
  // A short lock_timeout, so a REVOKE blocked on the target fails (and is retried) within a second.
  h = await startHarness('recovery', { reconcileInterval: '1s', resourceSettings: '    lock_timeout: 1s\n    statement_timeout: 5s' });
});
afterAll(async () => {
  await h?.close();
});

const hasRead = () => h.target.hasRole(h.target.principal, h.target.roles.read);
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string;
const channelPosts = (pattern: RegExp) =>
  h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && pattern.test(String(c.args.text)));

async function grantRead(duration: string): Promise<string> {
  const id = requestIdIn((await h.command(`request prod-db read ${duration} INC-77 recovery test`)).body);
  await eventually(() => expect(h.slack.callsTo('chat.postMessage').some((c) => c.args.channel === APPROVERS_CHANNEL && JSON.stringify(c.args).includes(id))).toBe(true));
  expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
  await eventually(async () => expect(await statusOf(id)).toBe('active'));
  expect(await hasRead()).toBe(true);
  return id;
}

describe('when Redis loses its data', () => {
  it('still revokes an active grant when its window ends', async () => {
    const id = await grantRead('5s');
    await h.loseRedisData();
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'), 20_000);
    expect(await hasRead()).toBe(false);
    const [g] = await h.sql`SELECT expires_at, revoked_at FROM grants WHERE request_id = ${id}`;
    // Late by at most the reconcile interval (1s here) plus a little scheduling slack.
    expect(g!.revoked_at.getTime() - g!.expires_at.getTime()).toBeLessThan(4_000);
  });

  it('still grants a request approved just before the data was lost', async () => {
    await h.restart({ worker: false }); // nothing consumes the grant job...
    const id = requestIdIn((await h.command('request prod-db read 1h INC-78 lost grant job')).body);
    // No worker, so no card yet: the approver's click carries the request id all the same.
    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('approved'));
    await h.loseRedisData(); // ...and the queued grant job is gone
    await h.restart({ worker: true });
    await eventually(async () => expect(await statusOf(id)).toBe('active'));
    expect(await hasRead()).toBe(true);
    // Exactly one card and one "granted" DM, despite the lost queue and the restart.
    await eventually(() =>
      expect(h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === USERS.alice && JSON.stringify(c.args).includes(id)).length).toBe(1),
    );
    await eventually(() =>
      expect(h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && JSON.stringify(c.args).includes(id)).length).toBe(1),
    );
    // The card, posted late, already shows the current state: approved and granted, no buttons.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && JSON.stringify(c.args).includes(id)).length).toBe(1);
    await h.sql`UPDATE grants SET expires_at = now() WHERE request_id = ${id}`; // end it now for the next test
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
  });
});

describe('when every process is down as the window ends', () => {
  it('revokes at start-up, from PostgreSQL alone', async () => {
    const id = await grantRead('5s');
    await h.stop();
    await h.loseRedisData();
    await new Promise((r) => setTimeout(r, 5_500)); // the window ends while nothing runs
    expect(await hasRead()).toBe(true);
    await h.restart();
    // The start-up reconcile enqueues the overdue revoke before the app serves anything.
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'), 10_000);
    expect(await hasRead()).toBe(false);
  });
});

describe('when the revoke keeps failing', () => {
  it('retries until it succeeds, shows it on the card and alerts the approvers once, then says it recovered', async () => {
    const id = await grantRead('5s');
    // The bot loses its ADMIN OPTION on the role: every revoke attempt now fails on the target.
    await h.target.sql.unsafe(`REVOKE ADMIN OPTION FOR "${h.target.roles.read}" FROM "bot_${h.sfx}"`);
    await eventually(async () => {
      const [r] = await h.sql`SELECT status, revoke_attempts FROM access_requests WHERE id = ${id}`;
      expect(r?.status).toBe('revoking');
      expect(r!.revoke_attempts).toBeGreaterThanOrEqual(5);
    }, 25_000);
    expect(await hasRead()).toBe(true);
    // Both go through the outbox: wait for them, then the count says "once".
    await eventually(() => expect(channelPosts(/fail/i).filter((c) => JSON.stringify(c.args).includes(id)).length).toBe(1));
    const cardUpdates = () => h.slack.callsTo('chat.update').filter((c) => JSON.stringify(c.args).includes(id));
    await eventually(() => expect(cardUpdates().some((c) => /fail/i.test(JSON.stringify(FakeSlack.blocks(c))))).toBe(true));
    // Secrets stay out of the channel even when the error is shown.
    expect(JSON.stringify(h.slack.calls)).not.toContain(h.target.botPassword);

    await h.target.sql.unsafe(`GRANT "${h.target.roles.read}" TO "bot_${h.sfx}" WITH ADMIN OPTION`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'), 15_000);
    expect(await hasRead()).toBe(false);
    await eventually(() => expect(channelPosts(/recover|revoked/i).filter((c) => JSON.stringify(c.args).includes(id)).length).toBe(1));
  });

  it("a REVOKE blocked on the target (a DBA's open transaction) fails after lock_timeout, is retried and alerted once, then completes when the lock goes", async () => {
    const id = await grantRead('5s');
    const about = (c: { args: Record<string, unknown> }) => JSON.stringify(c.args).includes(id);
    // A DBA's uncommitted REVOKE of the same membership: the bot's REVOKE waits on its row lock.
    const dba = await holdInTransaction(urlFor(h.target.database), [`REVOKE "${h.target.roles.read}" FROM "${h.target.principal}"`]);
    try {
      // The bot's REVOKE is really waiting on the lock (not failing for another reason)...
      await eventually(
        async () => expect(await sessionsWaitingOnLock(h.target.sql, h.target.database, { except: dba.pid, application: 'accessbot' })).not.toHaveLength(0),
        15_000,
      );
      // ...and gives up after lock_timeout, each attempt: the revoke keeps failing rather than hanging.
      await eventually(async () => {
        const [r] = await h.sql`SELECT status, revoke_attempts, last_error FROM access_requests WHERE id = ${id}`;
        expect(r?.status).toBe('revoking');
        expect(r!.revoke_attempts).toBeGreaterThanOrEqual(4);
        expect(r!.last_error).toMatch(/lock_timeout \(1s\)/);
      }, 20_000);
      expect(await hasRead()).toBe(true);
      await eventually(() => expect(channelPosts(/fail/i).filter(about)).toHaveLength(1));
      const failing = channelPosts(/fail/i).filter(about);
      expect(failing).toHaveLength(1);
      expect(JSON.stringify(FakeSlack.blocks(failing[0]!))).toMatch(/lock_timeout/);
      const cardUpdates = h.slack.callsTo('chat.update').filter(about);
      expect(cardUpdates.some((c) => /fail/i.test(JSON.stringify(FakeSlack.blocks(c))))).toBe(true);
      expect(JSON.stringify(h.slack.calls)).not.toContain(h.target.botPassword);
    } finally {
      await dba.release(); // the DBA rolls back: the membership is still there, for the bot to revoke
    }
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'), 15_000);
    expect(await hasRead()).toBe(false);
    await eventually(() => expect(channelPosts(/recover/i).filter(about)).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(channelPosts(/fail/i).filter(about)).toHaveLength(1);
    expect(channelPosts(/recover/i).filter(about)).toHaveLength(1);
  });
});
