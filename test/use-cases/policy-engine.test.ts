/**
 * The policy engine through the use cases, over the fakes: auto-approval from submit to grant, the rate
 * brake, flagged requests needing more approvals, and justification refusals.
 */
import { describe, expect, it } from 'vitest';
import { DAY, HOUR, MINUTE } from '../../src/domain/duration.js';
import type { RolePolicy } from '../../src/domain/policy.js';
import { activateGrant } from '../../src/use-cases/activate-grant.js';
import { requestExtension } from '../../src/use-cases/extend-grant.js';
import { reviewRequest } from '../../src/use-cases/review-request.js';
import { submitRequest, type SubmitInput } from '../../src/use-cases/submit-request.js';
import { ALICE, ALICE_PRINCIPAL, BOB, CAROL, DAVE, active, createWorld, deliverAll, outboxKinds, readRequest, type World } from './world.js';

/** A world whose `read` role has these extra settings (the policy object is the one the use cases read). */
function worldWith(read: Partial<RolePolicy>): World {
  const w = createWorld();
  const role = w.policy.resources['prod-db']?.roles.read;
  if (!role) throw new Error('test setup: no read role');
  Object.assign(role, read);
  return w;
}

async function submitOk(w: World, input: SubmitInput = readRequest()) {
  const result = await submitRequest(w.deps, input);
  if (!result.ok) throw new Error(`submit refused: ${result.error.code}`);
  return result.value.request;
}

const RULE = 'prod-db/read auto_approve (up to 1h; at most 2 per 24h)';

describe('auto-approval', () => {
  it('approves at once, posts the card as a record, schedules the grant and asks no approver', async () => {
    const w = worldWith({ autoApprove: { maxDurationMs: HOUR, maxPerDay: 2 } });
    const request = await submitOk(w);

    expect(request).toMatchObject({ status: 'approved', autoApprovedBy: RULE, decidedAt: w.clock.now(), flags: [], approvalsRequired: 1 });
    expect(w.store.request(request.id)).toEqual(request);
    expect(w.store.auditLog(request.id)).toMatchObject([
      { action: 'request.auto-approved', actor: ALICE, details: { rule: RULE, resource: 'prod-db', role: 'read', reason: 'INC-4821 hotfix' } },
    ]);
    expect(outboxKinds(w, request.id)).toEqual(['post-cards']);
    expect(w.queue.jobs('grant').map((j) => j.target)).toEqual([request.id]);
    // No reminder, escalation or expiry: nobody is waited for.
    expect(w.queue.jobs('check')).toEqual([]);

    await deliverAll(w);
    expect(w.notifier.cardsOf(request.id)).toHaveLength(1);
    expect(w.notifier.alerts).toEqual([]);
    expect(await activateGrant(w.deps, request.id, { finalAttempt: false })).toBe('activated');
    expect(w.store.request(request.id).status).toBe('active');
    expect(w.target.membershipsOf(ALICE_PRINCIPAL)).toContain('app_read');
    await deliverAll(w);
    expect(w.notifier.noticesOf(request.id)).toEqual(['granted']);
  });

  it('refuses approvers’ clicks on an auto-approved request', async () => {
    const w = worldWith({ autoApprove: {} });
    const request = await submitOk(w);
    const click = await reviewRequest(w.deps, { requestId: request.id, deciderId: BOB, outcome: 'deny', reason: null });
    expect(click).toMatchObject({ ok: false, error: { code: 'NOT_PENDING' } });
    expect(w.store.request(request.id).status).toBe('approved');
  });

  it('leaves a request that misses a condition to the approvers, and says why in the audit', async () => {
    const w = worldWith({ autoApprove: { maxDurationMs: HOUR } });
    const request = await submitOk(w, readRequest({ durationMs: 2 * HOUR }));
    expect(request).toMatchObject({ status: 'pending', autoApprovedBy: null });
    expect(w.store.auditLog(request.id)).toMatchObject([{ action: 'request.submitted', details: { notAutoApproved: 'duration' } }]);
    expect(w.queue.jobs('grant')).toEqual([]);
  });
});

