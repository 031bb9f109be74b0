/**
 * What the policy engine keeps and reads in PostgreSQL: a request's risk flags and auto-approval rule, and a
 * person's recent requests (`recentRequestsOf`), against the real server and the migrated schema.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, HOUR, MINUTE } from '../../src/domain/duration.js';
import { autoApprove, submit, type NewRequest, type Transition } from '../../src/domain/request.js';
import { openDatabase, type DatabaseHandle } from '../../src/store/db.js';
import { PostgresRequestStore } from '../../src/store/request-store.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { requestDraft } from '../support/request-draft.js';

const ALICE = 'U0ALICE01';
const T0 = new Date('2025-08-06T12:00:00.000Z');
const at = (offsetMs: number): Date => new Date(T0.getTime() + offsetMs);

let testDb: TestDatabase;
let handle: DatabaseHandle;
let store: PostgresRequestStore;
let raw: postgres.Sql;

beforeAll(async () => {
  testDb = await createTestDatabase('history');
  handle = openDatabase(testDb.url);
  store = new PostgresRequestStore(handle.db);
  raw = postgres(testDb.url, { max: 1, onnotice: () => {} });
});

afterAll(async () => {
  await Promise.all([handle?.close(), raw?.end({ timeout: 5 })]);
  await testDb?.drop();
});

let seq = 0;
function submitted(patch: Partial<NewRequest> = {}): Transition {
  return submit(requestDraft({ id: `req_hist_${++seq}`, ...patch }));
}

function autoApproved(patch: Partial<NewRequest>, rule: string): Transition {
  const result = autoApprove(submitted(patch).next, rule, patch.createdAt ?? T0);
  if (!result.ok) throw new Error(result.error.code);
  return result.value;
}

describe('policy engine columns', () => {
  it('keeps the flags and the auto-approval rule, and reads old rows as none', async () => {
    const flags = [{ code: 'burst', reason: '3 requests by this person within 10m (this one included)' }];
    const flagged = submitted({ flags, createdAt: T0 });
    const auto = autoApproved({ createdAt: T0 }, 'prod-db/read auto_approve (up to 1h)');
    await store.create(flagged);
    await store.create(auto);

    expect((await store.get(flagged.next.id))?.request).toMatchObject({ flags, autoApprovedBy: null, status: 'pending' });
    expect((await store.get(auto.next.id))?.request).toMatchObject({ flags: [], autoApprovedBy: 'prod-db/read auto_approve (up to 1h)', status: 'approved', version: 2 });
    const [row] = await raw`SELECT flags, auto_approved_by FROM access_requests WHERE id = ${auto.next.id}`;
    expect(row).toEqual({ flags: [], auto_approved_by: 'prod-db/read auto_approve (up to 1h)' });

    // A row written before the policy engine has NULL in both columns.
    await raw`UPDATE access_requests SET flags = NULL WHERE id = ${flagged.next.id}`;
    expect((await store.get(flagged.next.id))?.request).toMatchObject({ flags: [], autoApprovedBy: null });
  });
});

describe('recentRequestsOf', () => {
  it('lists one person’s requests since a time, oldest first, in any state, extensions left out', async () => {
    const who = 'U0HIST001';
    const old = submitted({ requesterId: who, createdAt: at(-2 * DAY) });
    const denied = submitted({ requesterId: who, role: 'write', createdAt: at(-3 * HOUR) });
    const auto = autoApproved({ requesterId: who, resource: 'billing-db', createdAt: at(-HOUR) }, 'billing-db/read auto_approve (no conditions)');
    const extension = submitted({ requesterId: who, extendsId: auto.next.id, createdAt: at(-30 * MINUTE) });
    const someoneElse = submitted({ requesterId: ALICE, createdAt: at(-MINUTE) });
    for (const t of [old, denied, auto, extension, someoneElse]) await store.create(t);

    expect(await store.recentRequestsOf(who, at(-DAY))).toEqual([
      { resource: 'prod-db', role: 'write', createdAt: at(-3 * HOUR), autoApproved: false },
      { resource: 'billing-db', role: 'read', createdAt: at(-HOUR), autoApproved: true },
    ]);
    expect(await store.recentRequestsOf(who, at(-2 * DAY))).toHaveLength(3);
    expect(await store.recentRequestsOf('U0NOBODY1', at(-DAY))).toEqual([]);
  });
});
