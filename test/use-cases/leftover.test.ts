/**
 * A leftover of the bot's own (a clean-up revoke that failed, a lost revoke, a restored backup of the target)
 * is never pre-existing access: when the same person asks again, the new grant records as held before only
 * what the provider does not list as granted by the bot (`listGranted`), so its revoke takes the leftover
 * with it; and drift detection no longer trusts an old record that called the bot's own grant pre-existing.
 * Access someone else granted (a DBA's `hold`, never listed) is still recorded and never taken.
 */
import { describe, expect, it } from 'vitest';
import { MINUTE } from '../../src/domain/duration.js';
import { activateGrant } from '../../src/use-cases/activate-grant.js';
import { detectDrift } from '../../src/use-cases/detect-drift.js';
import { revokeGrant } from '../../src/use-cases/revoke-grant.js';
import type { GrantedObject } from '../../src/use-cases/ports.js';
import { FakeProvider, FakeProviderRegistry } from '../fakes/fake-provider.js';
import { ALICE_PRINCIPAL, DAVE_PRINCIPAL, active, approved, claimed, createWorld, readRequest, type World } from './world.js';

/** A grant given up for good whose clean-up revoke failed: the bot's membership stays, no request open for it. */
async function leftover(w: World, input = readRequest({ durationMs: 10 * MINUTE })): Promise<string> {
  const id = await claimed(w, input);
  w.store.failNext('apply'); // granted, then the save of `active` is lost
  await expect(activateGrant(w.deps, id, { finalAttempt: false })).rejects.toThrow();
  w.target.failNext('held', 1, 'transient');
  w.target.failNext('revoke', 1, 'transient');
  expect(await activateGrant(w.deps, id, { finalAttempt: true })).toBe('failed');
  expect(w.store.actions(id)).toContain('grant.cleanup-failed');
  return id;
}

/** Activates `id`, lets its window end and revokes it. */
async function runWindow(w: World, id: string): Promise<void> {
  expect(await activateGrant(w.deps, id, { finalAttempt: false })).toBe('activated');
  w.clock.set(w.store.request(id).expiresAt!);
  expect(await revokeGrant(w.deps, id, 'expired')).toEqual({ kind: 'revoked' });
}

