/**
 * "Was it committed?": a write whose connection is lost after PostgreSQL may have committed is answered from a
 * re-read (`src/use-cases/ambiguous-write.ts`). The fake store's `commitThenFail` saves a write and then throws
 * the driver's connection-loss error (committed, reply lost); `failNext` with the same error throws before
 * anything is saved (not committed). The real thing, through a TCP proxy: test/faults/ambiguous-commit.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { MINUTE } from '../../src/domain/duration.js';
import { connectionLost, writeOrConfirm } from '../../src/use-cases/ambiguous-write.js';
import { cancelRequest } from '../../src/use-cases/cancel-request.js';
import { requestExtension } from '../../src/use-cases/extend-grant.js';
import { reviewRequest } from '../../src/use-cases/review-request.js';
import { revokeEarly } from '../../src/use-cases/revoke-early.js';
import { submitRequest } from '../../src/use-cases/submit-request.js';
import { ALICE, BOB, active, createWorld, outboxKinds, readRequest, submitted } from './world.js';

const lost = () => Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' });
const NO_WAIT = [0, 0, 0];

describe('connectionLost', () => {
  it('is true for driver and socket codes and session-ending SQLSTATEs, on the error or its cause; false otherwise', () => {
    for (const code of ['CONNECTION_CLOSED', 'ECONNRESET', 'EPIPE', '08006', '57P01']) expect(connectionLost({ code })).toBe(true);
    expect(connectionLost(new Error('wrapped', { cause: { code: 'CONNECTION_CLOSED' } }))).toBe(true);
    // A refusal or a constraint violation is an answer from PostgreSQL, never ambiguous.
    for (const code of ['23505', '40001', '55P03', '57014']) expect(connectionLost({ code })).toBe(false);
    expect(connectionLost(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(connectionLost(null)).toBe(false);
  });
});

describe('writeOrConfirm', () => {
  const w = createWorld();

  it('returns what the write returned, without re-reading', async () => {
    let reads = 0;
    const r = await writeOrConfirm(w.deps, {}, async () => 'saved', async () => (reads++, 'there'), NO_WAIT);
    expect(r).toEqual({ committed: 'heard', value: 'saved' });
    expect(reads).toBe(0);
  });

  it('rethrows any other error without re-reading', async () => {
    let reads = 0;
    const error = Object.assign(new Error('duplicate key'), { code: '23505' });
    await expect(writeOrConfirm(w.deps, {}, () => Promise.reject(error), async () => (reads++, 'there'), NO_WAIT)).rejects.toBe(error);
    expect(reads).toBe(0);
  });

  it('after a lost connection, answers "committed" when the re-read finds the write, retrying a re-read that fails', async () => {
    let reads = 0;
    const r = await writeOrConfirm(
      w.deps,
      { requestId: 'req_x' },
      () => Promise.reject(lost()),
      async () => {
        if (++reads < 3) throw lost(); // the pool is still reconnecting
        return 'there';
      },
      NO_WAIT,
    );
    expect(r).toEqual({ committed: 'confirmed', confirmed: 'there' });
    expect(w.log.at('warn').at(-1)).toMatchObject({ obj: { requestId: 'req_x' }, msg: expect.stringMatching(/committed/) });
  });

  it('rethrows the write\'s error when the re-read finds nothing, or cannot read within the bound', async () => {
    const error = lost();
    await expect(writeOrConfirm(w.deps, {}, () => Promise.reject(error), async () => null, NO_WAIT)).rejects.toBe(error);
    let reads = 0;
    await expect(writeOrConfirm(w.deps, {}, () => Promise.reject(error), () => (reads++, Promise.reject(lost())), NO_WAIT)).rejects.toBe(error);
    expect(reads).toBe(NO_WAIT.length);
    expect(w.log.at('error').at(-1)).toMatchObject({ msg: expect.stringMatching(/outcome unknown/) });
  });
});

describe('a request whose commit reply is lost', () => {
  it('committed: is answered with its id like any request, its card and expiry are queued, and nothing is created twice', async () => {
    const w = createWorld();
    w.store.commitThenFail('create');

    const result = await submitRequest(w.deps, readRequest());

    expect(result).toMatchObject({ ok: true, value: { request: { id: 'req_0001', status: 'pending' } } });
    expect(w.store.requestCount()).toBe(1);
    expect(outboxKinds(w, 'req_0001')).toEqual(['post-cards']);
    const [card] = w.store.outbox('req_0001');
    expect(w.queue.pendingIds('deliver')).toContain(`deliver-${card!.id}`); // its id was in the lost reply
    expect(w.queue.pendingIds('check')).toContain('expire-req_0001');
  });

  it('not committed: the error stands (nothing was changed, truly), and the retry creates one request', async () => {
    const w = createWorld();
    w.store.failNext('create', 1, lost);

    await expect(submitRequest(w.deps, readRequest())).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(w.store.requestCount()).toBe(0);
    expect((await submitRequest(w.deps, readRequest())).ok).toBe(true);
    expect(w.store.requestCount()).toBe(1);
  });

  it('an extension request, committed: answered with its id, created once', async () => {
    const w = createWorld();
    const id = await active(w);
    w.store.commitThenFail('create');

    const result = await requestExtension(w.deps, { requestId: id, requesterId: ALICE, durationMs: 30 * MINUTE, reason: 'INC-4821 still digging' });

    expect(result).toMatchObject({ ok: true, value: { request: { extendsId: id, status: 'pending' } } });
    expect(w.store.requestCount()).toBe(2);
  });
});

describe('a decision whose commit reply is lost', () => {
  it('committed: the click succeeds with the recorded decision, the grant and the card refresh are queued', async () => {
    const w = createWorld();
    const id = await submitted(w);
    w.store.commitThenFail('apply');

    const result = await reviewRequest(w.deps, { requestId: id, deciderId: BOB, outcome: 'approve', reason: null });

    expect(result).toMatchObject({ ok: true, value: { request: { status: 'approved' }, decisions: [{ approverId: BOB, outcome: 'approve' }] } });
    expect(w.store.actions(id)).toEqual(['request.submitted', 'request.approved']); // no "decision.refused"
    expect(w.queue.pendingIds('grant')).toEqual([`grant-${id}`]);
    const refresh = w.store.outbox(id).find((n) => n.notification.kind === 'refresh-cards');
    expect(w.queue.pendingIds('deliver')).toContain(`deliver-${refresh!.id}`);
  });

  it('not committed: the error stands and nothing is recorded; the retried click works', async () => {
    const w = createWorld();
    const id = await submitted(w);
    w.store.failNext('apply', 1, lost);

    await expect(reviewRequest(w.deps, { requestId: id, deciderId: BOB, outcome: 'deny', reason: null })).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(w.store.request(id).status).toBe('pending');
    expect((await reviewRequest(w.deps, { requestId: id, deciderId: BOB, outcome: 'deny', reason: null })).ok).toBe(true);
  });

  it('cancel and early revoke: a re-read showing the state reached is success', async () => {
    const w = createWorld();
    const pending = await submitted(w);
    w.store.commitThenFail('apply');
    expect(await cancelRequest(w.deps, { requestId: pending, actorId: ALICE })).toMatchObject({ ok: true, value: { request: { status: 'cancelled' } } });

    const granted = await active(w);
    w.store.commitThenFail('apply');
    expect(await revokeEarly(w.deps, { requestId: granted, actorId: ALICE, note: null })).toMatchObject({ ok: true, value: { request: { status: 'revoking' } } });
    expect(w.queue.pendingIds('revoke')).toContain(`revoke-${granted}`);
  });
});
