/**
 * Drift detection over the fakes: access the bot granted that the records no longer account for is revoked
 * (exactly that object), audited as `drift.revoked`, and each admin is told once; everything the records
 * account for is left alone, and a second run finds nothing.
 */
import type { AdminAlert } from '../../src/use-cases/ports.js';
import { describe, expect, it } from 'vitest';
import { MINUTE } from '../../src/domain/duration.js';
import { activateGrant } from '../../src/use-cases/activate-grant.js';
import { detectDrift } from '../../src/use-cases/detect-drift.js';
import { revokeGrant } from '../../src/use-cases/revoke-grant.js';
import { FakeBindingProvider } from '../fakes/fake-binding-provider.js';
import { FakeProviderRegistry } from '../fakes/fake-provider.js';
import { ALICE_PRINCIPAL, BOB, DAVE, DAVE_PRINCIPAL, ERIN, active, approved, createWorld, readRequest, type World } from './world.js';

const ADMINS = [BOB, ERIN];
const later = (w: World) => new Date(w.clock.now().getTime() + 60 * MINUTE);

function withAdmins(w: World): World {
  w.policy.admins.push(...ADMINS);
  return w;
}

function bindingWorld() {
  const w = withAdmins(createWorld());
  const target = new FakeBindingProvider();
  w.deps.providers = new FakeProviderRegistry({ 'prod-db': target });
  return { w, target };
}

/** Active, then revoked when its window ends. */
async function revoked(w: World, input = readRequest({ durationMs: 10 * MINUTE })): Promise<string> {
  const id = await active(w, input);
  w.clock.advance(input.durationMs);
  expect(await revokeGrant(w.deps, id, 'expired')).toEqual({ kind: 'revoked' });
  return id;
}

describe('detectDrift, per-grant objects (bindings named after their request)', () => {
  it('revokes the object of a revoked request that is still there, audits it and tells each admin', async () => {
    const { w, target } = bindingWorld();
    const id = await revoked(w);
    // Restored behind the bot's back (a backup, a hand-made copy): the object of a request that is over.
    await target.grant({ requestId: id, principal: ALICE_PRINCIPAL, grants: ['app_read'], expiresAt: later(w) });

    const report = await detectDrift(w.deps);

    expect(report).toEqual({ checked: 1, drift: 1, revoked: 1, failed: 0 });
    expect(target.objectsFor(ALICE_PRINCIPAL, 'app_read')).toEqual([]);
    const entry = w.store.auditLog(id).at(-1);
    expect(entry).toMatchObject({
      action: 'drift.revoked',
      actor: 'system',
      details: { resource: 'prod-db', principal: ALICE_PRINCIPAL, grant: 'app_read', requestId: id },
    });
    const alert = { kind: 'drift-revoked', resource: 'prod-db', principal: ALICE_PRINCIPAL, grant: 'app_read', requestId: id, requestStatus: 'revoked', at: w.clock.now() };
    expect(w.notifier.adminAlerts).toEqual(ADMINS.map((to) => ({ to, alert })));
    // The request itself is untouched: drift is recorded beside it, not as a transition.
    expect(w.store.request(id).status).toBe('revoked');
  });

  it('leaves alone the objects of active and approved requests, and revokes only the drifting one', async () => {
    const { w, target } = bindingWorld();
    const over = await revoked(w);
    const current = await active(w);
    // A grant in flight: its object exists before the window starts.
    const inFlight = await approved(w, readRequest({ requesterId: DAVE, role: 'admin' }));
    await target.grant({ requestId: inFlight, principal: DAVE_PRINCIPAL, grants: ['app_admin'], expiresAt: later(w) });
    await target.grant({ requestId: over, principal: ALICE_PRINCIPAL, grants: ['app_read'], expiresAt: later(w) });

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 1, revoked: 1, failed: 0 });

    expect(target.objectsFor(ALICE_PRINCIPAL, 'app_read')).toEqual([current]);
    expect(target.objectsFor(DAVE_PRINCIPAL, 'app_admin')).toEqual([inFlight]);
    expect(w.store.actions(current)).not.toContain('drift.revoked');
    expect(w.notifier.adminAlerts.map((a) => (a.alert as AdminAlert).requestId)).toEqual([over, over]);
  });

  it('revokes an object named after a request it has no record of', async () => {
    const { w, target } = bindingWorld();
    await target.grant({ requestId: 'req_unknown', principal: 'mallory', grants: ['app_write'], expiresAt: later(w) });

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 1, revoked: 1, failed: 0 });

    expect(target.holds('mallory', 'app_write')).toBe(false);
    expect(w.notifier.adminAlerts[0]?.alert).toMatchObject({ requestId: 'req_unknown', requestStatus: null, principal: 'mallory' });
    expect(w.store.auditLog('req_unknown').map((a) => a.action)).toEqual(['drift.revoked']);
  });

  it('run twice finds nothing the second time, and tells nobody again', async () => {
    const { w, target } = bindingWorld();
    const id = await revoked(w);
    await target.grant({ requestId: id, principal: ALICE_PRINCIPAL, grants: ['app_read'], expiresAt: later(w) });
    await detectDrift(w.deps);
    const alerts = w.notifier.adminAlerts.length;
    const audit = w.store.auditLog().length;

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 0, revoked: 0, failed: 0 });
    expect(w.notifier.adminAlerts).toHaveLength(alerts);
    expect(w.store.auditLog()).toHaveLength(audit);
  });
});

