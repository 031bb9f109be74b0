/**
 * The revoke watchdog's PostgreSQL adapter against the real server: which grants count as stalled, that each
 * is claimed (and audited) once across two processes, and that a released claim comes back.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import { activate, review, startGrant, startRevoke, completeRevoke, submit, type Transition } from '../../src/domain/request.js';
import type { Result } from '../../src/domain/errors.js';
import { openDatabase, type DatabaseHandle } from '../../src/store/db.js';
import { PostgresRequestStore } from '../../src/store/request-store.js';
import { PostgresRevokeWatch } from '../../src/store/revoke-watch.js';
import type { RequestSnapshot } from '../../src/use-cases/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { BOB, testPolicy } from '../use-cases/world.js';
import { requestDraft } from '../support/request-draft.js';

// The use-case tests' policy: Bob approves prod-db read alone.
const policy = testPolicy();

let testDb: TestDatabase;
let handleA: DatabaseHandle;
let handleB: DatabaseHandle;
let store: PostgresRequestStore;
let watchA: PostgresRevokeWatch;
let watchB: PostgresRevokeWatch;
let raw: postgres.Sql;

beforeAll(async () => {
  testDb = await createTestDatabase('revoke_watch');
  handleA = openDatabase(testDb.url);
  handleB = openDatabase(testDb.url);
  store = new PostgresRequestStore(handleA.db);
  watchA = new PostgresRevokeWatch(handleA.db);
  watchB = new PostgresRevokeWatch(handleB.db);
  raw = postgres(testDb.url, { max: 2, onnotice: () => {} });
});
afterAll(async () => {
  await Promise.all([handleA?.close(), handleB?.close(), raw?.end({ timeout: 5 })]);
  await testDb?.drop();
});

function must(result: Result<Transition>): Transition {
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
}

let seq = 0;
/** A grant activated at `grantedAt` for 2h, through the real transitions and the real store. */
async function activeGrant(grantedAt: Date): Promise<string> {
  seq += 1;
  const id = `req_watch_${String(seq).padStart(3, '0')}`;
  const created = submit(requestDraft({ id, createdAt: grantedAt }));
  await store.create(created);
  for (const step of [
    (s: RequestSnapshot) => review(s.request, s.decisions, policy, { deciderId: BOB, outcome: 'approve', reason: null }, grantedAt),
    (s: RequestSnapshot) => startGrant(s.request, grantedAt),
    (s: RequestSnapshot) => activate(s.request, grantedAt),
  ]) {
    const outcome = await store.apply(id, step);
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.error));
  }
  return id;
}

const now = () => new Date();
/** Cutoffs as the watchdog computes them with a 1-minute grace and no backoff. */
const cutoffs = (at = now()) => ({ activeEndedBefore: new Date(at.getTime() - MINUTE), revokingUnchangedSince: new Date(at.getTime() - MINUTE) });
const alertedAt = async (id: string) => (await raw`SELECT stalled_alerted_at FROM access_requests WHERE id = ${id}`)[0]!.stalled_alerted_at as Date | null;
const stalledAudits = async (id: string) => (await raw`SELECT details FROM audit_events WHERE request_id = ${id} AND action = 'revoke.stalled'`).map((r) => r.details);

