import { describe, expect, it } from 'vitest';
import { MINUTE } from '../../src/domain/duration.js';
import { activateGrant } from '../../src/use-cases/activate-grant.js';
import { reviewRequest } from '../../src/use-cases/review-request.js';
import { revokeGrant } from '../../src/use-cases/revoke-grant.js';
import { ALICE_PRINCIPAL, BOB, CAROL, MALLORY, approved, claimed, createWorld, deliverAll, outboxKinds, readRequest, submitted, type World } from './world.js';

const WINDOW = 30 * MINUTE;

async function expireAndRevoke(w: World, id: string): Promise<void> {
  w.clock.set(w.store.request(id).expiresAt ?? w.clock.now());
  expect(await revokeGrant(w.deps, id, 'expired')).toEqual({ kind: 'revoked' });
}

describe('activateGrant', () => {
  it('grants the role, starts the window at the grant, schedules the revoke and tells the requester', async () => {
    const w = createWorld();
    const id = await approved(w);
    const grantedAt = w.clock.advance(2 * MINUTE);

    expect(await activateGrant(w.deps, id, { finalAttempt: false })).toBe('activated');

    const expiresAt = new Date(grantedAt.getTime() + WINDOW);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
    expect(w.store.request(id)).toMatchObject({ status: 'active', grantedAt, expiresAt });
    expect(w.store.recordedPreExisting(id)).toEqual([]);
    expect(w.queue.job(`revoke-${id}`)).toMatchObject({ at: expiresAt, state: 'delayed' });
    expect(w.store.auditLog(id).at(-1)).toMatchObject({ action: 'grant.activated', details: { principal: ALICE_PRINCIPAL, grants: ['app_read'] } });
    expect(outboxKinds(w, id).slice(-2)).toEqual(['notify-requester:granted', 'refresh-cards']);

    await deliverAll(w);
    expect(w.notifier.noticesOf(id)).toEqual(['granted']);
    expect(w.notifier.cardsOf(id)[0]?.snapshot.request.status).toBe('active');
  });

  it('reads what the principal holds and records it before granting anything', async () => {
    const w = createWorld();
    const id = await approved(w);
    await activateGrant(w.deps, id, { finalAttempt: false });

    expect(w.target.calls.map((c) => c.op)).toEqual(['held', 'grant']);
  });

  it('grants only the roles not held before, and its revoke leaves the held ones alone', async () => {
    const w = createWorld();
    w.target.hold(ALICE_PRINCIPAL, 'app_read');
    const id = await approved(w, readRequest({ role: 'write' }));

    expect(await activateGrant(w.deps, id, { finalAttempt: false })).toBe('activated');

    expect(w.store.recordedPreExisting(id)).toEqual(['app_read']);
    expect(w.target.callsOf('grant')).toMatchObject([{ grants: ['app_write'], ok: true }]);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read', 'app_write']);

    await expireAndRevoke(w, id);
    expect(w.target.callsOf('revoke')).toMatchObject([{ grants: ['app_write'] }]);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
  });

  it('never grants nor revokes a membership that was entirely pre-existing', async () => {
    const w = createWorld();
    w.target.hold(ALICE_PRINCIPAL, 'app_read');
    const id = await approved(w);

    expect(await activateGrant(w.deps, id, { finalAttempt: false })).toBe('activated');
    await expireAndRevoke(w, id);

    // Read-only calls aside (`held`, and `listGranted` to tell a DBA's membership from a leftover of the bot).
    expect(w.target.calls.filter((c) => c.op === 'grant' || c.op === 'revoke').every((c) => c.grants.length === 0)).toBe(true);
    expect(w.target.callsOf('listGranted')).toMatchObject([{ grants: ['app_read'], ok: true }]);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
    expect(w.store.request(id).status).toBe('revoked');
  });

  it('a retry after a crash between the grant and the save grants once and finds nothing pre-existing', async () => {
    const w = createWorld();
    // The first run claimed the request, granted, and crashed before saving the activation.
    const id = await claimed(w);
    w.store.failNext('apply');

    await expect(activateGrant(w.deps, id, { finalAttempt: false })).rejects.toThrow();
    // The crash: the target has the role, the store still says approved.
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
    expect(w.store.request(id).status).toBe('approved');

    expect(await activateGrant(w.deps, id, { finalAttempt: false })).toBe('activated');

    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
    expect(w.store.recordedPreExisting(id)).toEqual([]);
    expect(w.store.actions(id).filter((a) => a === 'grant.activated')).toHaveLength(1);
    // The proof that the retry did not take its own grant for standing access: the revoke removes it.
    await expireAndRevoke(w, id);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
  });

  it('a deny saved in the approval grace wins: the job grants nothing, the request stays denied', async () => {
    const w = createWorld();
    const id = await approved(w);
    expect(w.queue.job(`grant-${id}`)).toMatchObject({ at: w.store.request(id).grantAfter });
    expect(await reviewRequest(w.deps, { requestId: id, deciderId: CAROL, outcome: 'deny', reason: 'change freeze' })).toMatchObject({ ok: true });

    expect(await activateGrant(w.deps, id, { finalAttempt: false })).toBe('not-approved');
    expect(w.target.calls).toEqual([]);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
    expect(w.store.request(id)).toMatchObject({ status: 'denied', grantStartedAt: null });
    expect(w.store.actions(id)).not.toContain('grant.started');
  });

  it('the job claims the request before granting, so a deny after the claim is refused and the grant goes on', async () => {
    const w = createWorld();
    const id = await claimed(w);
    const refused = await reviewRequest(w.deps, { requestId: id, deciderId: CAROL, outcome: 'deny', reason: null });
    expect(refused).toMatchObject({ ok: false, error: { code: 'NOT_PENDING', status: 'approved' } });

    expect(await activateGrant(w.deps, id, { finalAttempt: false })).toBe('activated');
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
    expect(w.store.actions(id).filter((a) => a === 'grant.started')).toHaveLength(1);
  });

  it('a second run of the job while the first is still granting leaves the grant in place', async () => {
    // BullMQ is at-least-once: a job whose lock lapses is run again while the first run may still be going.
    const w = createWorld();
    const id = await approved(w);

    const outcomes = await Promise.all([
      activateGrant(w.deps, id, { finalAttempt: false }),
      activateGrant(w.deps, id, { finalAttempt: false }),
    ]);

    expect(outcomes.sort()).toEqual(['activated', 'not-approved']);
    expect(w.store.request(id).status).toBe('active');
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
    await expireAndRevoke(w, id);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
  });

  describe('a grant that cannot succeed ends as failed and the requester is told', () => {
    type Case = { name: string; setup: (w: World) => Promise<string>; finalAttempt: boolean };
    const cases: Case[] = [
      {
        name: 'a permanent error from the grant',
        setup: async (w) => {
          const id = await approved(w);
          w.target.failNext('grant', 1, 'permanent');
          return id;
        },
        finalAttempt: false,
      },
      {
        name: 'a principal that does not exist on the target',
        setup: (w) => approved(w, readRequest({ requesterId: MALLORY })),
        finalAttempt: false,
      },
      {
        name: 'a principal name the target cannot hold (over 63 bytes)',
        setup: async (w) => {
          const longUser = 'U0LONG0007';
          w.directory.add(longUser, `${'x'.repeat(64)}@example.com`);
          return approved(w, readRequest({ requesterId: longUser }));
        },
        finalAttempt: false,
      },
      {
        name: 'a transient error on the final attempt',
        setup: async (w) => {
          const id = await approved(w);
          w.target.failNext('grant', 1, 'transient');
          return id;
        },
        finalAttempt: true,
      },
      {
        name: 'a transient error reading the memberships on the final attempt',
        setup: async (w) => {
          const id = await approved(w);
          w.target.failNext('held', 1, 'transient');
          return id;
        },
        finalAttempt: true,
      },
    ];

    it.each(cases)('$name', async ({ setup, finalAttempt }) => {
      const w = createWorld();
      const id = await setup(w);

      expect(await activateGrant(w.deps, id, { finalAttempt })).toBe('failed');

      const request = w.store.request(id);
      expect(request.status).toBe('failed');
      expect(request.lastError).toEqual(expect.any(String));
      expect(w.store.auditLog(id).at(-1)).toMatchObject({ action: 'grant.failed', details: { error: request.lastError } });
      expect(w.queue.jobs('revoke')).toEqual([]);
      expect(w.target.membershipsOf(request.principal)).toEqual([]);
      await deliverAll(w);
      expect(w.notifier.noticesOf(id)).toEqual(['grant-failed']);
      expect(w.notifier.cardsOf(id)[0]?.snapshot.request.status).toBe('failed');
    });
  });

  it.each([
    { op: 'grant' as const, recorded: [] },
    { op: 'held' as const, recorded: undefined },
  ])('rethrows a transient $op error before the final attempt, leaving the request approved', async ({ op, recorded }) => {
    const w = createWorld();
    const id = await approved(w);
    w.target.failNext(op, 1, 'transient');

    await expect(activateGrant(w.deps, id, { finalAttempt: false })).rejects.toThrow(/ECONNREFUSED/);

    expect(w.store.request(id).status).toBe('approved');
    expect(w.store.recordedPreExisting(id)).toEqual(recorded);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
    expect(w.notifier.notices).toEqual([]);
    // The retry succeeds.
    expect(await activateGrant(w.deps, id, { finalAttempt: false })).toBe('activated');
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
  });

  it('does nothing for a request that is not approved', async () => {
    const w = createWorld();
    const pending = await submitted(w);
    const denied = await submitted(w);
    await reviewRequest(w.deps, { requestId: denied, deciderId: BOB, outcome: 'deny', reason: null });

    for (const id of [pending, denied, 'req_9999']) {
      expect(await activateGrant(w.deps, id, { finalAttempt: true })).toBe('not-approved');
    }
    expect(w.target.calls).toEqual([]);
  });

  describe('giving up takes back what an EARLIER attempt granted, from the durable record', () => {
    // Attempt 1 grants on the target, then the save of `active` is lost: the request stays `approved` with
    // the access in place, and only the `grants` row (what was held before) remembers that an attempt ran.
    async function grantedThenSaveLost(w: World, input = readRequest()): Promise<string> {
      const id = await claimed(w, input);
      w.store.failNext('apply');
      await expect(activateGrant(w.deps, id, { finalAttempt: false })).rejects.toThrow();
      expect(w.store.request(id).status).toBe('approved');
      return id;
    }

    function expectFailedWithoutRevokeJob(w: World, id: string): void {
      expect(w.store.request(id).status).toBe('failed');
      expect(w.queue.job(`revoke-${id}`)).toBeUndefined();
      expect(w.store.auditLog(id).at(-1)).toMatchObject({ action: 'grant.failed' });
    }

    type Failure = { name: string; fail: (w: World) => void; finalAttempt: boolean };
    const failures: Failure[] = [
      { name: 'a permanent error reading the target, on any attempt', fail: (w) => w.target.failAlways('held', 'permanent'), finalAttempt: false },
      { name: 'a transient error reading the target on the final attempt', fail: (w) => w.target.failNext('held', 1, 'transient'), finalAttempt: true },
      { name: 'the records failing to say what other grants cover, on the final attempt', fail: (w) => w.store.failNext('coveredElsewhere'), finalAttempt: true },
      { name: 'the pre-existing record failing on the final attempt', fail: (w) => w.store.failNext('recordPreExisting'), finalAttempt: true },
    ];

    it.each(failures)('$name: the role the bot added goes, the role held before stays', async ({ fail, finalAttempt }) => {
      const w = createWorld();
      w.target.hold(ALICE_PRINCIPAL, 'app_read'); // a DBA's standing grant, recorded before the first attempt
      const id = await grantedThenSaveLost(w, readRequest({ role: 'write' }));
      expect(w.store.recordedPreExisting(id)).toEqual(['app_read']);
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read', 'app_write']);
      fail(w);

      expect(await activateGrant(w.deps, id, { finalAttempt })).toBe('failed');

      expectFailedWithoutRevokeJob(w, id);
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
      expect(w.target.callsOf('revoke')).toMatchObject([{ grants: ['app_write'], ok: true }]);
      expect(w.store.actions(id)).not.toContain('grant.cleanup-failed');
    });

    it('with nothing recorded as held before, the target is read again and the whole grant taken back', async () => {
      const w = createWorld();
      const id = await grantedThenSaveLost(w);
      expect(w.store.recordedPreExisting(id)).toEqual([]);
      w.target.failNext('held', 1, 'transient');

      expect(await activateGrant(w.deps, id, { finalAttempt: true })).toBe('failed');

      expectFailedWithoutRevokeJob(w, id);
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
      expect(w.store.actions(id)).not.toContain('grant.cleanup-failed');
    });

    it('keeps a role another open grant of the same principal still covers', async () => {
      const w = createWorld();
      const first = await approved(w);
      expect(await activateGrant(w.deps, first, { finalAttempt: false })).toBe('activated');
      const second = await grantedThenSaveLost(w, readRequest({ role: 'write', durationMs: 10 * MINUTE }));
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read', 'app_write']);
      w.target.failNext('held', 1, 'transient');

      expect(await activateGrant(w.deps, second, { finalAttempt: true })).toBe('failed');

      expectFailedWithoutRevokeJob(w, second);
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
      expect(w.store.request(first).status).toBe('active');
    });

    it('when no attempt got as far as the grant, what the principal held before is never taken', async () => {
      const w = createWorld();
      w.target.hold(ALICE_PRINCIPAL, 'app_read');
      const id = await approved(w);
      w.target.failNext('held', 1, 'transient');

      expect(await activateGrant(w.deps, id, { finalAttempt: true })).toBe('failed');

      expectFailedWithoutRevokeJob(w, id);
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
      expect(w.target.callsOf('revoke').flatMap((c) => c.grants)).toEqual([]);
      expect(w.store.actions(id)).not.toContain('grant.cleanup-failed');
    });

    it('a clean-up revoke that fails is logged and audited, and the request still ends failed', async () => {
      const w = createWorld();
      w.target.hold(ALICE_PRINCIPAL, 'app_read');
      const id = await grantedThenSaveLost(w, readRequest({ role: 'write' }));
      w.target.failNext('held', 1, 'transient');
      w.target.failNext('revoke', 1, 'transient');

      expect(await activateGrant(w.deps, id, { finalAttempt: true })).toBe('failed');

      expectFailedWithoutRevokeJob(w, id);
      expect(w.store.actions(id).slice(-2)).toEqual(['grant.cleanup-failed', 'grant.failed']);
      expect(w.store.auditLog(id).at(-2)).toMatchObject({ details: { error: expect.stringMatching(/ECONNREFUSED/) } });
      expect(w.log.at('error').map((l) => l.msg)).toContain('clean-up after a failed grant failed');
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read', 'app_write']);
    });

    it('a record naming nothing held before and a target that cannot be read: nothing is taken, and that is audited', async () => {
      // An empty record cannot tell "nothing was held" from "no attempt recorded": only the target can, and
      // taking the whole grant blindly could take access the principal held before (decision 13).
      const w = createWorld();
      const id = await grantedThenSaveLost(w);
      w.target.failAlways('held', 'permanent');

      expect(await activateGrant(w.deps, id, { finalAttempt: false })).toBe('failed');

      expectFailedWithoutRevokeJob(w, id);
      expect(w.store.actions(id).slice(-2)).toEqual(['grant.cleanup-failed', 'grant.failed']);
      expect(w.log.at('error').map((l) => l.msg)).toContain('clean-up after a failed grant failed');
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
    });
  });

  it('a failure that leaves an overlapping grant of the same role keeps that grant', async () => {
    // Alice has read through an earlier request; a write request's grant then fails for good. The clean-up
    // must not take away the read role the earlier request still covers.
    const w = createWorld();
    const first = await approved(w);
    expect(await activateGrant(w.deps, first, { finalAttempt: false })).toBe('activated');
    const second = await approved(w, readRequest({ role: 'write', durationMs: 10 * MINUTE }));
    w.target.failNext('grant', 1, 'permanent');

    expect(await activateGrant(w.deps, second, { finalAttempt: false })).toBe('failed');

    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
    expect(w.store.request(first).status).toBe('active');
  });
});