describe('a leftover of the bot is not pre-existing access', () => {
  it('the same person asks again: the leftover is not recorded as held before, and goes when the window ends', async () => {
    const w = createWorld();
    await leftover(w);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);

    const again = await approved(w);
    await runWindow(w, again);

    expect(w.store.recordedPreExisting(again)).toEqual([]);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 0, revoked: 0, failed: 0 });
  });

  it('keeps what someone else granted (held, never listed) as pre-existing, beside a leftover of the bot', async () => {
    const w = createWorld();
    w.target.hold(ALICE_PRINCIPAL, 'app_write'); // a DBA's standing grant
    await leftover(w); // app_read, the bot's
    const write = await approved(w, readRequest({ role: 'write' }));

    await runWindow(w, write);

    expect(w.store.recordedPreExisting(write)).toEqual(['app_write']);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_write']);
  });

  it('a leftover restored behind the bot (a backup) goes with the next grant of that person', async () => {
    const w = createWorld();
    await w.target.grant({ requestId: 'restored', principal: ALICE_PRINCIPAL, grants: ['app_read'], expiresAt: w.clock.now() });
    const id = await approved(w);

    await runWindow(w, id);

    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
  });

  it('lists what the bot granted once, and only when something held is not covered by an open grant', async () => {
    const w = createWorld();
    await active(w); // nothing held before: no listing
    expect(w.target.callsOf('listGranted')).toEqual([]);
    await active(w); // held, but the first grant covers it: no listing
    expect(w.target.callsOf('listGranted')).toEqual([]);

    w.target.hold(ALICE_PRINCIPAL, 'app_write');
    await active(w, readRequest({ role: 'write' })); // app_write held and not ours: listed once, for it alone
    expect(w.target.callsOf('listGranted')).toMatchObject([{ grants: ['app_write'], ok: true }]);
  });

  it('compares principals as the provider does (principalKey), and ignores what the bot granted to others', async () => {
    class CaseBlindProvider extends FakeProvider {
      principalKey(principal: string): string {
        return principal.toLowerCase();
      }
      override async listGranted(grants: string[]): Promise<GrantedObject[]> {
        return (await super.listGranted(grants)).map((o) => ({ ...o, principal: o.principal.toUpperCase() }));
      }
    }
    const w = createWorld();
    const target = new CaseBlindProvider({ roles: ['app_read', 'app_write'], principals: [ALICE_PRINCIPAL, DAVE_PRINCIPAL] });
    w.deps.providers = new FakeProviderRegistry({ 'prod-db': target });
    w.target = target;
    target.hold(ALICE_PRINCIPAL, 'app_write'); // a DBA's
    await target.grant({ requestId: 'restored', principal: ALICE_PRINCIPAL, grants: ['app_read'], expiresAt: w.clock.now() });
    await target.grant({ requestId: 'restored', principal: DAVE_PRINCIPAL, grants: ['app_write'], expiresAt: w.clock.now() });
    const id = await approved(w, readRequest({ role: 'write' }));

    await runWindow(w, id);

    expect(w.store.recordedPreExisting(id)).toEqual(['app_write']);
    expect(target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_write']);
    expect(target.membershipsOf(DAVE_PRINCIPAL)).toEqual(['app_write']);
  });

  it.each([
    { provider: 'that cannot list what it granted', property: 'listGranted', value: undefined },
    { provider: "whose listing cannot tell its grants from others' (listsOthersGrants)", property: 'listsOthersGrants', value: true },
  ])('a provider $provider keeps recording everything held as pre-existing (its limit)', async ({ property, value }) => {
    const w = createWorld();
    Object.defineProperty(w.target, property, { value });
    await w.target.grant({ requestId: 'restored', principal: ALICE_PRINCIPAL, grants: ['app_read'], expiresAt: w.clock.now() });
    const id = await approved(w);

    await runWindow(w, id);

    expect(w.store.recordedPreExisting(id)).toEqual(['app_read']);
    expect(w.target.callsOf('listGranted')).toEqual([]);
    if (property === 'listsOthersGrants') expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 0, revoked: 0, failed: 0 });
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
  });

  it('a listing that fails for good (a superuser bot) is logged, and held access is then recorded as pre-existing', async () => {
    const w = createWorld();
    w.target.hold(ALICE_PRINCIPAL, 'app_read');
    w.target.failAlways('listGranted', 'permanent');
    const id = await approved(w);

    await runWindow(w, id);

    expect(w.store.recordedPreExisting(id)).toEqual(['app_read']);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
    expect(w.log.at('warn').map((l) => l.msg)).toContain('cannot list what the bot granted; recording everything held as pre-existing');
  });

  it('a listing that fails transiently fails the attempt before anything is recorded or granted, and the retry goes on', async () => {
    const w = createWorld();
    await w.target.grant({ requestId: 'restored', principal: ALICE_PRINCIPAL, grants: ['app_read'], expiresAt: w.clock.now() });
    const id = await approved(w);
    w.target.failNext('listGranted', 1, 'transient');

    await expect(activateGrant(w.deps, id, { finalAttempt: false })).rejects.toThrow(/ECONNREFUSED/);
    expect(await w.store.preExisting(id)).toEqual([]);
    await runWindow(w, id);

    expect(w.store.recordedPreExisting(id)).toEqual([]);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
  });
});

describe('drift detection and old records that called a leftover pre-existing', () => {
  it('revokes the bot\'s membership once no open request covers it, whatever a request recorded as held before', async () => {
    const w = createWorld();
    await leftover(w);
    const id = await approved(w);
    // Recorded before this fix: the leftover taken for access held before (first write wins).
    await w.store.recordPreExisting(id, ['app_read']);
    await runWindow(w, id);
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 1, revoked: 1, failed: 0 });

    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
    expect(w.store.actions(null)).toEqual(['drift.revoked']);
  });

  it('leaves it while a request that recorded it as held before is still open', async () => {
    const w = createWorld();
    await leftover(w);
    const id = await approved(w);
    await w.store.recordPreExisting(id, ['app_read']);
    expect(await activateGrant(w.deps, id, { finalAttempt: false })).toBe('activated');

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 0, revoked: 0, failed: 0 });
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
  });
});