describe('PostgresRevokeWatch', () => {
  it('claims an active grant whose window ended before the cutoff, once, and audits it; leaves a running one alone', async () => {
    const ended = await activeGrant(new Date(Date.now() - 3 * HOUR)); // ended an hour ago
    const running = await activeGrant(now()); // ends in 2h

    const claimed = await watchA.claimStalled(cutoffs(), 50);
    expect(claimed.map((r) => r.id)).toContain(ended);
    expect(claimed.map((r) => r.id)).not.toContain(running);
    const mine = claimed.find((r) => r.id === ended)!;
    expect(mine).toMatchObject({ status: 'active', resource: 'prod-db', role: 'read' });
    expect(mine.expiresAt!.getTime()).toBeLessThan(Date.now() - HOUR + MINUTE);
    expect(await alertedAt(ended)).toBeInstanceOf(Date);
    expect(await alertedAt(running)).toBeNull();
    expect(await stalledAudits(ended)).toEqual([{ status: 'active', expiresAt: mine.expiresAt!.toISOString() }]);

    expect((await watchA.claimStalled(cutoffs(), 50)).map((r) => r.id)).not.toContain(ended);
    expect(await stalledAudits(ended)).toHaveLength(1);
  });

  it('claims a revoking grant only when its row has not changed since the cutoff; never a finished one', async () => {
    const id = await activeGrant(new Date(Date.now() - 3 * HOUR));
    const revoked = await activeGrant(new Date(Date.now() - 3 * HOUR));
    await store.apply(id, (s) => startRevoke(s.request, 'expired', now()));
    await store.apply(revoked, (s) => startRevoke(s.request, 'expired', now()));
    await store.apply(revoked, (s) => completeRevoke(s.request, now()));

    // Just moved to revoking: it is progressing.
    expect((await watchA.claimStalled(cutoffs(), 50)).map((r) => r.id)).not.toContain(id);
    // Seen from two minutes later, it has not changed for longer than the grace.
    const later = await watchA.claimStalled(cutoffs(new Date(Date.now() + 2 * MINUTE)), 50);
    expect(later.map((r) => r.id)).toContain(id);
    expect(later.map((r) => r.id)).not.toContain(revoked);
    expect(later.find((r) => r.id === id)).toMatchObject({ status: 'revoking' });
  });

  it('a grant alerted while active that later stalls again in revoking is alerted again, once', async () => {
    const id = await activeGrant(new Date(Date.now() - 3 * HOUR));
    expect((await watchA.claimStalled(cutoffs(), 50)).map((r) => r.id)).toContain(id);
    await store.apply(id, (s) => startRevoke(s.request, 'expired', now())); // a worker came back, then stopped
    expect(await alertedAt(id)).toBeNull();

    const later = cutoffs(new Date(Date.now() + 2 * MINUTE));
    expect((await watchA.claimStalled(later, 50)).map((r) => r.id)).toContain(id);
    expect((await watchB.claimStalled(later, 50)).map((r) => r.id)).not.toContain(id);
    expect(await stalledAudits(id)).toEqual([expect.objectContaining({ status: 'active' }), expect.objectContaining({ status: 'revoking' })]);
  });

  it('two processes claiming at once report each stalled grant exactly once', async () => {
    const ids = await Promise.all(Array.from({ length: 12 }, () => activeGrant(new Date(Date.now() - 3 * HOUR))));
    const [a, b] = await Promise.all([watchA.claimStalled(cutoffs(), 50), watchB.claimStalled(cutoffs(), 50)]);
    const claimed = [...a!, ...b!].map((r) => r.id).filter((id) => ids.includes(id));
    expect(claimed.sort()).toEqual([...ids].sort());
    for (const id of ids) expect(await stalledAudits(id)).toHaveLength(1);
  });

  it('a released claim is claimed again by the next run (its alert could not be sent)', async () => {
    const id = await activeGrant(new Date(Date.now() - 3 * HOUR));
    expect((await watchA.claimStalled(cutoffs(), 50)).map((r) => r.id)).toContain(id);
    await watchA.releaseStalled([id]);
    expect(await alertedAt(id)).toBeNull();
    expect((await watchB.claimStalled(cutoffs(), 50)).map((r) => r.id)).toContain(id);
  });

  it('claims at most `limit` per run, the rest on later runs', async () => {
    await Promise.all(Array.from({ length: 5 }, () => activeGrant(new Date(Date.now() - 3 * HOUR))));
    const first = await watchA.claimStalled(cutoffs(), 2);
    expect(first).toHaveLength(2);
    const rest = await watchA.claimStalled(cutoffs(), 50);
    expect(rest.length).toBeGreaterThanOrEqual(3);
    for (const r of first) expect(rest.map((x) => x.id)).not.toContain(r.id);
  });
});