describe('the rate brake: max_per_day per person per role', () => {
  it('auto-approves K in any 24 hours, then a human decides, then auto-approves again', async () => {
    const w = worldWith({ autoApprove: { maxDurationMs: HOUR, maxPerDay: 2 } });
    const first = await submitOk(w);
    w.clock.advance(HOUR);
    const second = await submitOk(w);
    w.clock.advance(HOUR);
    const third = await submitOk(w);
    expect([first, second, third].map((r) => r.status)).toEqual(['approved', 'approved', 'pending']);
    expect(w.store.auditLog(third.id)).toMatchObject([{ action: 'request.submitted', details: { notAutoApproved: 'daily-limit' } }]);

    // Someone else, and another role, have brakes of their own.
    expect((await submitOk(w, readRequest({ requesterId: DAVE }))).status).toBe('approved');
    expect((await submitOk(w, readRequest({ role: 'write' }))).status).toBe('pending');

    // 24 hours after the first, one slot is free again.
    w.clock.set(new Date(first.createdAt.getTime() + DAY + 1000));
    expect((await submitOk(w)).status).toBe('approved');
    expect((await submitOk(w)).status).toBe('pending');
  });

  it('holds when one person submits twice at the same moment', async () => {
    const w = worldWith({ autoApprove: { maxPerDay: 1 } });
    const both = await Promise.all([submitOk(w), submitOk(w)]);
    expect(both.map((r) => r.status).sort()).toEqual(['approved', 'pending']);
  });
});

describe('flagged requests', () => {
  it('need flagged_approvals distinct approvers, and show why', async () => {
    const w = worldWith({ risk: { high: true, flaggedApprovals: 2 } });
    const request = await submitOk(w);
    expect(request).toMatchObject({ status: 'pending', approvalsRequired: 2 });
    expect(request.flags.map((f) => f.code)).toEqual(['first-request', 'high-risk-role']);
    expect(w.store.auditLog(request.id)).toMatchObject([{ action: 'request.submitted', details: { flags: ['first-request', 'high-risk-role'] } }]);

    await reviewRequest(w.deps, { requestId: request.id, deciderId: BOB, outcome: 'approve', reason: null });
    expect(w.store.request(request.id).status).toBe('pending');
    await reviewRequest(w.deps, { requestId: request.id, deciderId: CAROL, outcome: 'approve', reason: null });
    expect(w.store.request(request.id).status).toBe('approved');

    await deliverAll(w);
    expect(w.notifier.cardsOf(request.id)[0]?.snapshot.request.flags).toEqual(request.flags);
  });

  it('are never auto-approved, whatever auto_approve says', async () => {
    const w = worldWith({ autoApprove: {}, risk: { high: false } });
    const first = await submitOk(w);
    expect(first).toMatchObject({ status: 'pending', flags: [expect.objectContaining({ code: 'first-request' })] });
    expect(w.store.auditLog(first.id)).toMatchObject([{ details: { notAutoApproved: 'flagged' } }]);
    // Once the person has asked for the resource before, nothing is flagged and the rule applies.
    expect((await submitOk(w)).status).toBe('approved');
  });

  it('without flagged_approvals keep the role’s approvals', async () => {
    const w = worldWith({ risk: { high: true } });
    expect(await submitOk(w)).toMatchObject({ approvalsRequired: 1, flags: [expect.anything(), expect.anything()] });
  });
});