describe('detectDrift, shared memberships (PostgreSQL)', () => {
  it('revokes a membership the bot granted that no open request covers, and tells each admin', async () => {
    const w = withAdmins(createWorld());
    await revoked(w);
    // The bot's grant came back (a replayed GRANT, a restored role): no request is open for it.
    await w.target.grant({ requestId: 'manual', principal: ALICE_PRINCIPAL, grants: ['app_read'], expiresAt: later(w) });

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 1, revoked: 1, failed: 0 });

    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
    expect(w.target.callsOf('revoke').at(-1)).toMatchObject({ principal: ALICE_PRINCIPAL, grants: ['app_read'], ok: true });
    expect(w.store.auditLog(null).map((a) => [a.action, a.actor, a.details])).toEqual([
      ['drift.revoked', 'system', { resource: 'prod-db', principal: ALICE_PRINCIPAL, grant: 'app_read', requestId: null }],
    ]);
    expect(w.notifier.adminAlerts.map((a) => [a.to, (a.alert as AdminAlert).requestId, (a.alert as AdminAlert).requestStatus])).toEqual([
      [BOB, null, null],
      [ERIN, null, null],
    ]);
  });

  it('leaves alone a membership an active or approved request covers', async () => {
    const w = withAdmins(createWorld());
    await active(w);
    const inFlight = await approved(w, readRequest({ requesterId: DAVE, role: 'admin' }));
    // The grant job granted and has not saved the window yet.
    await w.target.grant({ requestId: inFlight, principal: DAVE_PRINCIPAL, grants: ['app_admin'], expiresAt: later(w) });

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 0, revoked: 0, failed: 0 });
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
    expect(w.target.membershipsOf(DAVE_PRINCIPAL)).toEqual(['app_admin']);
  });

  it('leaves alone a membership someone else granted that a request recorded as pre-existing, once that request is over', async () => {
    const w = withAdmins(createWorld());
    w.target.hold(ALICE_PRINCIPAL, 'app_read'); // a DBA's, before alice ever asked
    const id = await revoked(w);
    expect(w.store.recordedPreExisting(id)).toEqual(['app_read']);

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 0, revoked: 0, failed: 0 });
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);
  });

  it('revokes a membership the bot granted although a request recorded it as pre-existing, once no open request covers it', async () => {
    const w = withAdmins(createWorld());
    // The bot's role granted it outside any request; an older grant took it for access held before.
    await w.target.grant({ requestId: 'manual', principal: ALICE_PRINCIPAL, grants: ['app_read'], expiresAt: later(w) });
    const id = await approved(w, readRequest({ durationMs: 10 * MINUTE }));
    await w.store.recordPreExisting(id, ['app_read']);
    await activateGrant(w.deps, id, { finalAttempt: false });
    w.clock.advance(10 * MINUTE);
    expect(await revokeGrant(w.deps, id, 'expired')).toEqual({ kind: 'revoked' });
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_read']);

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 1, revoked: 1, failed: 0 });
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
  });

  it('never sees a membership someone else granted', async () => {
    const w = withAdmins(createWorld());
    w.target.hold(ALICE_PRINCIPAL, 'app_write');

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 0, revoked: 0, failed: 0 });
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_write']);
  });

  it('two checks at once revoke and report a drift once', async () => {
    const w = withAdmins(createWorld());
    await w.target.grant({ requestId: 'manual', principal: ALICE_PRINCIPAL, grants: ['app_write'], expiresAt: later(w) });

    const reports = await Promise.all([detectDrift(w.deps), detectDrift(w.deps)]);

    expect(reports.map((r) => r.revoked).sort()).toEqual([0, 1]);
    expect(w.notifier.adminAlerts).toHaveLength(ADMINS.length);
    expect(w.store.auditLog(null)).toHaveLength(1);
  });

  it('a revoke that fails is counted and logged, tells nobody, and is tried again next run', async () => {
    const w = withAdmins(createWorld());
    await w.target.grant({ requestId: 'manual', principal: ALICE_PRINCIPAL, grants: ['app_write'], expiresAt: later(w) });
    w.target.failNext('revoke');

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 1, revoked: 0, failed: 1 });
    expect(w.notifier.adminAlerts).toEqual([]);
    expect(w.store.auditLog(null)).toEqual([]);
    expect(w.log.at('warn').map((l) => l.msg)).toContain('drift found but not revoked; trying again next run');

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 1, revoked: 1, failed: 0 });
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual([]);
  });

  it('a target that cannot be listed, or admins that cannot be told, are logged and never fatal', async () => {
    const w = withAdmins(createWorld());
    await w.target.grant({ requestId: 'manual', principal: ALICE_PRINCIPAL, grants: ['app_write'], expiresAt: later(w) });
    w.target.failNext('listGranted');

    expect(await detectDrift(w.deps)).toEqual({ checked: 0, drift: 0, revoked: 0, failed: 1 });
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toEqual(['app_write']);

    w.notifier.failNext('alertAdmins');
    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 1, revoked: 1, failed: 0 });
    expect(w.store.actions(null)).toEqual(['drift.revoked']);
    expect(w.log.at('warn').map((l) => l.msg)).toContain('drift revoked, but telling the admins failed; it is in the audit log');
  });

  it('with no admins in the policy, revokes and audits, and says so in the log', async () => {
    const w = createWorld();
    await w.target.grant({ requestId: 'manual', principal: ALICE_PRINCIPAL, grants: ['app_write'], expiresAt: later(w) });

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 1, revoked: 1, failed: 0 });
    expect(w.notifier.calls).not.toContain('alertAdmins');
    expect(w.log.at('warn').map((l) => l.msg)).toContain('drift revoked, but the policy names no admins to tell; it is in the audit log');
  });

  it('skips a provider that cannot list what it granted', async () => {
    const w = withAdmins(createWorld());
    const plain = { perGrantObjects: false, held: async () => [], grant: async () => {}, revoke: async () => {} };
    w.deps.providers = new FakeProviderRegistry({ 'prod-db': plain });

    expect(await detectDrift(w.deps)).toEqual({ checked: 0, drift: 0, revoked: 0, failed: 0 });
  });
});
