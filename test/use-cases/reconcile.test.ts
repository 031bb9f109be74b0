import { describe, expect, it } from 'vitest';
import { MINUTE } from '../../src/domain/duration.js';
import { deliverNotification } from '../../src/use-cases/deliver-notification.js';
import { reconcile } from '../../src/use-cases/reconcile.js';
import { reviewRequest } from '../../src/use-cases/review-request.js';
import { revokeGrant } from '../../src/use-cases/revoke-grant.js';
import { BOB, active, approved, createWorld, deliverAll, loseQueue, readRequest, submitted, type World } from './world.js';

/** Every state a request can rest in, built through the use cases; then the queue loses all its jobs. */
async function everyState(w: World) {
  const pending = await submitted(w);
  const denied = await submitted(w);
  await reviewRequest(w.deps, { requestId: denied, deciderId: BOB, outcome: 'deny', reason: null });
  const overdue = await active(w, readRequest({ durationMs: 10 * MINUTE }));
  const revoking = await active(w, readRequest({ role: 'write', durationMs: 10 * MINUTE }));
  const revoked = await active(w, readRequest({ durationMs: 10 * MINUTE }));
  await deliverAll(w);

  w.clock.advance(20 * MINUTE);
  await revokeGrant(w.deps, revoked, 'expired');
  w.target.failNext('revoke', 1);
  await expect(revokeGrant(w.deps, revoking, 'expired')).rejects.toThrow();
  const scheduled = await active(w, readRequest({ durationMs: 60 * MINUTE }));
  const grantLost = await approved(w);
  loseQueue(w);
  return { pending, denied, overdue, revoking, revoked, scheduled, grantLost };
}

