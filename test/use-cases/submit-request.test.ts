import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import type { DomainErrorCode } from '../../src/domain/errors.js';
import { submitRequest, type SubmitInput } from '../../src/use-cases/submit-request.js';
import { T0 } from '../fakes/fake-clock.js';
import { ALICE, ALICE_PRINCIPAL, APPROVERS_CHANNEL, DAVE, DAVE_PRINCIPAL, ERIN, MALLORY, createWorld, outboxKinds, readRequest } from './world.js';

describe('submitRequest', () => {
  it('records a valid request as pending, with the post-cards notification queued for delivery', async () => {
    const w = createWorld();
    const result = await submitRequest(w.deps, readRequest());

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { request } = result.value;
    expect(request).toMatchObject({
      status: 'pending',
      version: 1,
      requesterId: ALICE,
      principal: ALICE_PRINCIPAL,
      resource: 'prod-db',
      role: 'read',
      grants: ['app_read'],
      durationMs: 30 * MINUTE,
      approvalsRequired: 1,
      channel: APPROVERS_CHANNEL,
      createdAt: T0,
      expiresAt: null,
    });
    expect(result.value.decisions).toEqual([]);
    expect(w.store.request(request.id)).toEqual(request);
    expect(w.store.actions(request.id)).toEqual(['request.submitted']);
    expect(outboxKinds(w, request.id)).toEqual(['post-cards']);
    const [notification] = w.store.outbox(request.id);
    expect(w.queue.pendingIds('deliver')).toEqual([`deliver-${notification?.id}`]);
    // The pending request expires undecided at the end of its time-to-live; approvers are reminded before.
    expect(w.queue.job(`expire-${request.id}`)).toMatchObject({ at: request.pendingUntil });
    expect(w.queue.job(`remind-${request.id}`)).toMatchObject({ at: request.remindAt });
    // Nothing is granted or scheduled before anyone approves.
    expect(w.queue.jobs('grant')).toEqual([]);
    expect(w.target.calls).toEqual([]);
  });

  it.each([
    { who: 'the email local part, lower-cased', requesterId: ALICE, principal: ALICE_PRINCIPAL, lookups: [ALICE] },
    { who: 'the policy override, without asking the directory', requesterId: DAVE, principal: DAVE_PRINCIPAL, lookups: [] },
  ])('takes the principal from $who', async ({ requesterId, principal, lookups }) => {
    const w = createWorld();
    const result = await submitRequest(w.deps, readRequest({ requesterId }));

    expect(result.ok && result.value.request.principal).toBe(principal);
    expect(w.directory.lookups).toEqual(lookups);
  });

  it.each<{ name: string; input: Partial<SubmitInput>; code: DomainErrorCode }>([
    { name: 'an unknown resource', input: { resource: 'staging-db' }, code: 'UNKNOWN_RESOURCE' },
    { name: 'an unknown role', input: { role: 'superuser' }, code: 'UNKNOWN_ROLE' },
    { name: 'a prototype key as the resource', input: { resource: 'constructor' }, code: 'UNKNOWN_RESOURCE' },
    { name: 'a window longer than the role allows', input: { durationMs: 4 * HOUR + 1000 }, code: 'DURATION_TOO_LONG' },
    { name: 'someone who may not request the role', input: { role: 'admin', requesterId: MALLORY }, code: 'NOT_A_REQUESTER' },
    { name: 'a requester with no email and no override', input: { requesterId: ERIN }, code: 'NO_PRINCIPAL' },
  ])('refuses $name, audits it as request.refused and creates nothing', async ({ input, code }) => {
    const w = createWorld();
    const result = await submitRequest(w.deps, readRequest(input));

    expect(result).toMatchObject({ ok: false, error: { code } });
    expect(w.store.requestCount()).toBe(0);
    expect(w.store.outbox()).toEqual([]);
    expect(w.queue.calls).toEqual([]);
    const audit = w.store.auditLog();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      requestId: null,
      action: 'request.refused',
      actor: input.requesterId ?? ALICE,
      details: { code, resource: input.resource ?? 'prod-db', role: input.role ?? 'read' },
    });
  });

  it('answers a typo with what this person may request, never the rest of the policy', async () => {
    const w = createWorld();
    w.policy.resources['secret-db'] = { ...structuredClone(w.policy.resources['prod-db']!), roles: { only: { ...w.policy.resources['prod-db']!.roles.admin! } } };
    // `admin` (prod-db) and `only` (secret-db) may be requested by Dave alone.
    const asMallory = await submitRequest(w.deps, readRequest({ requesterId: MALLORY, resource: 'prdo-db' }));
    expect(asMallory).toMatchObject({ ok: false, error: { code: 'UNKNOWN_RESOURCE', known: ['prod-db'] } });
    const asDave = await submitRequest(w.deps, readRequest({ requesterId: DAVE, resource: 'prdo-db' }));
    expect(asDave).toMatchObject({ ok: false, error: { code: 'UNKNOWN_RESOURCE', known: ['prod-db', 'secret-db'] } });
    const role = await submitRequest(w.deps, readRequest({ requesterId: MALLORY, role: 'superuser' }));
    expect(role).toMatchObject({ ok: false, error: { code: 'UNKNOWN_ROLE', known: ['read', 'write'] } });
  });

  it('refuses a policy violation before asking the directory who the requester is', async () => {
    const w = createWorld();
    await submitRequest(w.deps, readRequest({ role: 'superuser' }));
    expect(w.directory.lookups).toEqual([]);
  });

  it('still records the request when the queue is down, and logs that the reconciler will catch up', async () => {
    const w = createWorld();
    w.queue.down = true;

    const result = await submitRequest(w.deps, readRequest());

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const id = result.value.request.id;
    expect(w.store.request(id).status).toBe('pending');
    expect(outboxKinds(w, id)).toEqual(['post-cards']);
    expect(w.queue.calls.every((c) => c.refused)).toBe(true);
    expect(w.queue.calls.map((c) => c.method)).toContain('ensureDelivery');
    expect(w.queue.jobs()).toEqual([]);
    expect(w.log.at('warn').length).toBeGreaterThan(0);
    expect(w.log.at('warn')).toMatchObject(w.queue.calls.map(() => ({ obj: { requestId: id }, msg: expect.stringContaining('reconciler') })));
  });

  it('creates nothing when the store is down, and says so by throwing', async () => {
    const w = createWorld();
    w.store.failNext('create');

    await expect(submitRequest(w.deps, readRequest())).rejects.toThrow();
    expect(w.store.requestCount()).toBe(0);
    expect(w.queue.calls).toEqual([]);
  });
});
