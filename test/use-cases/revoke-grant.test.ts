import { describe, expect, it } from 'vitest';
import { MINUTE } from '../../src/domain/duration.js';
import { REVOKE_ALERT_THRESHOLD } from '../../src/domain/request.js';
import { activateGrant } from '../../src/use-cases/activate-grant.js';
import { revokeGrant } from '../../src/use-cases/revoke-grant.js';
import { ALICE, ALICE_PRINCIPAL, active, approved, createWorld, deliverAll, outboxKinds, readRequest, submitted, type World } from './world.js';

const expiryOf = (w: World, id: string): Date => {
  const at = w.store.request(id).expiresAt;
  if (!at) throw new Error(`${id} has no window`);
  return at;
};

/** Runs the revoke job the way the queue retries it: each failure is thrown back to the queue. */
async function attempt(w: World, id: string): Promise<string> {
  try {
    return (await revokeGrant(w.deps, id, 'expired')).kind;
  } catch {
    return 'threw';
  }
}

describe('revokeGrant', () => {
  it('does nothing before the window ends, and says when it does end', async () => {
    const w = createWorld();
    const id = await active(w);
    const expiresAt = expiryOf(w, id);
    w.clock.set(new Date(expiresAt.getTime() - 1));

    expect(await revokeGrant(w.deps, id, 'expired')).toEqual({ kind: 'not-due', at: expiresAt });

    expect(w.store.request(id).status).toBe('active');
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
    expect(w.target.callsOf('revoke')).toEqual([]);
    expect(w.store.actions(id)).not.toContain('revoke.started');
  });

  it('takes the role back when the window ends, and tells the requester', async () => {
    const w = createWorld();
    const id = await active(w);
    await deliverAll(w);
    const expiresAt = expiryOf(w, id);
    w.clock.set(expiresAt);

    expect(await revokeGrant(w.deps, id, 'expired')).toEqual({ kind: 'revoked' });

    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
    expect(w.store.request(id)).toMatchObject({ status: 'revoked', revokedAt: expiresAt, revokeReason: 'expired', revokeAttempts: 0 });
    expect(w.store.actions(id).slice(-2)).toEqual(['revoke.started', 'revoke.completed']);
    await deliverAll(w);
    expect(w.notifier.noticesOf(id)).toEqual(['granted', 'revoked']);
    expect(w.notifier.notices.at(-1)?.to).toBe(ALICE);
    expect(w.notifier.cardsOf(id)[0]?.snapshot.request.status).toBe('revoked');
    expect(w.notifier.alerts).toEqual([]);
  });

  it.each([
    { name: 'pending', setup: (w: World) => submitted(w) },
    { name: 'approved', setup: (w: World) => approved(w) },
    { name: 'missing', setup: async () => 'req_9999' },
  ])('has nothing to do for a $name request', async ({ setup }) => {
    const w = createWorld();
    const id = await setup(w);
    w.clock.advance(24 * 60 * MINUTE);

    expect(await revokeGrant(w.deps, id, 'expired')).toEqual({ kind: 'nothing-to-do' });
    expect(w.target.calls).toEqual([]);
  });

  it('a second run after the revoke has nothing to do and tells nobody again', async () => {
    const w = createWorld();
    const id = await active(w);
    w.clock.set(expiryOf(w, id));
    await revokeGrant(w.deps, id, 'expired');
    const outbox = w.store.outbox().length;

    expect(await revokeGrant(w.deps, id, 'expired')).toEqual({ kind: 'nothing-to-do' });
    expect(w.target.callsOf('revoke')).toHaveLength(1);
    expect(w.store.outbox()).toHaveLength(outbox);
  });

  it('keeps a failing revoke in revoking, counts attempts, alerts the approvers once at the threshold, then says it recovered', async () => {
    const w = createWorld();
    const id = await active(w);
    await deliverAll(w);
    w.clock.set(expiryOf(w, id));
    w.target.failAlways('revoke');

    const outcomes: string[] = [];
    for (let i = 1; i <= REVOKE_ALERT_THRESHOLD + 3; i++) {
      outcomes.push(await attempt(w, id));
      expect(w.store.request(id)).toMatchObject({ status: 'revoking', revokeAttempts: i, lastError: expect.stringContaining('ECONNREFUSED') });
      await deliverAll(w);
      expect(w.notifier.alertsOf(id)).toEqual(i < REVOKE_ALERT_THRESHOLD ? [] : ['revoke-failing']);
      w.clock.advance(MINUTE);
    }
    expect(outcomes.every((o) => o === 'threw')).toBe(true);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
    expect(w.store.actions(id).filter((a) => a === 'revoke.attempt-failed')).toHaveLength(REVOKE_ALERT_THRESHOLD + 3);
    expect(w.log.at('warn').filter((l) => l.msg?.includes('revoke attempt failed'))).toHaveLength(REVOKE_ALERT_THRESHOLD + 3);
    expect(w.notifier.noticesOf(id)).toEqual(['granted']);

    w.target.heal();
    expect(await attempt(w, id)).toBe('revoked');
    await deliverAll(w);

    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
    expect(w.store.request(id)).toMatchObject({ status: 'revoked', lastError: null });
    expect(w.notifier.alertsOf(id)).toEqual(['revoke-failing', 'revoke-recovered']);
    expect(w.notifier.alerts.every((a) => a.channel === w.store.request(id).channel)).toBe(true);
    expect(w.notifier.noticesOf(id)).toEqual(['granted', 'revoked']);
  });

  it('a revoke that recovers before the threshold alerts nobody', async () => {
    const w = createWorld();
    const id = await active(w);
    w.clock.set(expiryOf(w, id));
    w.target.failNext('revoke', REVOKE_ALERT_THRESHOLD - 1);

    const outcomes = [];
    for (let i = 0; i < REVOKE_ALERT_THRESHOLD; i++) outcomes.push(await attempt(w, id));

    expect(outcomes).toEqual([...Array<string>(REVOKE_ALERT_THRESHOLD - 1).fill('threw'), 'revoked']);
    expect(outboxKinds(w, id).filter((k) => k.startsWith('alert-approvers'))).toEqual([]);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
  });

  it('a store failure after the intent is saved leaves the request revoking, and the next attempt finishes', async () => {
    const w = createWorld();
    const id = await active(w);
    w.clock.set(expiryOf(w, id));
    w.store.failNext('preExisting');

    expect(await attempt(w, id)).toBe('threw');
    expect(w.store.request(id).status).toBe('revoking');
    expect(await attempt(w, id)).toBe('revoked');
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
  });

  describe('overlapping grants of the same role to the same principal', () => {
    it.each([
      { name: 'the shorter one ends first', first: 30 * MINUTE, second: 60 * MINUTE },
      { name: 'the longer one was granted first', first: 60 * MINUTE, second: 30 * MINUTE },
    ])('$name: the first revoke leaves the role, the last takes it', async ({ first, second }) => {
      const w = createWorld();
      const a = await active(w, readRequest({ durationMs: first }));
      w.clock.advance(MINUTE);
      const b = await active(w, readRequest({ durationMs: second }));
      const [early, late] = expiryOf(w, a) < expiryOf(w, b) ? [a, b] : [b, a];

      w.clock.set(expiryOf(w, early));
      expect(await revokeGrant(w.deps, early, 'expired')).toEqual({ kind: 'revoked' });
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
      expect(w.store.request(early).status).toBe('revoked');

      w.clock.set(expiryOf(w, late));
      expect(await revokeGrant(w.deps, late, 'expired')).toEqual({ kind: 'revoked' });
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
    });

    it('two grants that are both overdue (the worker was down) do not keep each other alive', async () => {
      const w = createWorld();
      const a = await active(w);
      const b = await active(w);
      w.clock.advance(3 * 60 * MINUTE);

      await revokeGrant(w.deps, a, 'expired');
      await revokeGrant(w.deps, b, 'expired');

      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
    });

    it('two overdue grants revoked at once still take the role', async () => {
      const w = createWorld();
      const a = await active(w);
      const b = await active(w);
      w.clock.advance(3 * 60 * MINUTE);

      expect(await Promise.all([revokeGrant(w.deps, a, 'expired'), revokeGrant(w.deps, b, 'expired')])).toEqual([
        { kind: 'revoked' },
        { kind: 'revoked' },
      ]);
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
    });

    it('a new grant while an overdue one is still being revoked is ours, not pre-existing, and is revoked at its end', async () => {
      // The old grant's revoke keeps failing; meanwhile a new request for the same role is granted.
      const w = createWorld();
      const old = await active(w);
      w.clock.set(expiryOf(w, old));
      w.target.failNext('revoke', 1);
      expect(await attempt(w, old)).toBe('threw');

      const fresh = await active(w);
      expect(w.store.recordedPreExisting(fresh)).toEqual([]);

      expect(await attempt(w, old)).toBe('revoked');
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
      w.clock.set(expiryOf(w, fresh));
      expect(await attempt(w, fresh)).toBe('revoked');
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
    });

    it('a standing membership held before both grants survives both revokes', async () => {
      const w = createWorld();
      w.target.hold(ALICE_PRINCIPAL, 'app_read');
      const a = await active(w, readRequest({ durationMs: 60 * MINUTE }));
      const b = await active(w, readRequest({ durationMs: 30 * MINUTE }));
      expect(w.store.recordedPreExisting(a)).toEqual(['app_read']);
      expect(w.store.recordedPreExisting(b)).toEqual(['app_read']);

      for (const id of [b, a]) {
        w.clock.set(expiryOf(w, id));
        expect(await revokeGrant(w.deps, id, 'expired')).toEqual({ kind: 'revoked' });
      }
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
      expect(w.target.callsOf('revoke').every((c) => c.grants.length === 0)).toBe(true);
    });

    it('a revoke and a grant of the same role never interleave', async () => {
      const w = createWorld();
      const old = await active(w);
      const next = await approved(w);
      w.clock.set(expiryOf(w, old));

      const [revoked, activated] = await Promise.all([revokeGrant(w.deps, old, 'expired'), activateGrant(w.deps, next, { finalAttempt: false })]);

      expect(revoked).toEqual({ kind: 'revoked' });
      expect(activated).toBe('activated');
      // Whichever ran first, the new grant's window is open, so the role is held and is not pre-existing.
      expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
      expect(w.store.recordedPreExisting(next)).toEqual([]);
    });
  });
});