describe('reconcile', () => {
  it('re-creates, from the store alone, every job the queue lost', async () => {
    const w = createWorld();
    const ids = await everyState(w);
    w.clock.advance(1);
    const now = w.clock.now();
    const undelivered = w.store.undeliveredIds();
    expect(undelivered.length).toBeGreaterThan(0);

    const report = await reconcile(w.deps);

    // `checks` counts pending requests whose expiry (and reminder) checks were ensured.
    expect(report).toEqual({ overdue: 2, scheduled: 1, grants: 1, deliveries: undelivered.length, checks: 1 });
    expect(w.queue.job(`expire-${ids.pending}`)).toMatchObject({ at: w.store.request(ids.pending).pendingUntil });
    expect(w.queue.job(`revoke-${ids.overdue}`)).toMatchObject({ at: now });
    expect(w.queue.job(`revoke-${ids.revoking}`)).toMatchObject({ at: now });
    expect(w.queue.job(`revoke-${ids.scheduled}`)).toMatchObject({ at: w.store.request(ids.scheduled).expiresAt });
    expect(w.queue.jobs('revoke')).toHaveLength(3);
    expect(w.queue.jobs('grant').map((j) => j.target)).toEqual([ids.grantLost]);
    // The grant is due when its approval grace ends (still ahead here), so a deny in the grace can still win.
    const grantAfter = w.store.request(ids.grantLost).grantAfter!;
    expect(grantAfter.getTime()).toBeGreaterThan(now.getTime());
    expect(w.queue.job(`grant-${ids.grantLost}`)).toMatchObject({ at: grantAfter });
    expect(w.queue.jobs('deliver').map((j) => j.target).sort()).toEqual([...undelivered].sort());
    for (const untouched of [ids.denied, ids.revoked]) {
      expect(w.queue.jobs().filter((j) => j.target === untouched)).toEqual([]);
    }
  });

  it('reads every row a page at a time: rows stuck in their state (a revoke failing for ever) never hide the others', async () => {
    const w = createWorld();
    const stuck: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const id = await active(w, readRequest({ durationMs: 10 * MINUTE }));
      stuck.push(id);
    }
    w.clock.advance(20 * MINUTE);
    // These revokes fail on the target and stay `revoking`, ahead of everything in any order by end time.
    for (const id of stuck) {
      w.target.failNext('revoke', 1);
      await expect(revokeGrant(w.deps, id, 'expired')).rejects.toThrow();
    }
    const later = [await active(w, readRequest({ durationMs: 60 * MINUTE })), await active(w, readRequest({ role: 'write', durationMs: 60 * MINUTE }))];
    const pending = [await submitted(w), await submitted(w), await submitted(w)];
    loseQueue(w);
    w.clock.advance(1); // notifications are listed when created before now

    const report = await reconcile(w.deps, { batch: 2 });

    expect(report).toMatchObject({ overdue: 3, scheduled: 2, checks: 3 });
    expect(w.queue.jobs('revoke').map((j) => j.target).sort()).toEqual([...stuck, ...later].sort());
    for (const id of pending) expect(w.queue.job(`expire-${id}`)).toBeDefined();
    expect(w.queue.jobs('deliver').map((j) => j.target).sort()).toEqual(w.store.undeliveredIds().sort());
    expect(w.store.undeliveredIds().length).toBeGreaterThan(2); // more than one page of them too
  });

  it('run twice, or in two processes, enqueues nothing new the second time', async () => {
    const w = createWorld();
    await everyState(w);
    w.clock.advance(1);

    const first = await reconcile(w.deps);
    const jobs = w.queue.jobs();
    const added = w.queue.added;
    const second = await reconcile(w.deps);

    expect(second).toEqual(first);
    expect(w.queue.added).toBe(added);
    expect(w.queue.jobs()).toEqual(jobs);
  });

  it('does not move a revoke that is already scheduled', async () => {
    const w = createWorld();
    const id = await active(w);
    const at = w.queue.job(`revoke-${id}`)?.at;

    await reconcile(w.deps);

    expect(w.queue.jobs('revoke')).toEqual([expect.objectContaining({ id: `revoke-${id}`, at })]);
  });

  it('revives a grant job that failed for good', async () => {
    const w = createWorld();
    const id = await approved(w);
    w.queue.fail(`grant-${id}`);

    await reconcile(w.deps);

    expect(w.queue.job(`grant-${id}`)?.state).toBe('waiting');
  });

  it('re-creates the delivery job of a notification written a moment ago', async () => {
    // No grace period: a delivery in flight still holds its job id, and a delivered row is skipped.
    const w = createWorld();
    await submitted(w);
    const [id] = w.store.undeliveredIds();
    loseQueue(w);
    w.clock.advance(1);

    expect((await reconcile(w.deps)).deliveries).toBe(1);
    expect(w.queue.pendingIds('deliver')).toEqual([`deliver-${id}`]);
  });

  it('does not enqueue a second delivery while the first is still queued', async () => {
    const w = createWorld();
    await submitted(w);
    w.clock.advance(1);

    await reconcile(w.deps);

    expect(w.queue.jobs('deliver')).toHaveLength(1);
    expect(w.queue.calls.filter((c) => c.method === 'ensureDelivery')).toHaveLength(2);
    expect(w.queue.jobs('deliver').map((j) => j.attemptsMade)).toEqual([0]);
  });

  it('brings forward a revoke waiting past the end of the window', async () => {
    const w = createWorld();
    const id = await active(w);
    const expiresAt = w.store.request(id).expiresAt;
    loseQueue(w);
    await w.queue.ensureRevoke(id, new Date(w.clock.now().getTime() + 24 * 60 * MINUTE));

    await reconcile(w.deps);

    expect(w.queue.job(`revoke-${id}`)).toMatchObject({ at: expiresAt, state: 'delayed' });
  });

  it('leaves a revoke waiting out a retry backoff alone', async () => {
    const w = createWorld();
    const id = await active(w);
    w.clock.set(w.store.request(id).expiresAt ?? w.clock.now());
    w.queue.attemptFailed(`revoke-${id}`);
    const before = w.queue.job(`revoke-${id}`);

    await reconcile(w.deps);

    expect(w.queue.job(`revoke-${id}`)).toEqual(before);
  });

  it('leaves delivered notifications alone', async () => {
    const w = createWorld();
    await submitted(w);
    await deliverAll(w);
    loseQueue(w);
    w.clock.advance(MINUTE);

    expect((await reconcile(w.deps)).deliveries).toBe(0);
  });

  it('leaves a notification given up for good alone, but keeps reviving one that fails transiently', async () => {
    const w = createWorld();
    const failing = await submitted(w, readRequest({ role: 'write' }));
    w.policy.resources['prod-db']!.roles['read']!.channel = 'C0GONE0001'; // a channel the chat fake does not have
    const refused = await submitted(w);
    const [failingRow, refusedRow] = [w.store.outbox(failing)[0]!.id, w.store.outbox(refused)[0]!.id];
    w.notifier.failNext('postCard');
    await expect(deliverNotification(w.deps, failingRow)).rejects.toThrow(/service_unavailable/);
    expect(await deliverNotification(w.deps, refusedRow)).toBe('abandoned');
    const queue = loseQueue(w);
    w.clock.advance(MINUTE);

    expect((await reconcile(w.deps)).deliveries).toBe(1);
    expect(queue.jobs('deliver').map((j) => j.target)).toEqual([failingRow]);
  });
});