describe('extensions get the scrutiny of a new request', () => {
  const extend = (w: World, requestId: string, reason = 'INC-4821 still fixing') =>
    requestExtension(w.deps, { requestId, requesterId: ALICE, durationMs: 30 * MINUTE, reason });

  it('of a high-risk role: flagged afresh, and need flagged_approvals distinct approvers, not the role’s one', async () => {
    const w = worldWith({ risk: { high: true, flaggedApprovals: 2 }, maxTotalMs: 4 * HOUR });
    const id = await active(w);
    expect(w.store.request(id).approvalsRequired).toBe(2);

    const asked = await extend(w, id);
    if (!asked.ok) throw new Error(`extension refused: ${asked.error.code}`);
    const extension = asked.value.request;
    expect(extension).toMatchObject({ extendsId: id, status: 'pending', approvalsRequired: 2 });
    expect(extension.flags.map((f) => f.code)).toEqual(['high-risk-role']); // not a first request: the grant is in the history

    await reviewRequest(w.deps, { requestId: extension.id, deciderId: BOB, outcome: 'approve', reason: null });
    expect(w.store.request(extension.id).status).toBe('pending');
    await reviewRequest(w.deps, { requestId: extension.id, deciderId: CAROL, outcome: 'approve', reason: null });
    expect(w.store.request(extension.id).status).toBe('approved');
  });

  it('never need fewer approvals than the grant they lengthen', async () => {
    // Flagged only for its length: 2h is over the usual 1h. The extension is judged on the whole window too.
    const w = worldWith({ risk: { high: false, usualDurationMs: HOUR, flaggedApprovals: 2 }, maxTotalMs: 4 * HOUR });
    const id = await active(w, readRequest({ durationMs: 2 * HOUR }));
    expect(w.store.request(id).approvalsRequired).toBe(2);
    w.policy.resources['prod-db']!.roles.read!.risk = undefined; // the policy no longer flags anything
    const asked = await extend(w, id);
    expect(asked).toMatchObject({ ok: true, value: { request: { approvalsRequired: 2, flags: [] } } });
  });

  it('meet the role’s justification rules, or are refused and audited', async () => {
    const w = worldWith({ justification: { ticketPattern: 'INC-\\d+' }, maxTotalMs: 4 * HOUR });
    const id = await active(w);
    expect(await extend(w, id, 'need a bit longer')).toMatchObject({ ok: false, error: { code: 'TICKET_REQUIRED' } });
    expect(w.store.auditLog(id).at(-1)).toMatchObject({ action: 'extension.refused', actor: ALICE, details: { code: 'TICKET_REQUIRED' } });
    expect(w.store.requestCount()).toBe(1);
  });
});

describe('justification', () => {
  it.each([
    { reason: 'fix', code: 'REASON_TOO_SHORT' },
    { reason: 'the orders table needs a hotfix', code: 'TICKET_REQUIRED' },
  ])('refuses "$reason" with $code, audited, nothing recorded', async ({ reason, code }) => {
    const w = worldWith({ justification: { minLength: 10, ticketPattern: 'INC-\\d+' } });
    const result = await submitRequest(w.deps, readRequest({ reason }));
    expect(result).toMatchObject({ ok: false, error: { code } });
    expect(w.store.requestCount()).toBe(0);
    expect(w.store.auditLog(null)).toMatchObject([{ action: 'request.refused', actor: ALICE, details: { code, reason } }]);
  });

  it('accepts a reason that has the ticket and the length', async () => {
    const w = worldWith({ justification: { minLength: 10, ticketPattern: 'INC-\\d+' } });
    expect((await submitOk(w)).status).toBe('pending');
  });
});

describe('history', () => {
  it('leaves extensions and other people out, oldest first', async () => {
    const w = createWorld();
    const a = await submitOk(w);
    w.clock.advance(MINUTE);
    await submitOk(w, readRequest({ requesterId: DAVE }));
    const b = await submitOk(w, readRequest({ role: 'write' }));
    const since = new Date(a.createdAt.getTime() - 1);
    expect(await w.store.recentRequestsOf(ALICE, since)).toEqual([
      { resource: 'prod-db', role: 'read', createdAt: a.createdAt, autoApproved: false },
      { resource: 'prod-db', role: 'write', createdAt: b.createdAt, autoApproved: false },
    ]);
    expect(await w.store.recentRequestsOf(ALICE, new Date(b.createdAt.getTime() + 1))).toEqual([]);
  });
});
