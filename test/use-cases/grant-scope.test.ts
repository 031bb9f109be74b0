/**
 * Overlapping grants on a target with per-grant objects (Kubernetes bindings, GCP bindings, AWS inline
 * policies): each revoke removes its own object, so the role stays exactly while some window is open and
 * no object outlives its request. (Shared memberships are covered in revoke-grant.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { activateGrant } from '../../src/use-cases/activate-grant.js';
import { revokeGrant } from '../../src/use-cases/revoke-grant.js';
import { MINUTE } from '../../src/domain/duration.js';
import { FakeBindingProvider } from '../fakes/fake-binding-provider.js';
import { FakeProviderRegistry } from '../fakes/fake-provider.js';
import { ALICE_PRINCIPAL, approved, createWorld, readRequest } from './world.js';

function bindingWorld() {
  const w = createWorld();
  const target = new FakeBindingProvider();
  w.deps.providers = new FakeProviderRegistry({ 'prod-db': target });
  return { w, target };
}

describe('per-grant objects', () => {
  it('each revoke removes its own object; the role stays while another window is open', async () => {
    const { w, target } = bindingWorld();
    const first = await approved(w, readRequest({ durationMs: 10 * MINUTE }));
    await activateGrant(w.deps, first, { finalAttempt: false });
    const second = await approved(w, readRequest({ durationMs: 30 * MINUTE }));
    await activateGrant(w.deps, second, { finalAttempt: false });
    expect(target.objectsFor(ALICE_PRINCIPAL, 'app_read')).toEqual([first, second].sort());

    w.clock.advance(10 * MINUTE);
    await revokeGrant(w.deps, first, 'expired');
    // The first object is gone even though the second grant covers the role: nothing is left behind.
    expect(target.objectsFor(ALICE_PRINCIPAL, 'app_read')).toEqual([second]);
    expect(target.holds(ALICE_PRINCIPAL, 'app_read')).toBe(true);

    w.clock.advance(20 * MINUTE);
    await revokeGrant(w.deps, second, 'expired');
    expect(target.holds(ALICE_PRINCIPAL, 'app_read')).toBe(false);
    expect(w.store.request(first).status).toBe('revoked');
    expect(w.store.request(second).status).toBe('revoked');
  });

  it('records nothing as pre-existing: a grant always creates and later removes its own object', async () => {
    const { w, target } = bindingWorld();
    const id = await approved(w);
    await activateGrant(w.deps, id, { finalAttempt: false });
    expect(await w.store.preExisting(id)).toEqual([]);
    expect(target.objectsFor(ALICE_PRINCIPAL, 'app_read')).toEqual([id]);
  });
});
