import { describe, expect, it } from 'vitest';
import type { DomainErrorCode } from '../../src/domain/errors.js';
import { activateGrant } from '../../src/use-cases/activate-grant.js';
import { cancelRequest } from '../../src/use-cases/cancel-request.js';
import { reviewRequest } from '../../src/use-cases/review-request.js';
import { ALICE, BOB, CAROL, MALLORY, active, approved, claimed, createWorld, deliverAll, outboxKinds, readRequest, submitted, type World } from './world.js';

const approve = (w: World, requestId: string, deciderId: string) =>
  reviewRequest(w.deps, { requestId, deciderId, outcome: 'approve', reason: null });
const deny = (w: World, requestId: string, deciderId: string, reason: string | null) =>
  reviewRequest(w.deps, { requestId, deciderId, outcome: 'deny', reason });

describe('reviewRequest', () => {
  it('approves a one-approval request and schedules its grant', async () => {
    const w = createWorld();
    const id = await submitted(w);

    const result = await approve(w, id, BOB);

    expect(result).toMatchObject({ ok: true, value: { request: { status: 'approved' }, decisions: [{ approverId: BOB, outcome: 'approve' }] } });
    expect(w.store.request(id)).toMatchObject({ status: 'approved', version: 2, decidedAt: w.clock.now() });
    expect(w.store.actions(id)).toEqual(['request.submitted', 'request.approved']);
    expect(outboxKinds(w, id)).toEqual(['post-cards', 'refresh-cards']);
    expect(w.queue.pendingIds('grant')).toEqual([`grant-${id}`]);
    // Approval is not access: nothing changes on the target until the grant job runs.
    expect(w.target.calls).toEqual([]);
  });

  it('needs two distinct approvers when the role says two', async () => {
    const w = createWorld();
    const id = await submitted(w, readRequest({ role: 'write' }));

    const first = await approve(w, id, BOB);
    expect(first).toMatchObject({ ok: true, value: { request: { status: 'pending' } } });
    expect(w.queue.jobs('grant')).toEqual([]);
    expect(w.store.actions(id)).toEqual(['request.submitted', 'request.approval-recorded']);

    const again = await approve(w, id, BOB);
    expect(again).toMatchObject({ ok: false, error: { code: 'ALREADY_DECIDED', outcome: 'approve' } });
    expect(w.store.request(id).status).toBe('pending');

    const second = await approve(w, id, CAROL);
    expect(second).toMatchObject({ ok: true, value: { request: { status: 'approved' } } });
    expect(second.ok && second.value.decisions.map((d) => d.approverId)).toEqual([BOB, CAROL]);
    expect(w.queue.pendingIds('grant')).toEqual([`grant-${id}`]);
    expect(outboxKinds(w, id)).toEqual(['post-cards', 'refresh-cards', 'refresh-cards']);
  });

  it('denies with a reason: the request ends, the cards refresh and the requester is told', async () => {
    const w = createWorld();
    const id = await submitted(w);

    const result = await deny(w, id, CAROL, 'use the read replica');

    expect(result).toMatchObject({ ok: true, value: { request: { status: 'denied' }, decisions: [{ approverId: CAROL, outcome: 'deny', reason: 'use the read replica' }] } });
    expect(w.store.auditLog(id).at(-1)).toMatchObject({ action: 'request.denied', actor: CAROL, details: { reason: 'use the read replica' } });
    expect(outboxKinds(w, id)).toEqual(['post-cards', 'refresh-cards', 'notify-requester:denied']);
    expect(w.queue.jobs('grant')).toEqual([]);

    await deliverAll(w);
    expect(w.notifier.noticesOf(id)).toEqual(['denied']);
    expect(w.notifier.notices[0]).toMatchObject({ to: ALICE, snapshot: { decisions: [{ reason: 'use the read replica' }] } });
    expect(w.notifier.cardsOf(id)[0]?.snapshot.request.status).toBe('denied');
  });

  it('ends a two-approval request at the first deny', async () => {
    const w = createWorld();
    const id = await submitted(w, readRequest({ role: 'write' }));
    await approve(w, id, BOB);

    expect(await deny(w, id, CAROL, null)).toMatchObject({ ok: true, value: { request: { status: 'denied' } } });
    expect(w.queue.jobs('grant')).toEqual([]);
  });

  describe('refusals are values, change nothing, and are audited as decision.refused', () => {
    type Case = { name: string; setup: (w: World) => Promise<string>; decider: string; code: DomainErrorCode };
    const cases: Case[] = [
      { name: 'someone who is not an approver', setup: (w) => submitted(w), decider: MALLORY, code: 'NOT_AN_APPROVER' },
      { name: 'the requester, even when listed as an approver', setup: (w) => submitted(w, readRequest({ role: 'write' })), decider: ALICE, code: 'SELF_APPROVAL' },
      {
        name: 'an approver who already decided',
        setup: async (w) => {
          const id = await submitted(w, readRequest({ role: 'write' }));
          await approve(w, id, BOB);
          return id;
        },
        decider: BOB,
        code: 'ALREADY_DECIDED',
      },
      { name: 'a click on an approved request whose grant has started', setup: (w) => claimed(w), decider: CAROL, code: 'NOT_PENDING' },
      { name: 'a click on an active grant', setup: (w) => active(w), decider: BOB, code: 'NOT_PENDING' },
      {
        name: 'a click on a denied request',
        setup: async (w) => {
          const id = await submitted(w);
          await deny(w, id, BOB, null);
          return id;
        },
        decider: CAROL,
        code: 'NOT_PENDING',
      },
      { name: 'a request that does not exist', setup: async () => 'req_9999', decider: BOB, code: 'NOT_FOUND' },
    ];

    it.each(cases)('$name → $code', async ({ setup, decider, code }) => {
      const w = createWorld();
      const id = await setup(w);
      const before = w.store.requestCount() > 0 ? w.store.request(id) : null;
      const outboxBefore = w.store.outbox().length;
      const jobsBefore = w.queue.jobs();

      for (const outcome of ['approve', 'deny'] as const) {
        const result = await reviewRequest(w.deps, { requestId: id, deciderId: decider, outcome, reason: null });
        expect(result).toMatchObject({ ok: false, error: { code } });
        expect(w.store.auditLog(id).at(-1)).toMatchObject({ action: 'decision.refused', actor: decider, details: { outcome, code } });
      }
      if (before) expect(w.store.request(id)).toEqual(before);
      expect(w.store.outbox()).toHaveLength(outboxBefore);
      expect(w.queue.jobs()).toEqual(jobsBefore);
    });
  });

  it('two approvers clicking at once give one approval and one NOT_PENDING, and one grant job', async () => {
    const w = createWorld();
    const id = await submitted(w);

    const results = await Promise.all([approve(w, id, BOB), approve(w, id, CAROL)]);

    expect(results.map((r) => (r.ok ? r.value.request.status : r.error.code)).sort()).toEqual(['NOT_PENDING', 'approved']);
    expect(w.store.actions(id).filter((a) => a === 'request.approved')).toHaveLength(1);
    expect(w.queue.jobs('grant')).toHaveLength(1);
  });

  it('keeps the approval when the queue is down; the reconciler schedules the grant later', async () => {
    const w = createWorld();
    const id = await submitted(w);
    w.queue.down = true;

    expect(await approve(w, id, BOB)).toMatchObject({ ok: true, value: { request: { status: 'approved' } } });
    expect(w.store.request(id).status).toBe('approved');
    expect(w.log.at('warn').length).toBeGreaterThan(0);
  });
});

describe('the requester cancels inside the approval grace', () => {
  it('wins like a deny: cancelled, the grant job then does nothing, the target is untouched', async () => {
    const w = createWorld();
    const id = await approved(w);
    expect((await cancelRequest(w.deps, { requestId: id, actorId: ALICE })).ok).toBe(true);

    expect(await activateGrant(w.deps, id, { finalAttempt: false })).toBe('not-approved');
    expect(w.store.request(id).status).toBe('cancelled');
    expect(w.target.calls).toEqual([]);
  });

  it('is refused once the grant job has claimed the request', async () => {
    const w = createWorld();
    const id = await claimed(w);
    expect(await cancelRequest(w.deps, { requestId: id, actorId: ALICE })).toMatchObject({ ok: false, error: { code: 'NOT_PENDING' } });
    expect(w.store.request(id).status).toBe('approved');
  });
});
