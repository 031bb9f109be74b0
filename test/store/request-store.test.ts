/**
 * The PostgreSQL `RequestStore` against the real server, one database per file (see `test/support/database.ts`).
 * States are reached through the real domain transitions, and every assertion that matters reads the rows
 * actually written, through a separate plain `postgres` client (the adapter's drizzle mapping is not trusted
 * to check itself).
 */
import { requestDraft } from '../support/request-draft.js';
import { ROLE_TIMING_DEFAULTS } from '../../src/domain/policy.js';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, HOUR, MINUTE, SECOND } from '../../src/domain/duration.js';
import type { DomainError, Result } from '../../src/domain/errors.js';
import type { Policy } from '../../src/domain/policy.js';
import {
  REVOKE_ALERT_THRESHOLD,
  activate,
  completeRevoke,
  recordRevokeFailure,
  review,
  startGrant,
  startRevoke,
  submit,
  type AccessRequest,
  type NewRequest,
  type ReviewInput,
  type Transition,
} from '../../src/domain/request.js';
import { openDatabase, type DatabaseHandle } from '../../src/store/db.js';
import { PostgresRequestStore } from '../../src/store/request-store.js';
import type { ApplyOutcome } from '../../src/use-cases/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const ALICE = 'U0ALICE01';
const BOB = 'U0BOB0002';
const CAROL = 'U0CAROL03';
const DAVE = 'U0DAVE004';
const ERIN = 'U0ERIN005';
const MALLORY = 'U0MALL006';
const APPROVERS = [BOB, CAROL, DAVE, ERIN];

const T0 = new Date('2025-08-06T12:00:00.000Z');
const at = (offsetMs: number): Date => new Date(T0.getTime() + offsetMs);

const policy: Policy = {
  version: 1,
  admins: [],
  principals: {},
  resources: {
    'prod-db': {
      provider: 'postgres',
      settings: { connection: { env: 'PROD_DB_URL' } },
      principal: 'email-local-part',
      roles: {
        read: { grants: ['pg_read_all_data'], maxDurationMs: 4 * HOUR, approvers: { users: APPROVERS }, approvals: 1, channel: 'C0APPROVE1', ...ROLE_TIMING_DEFAULTS },
        write: { grants: ['pg_write_all_data', 'pg_read_all_data'], maxDurationMs: HOUR, approvers: { users: APPROVERS }, approvals: 2, channel: 'C0APPROVE1', ...ROLE_TIMING_DEFAULTS },
      },
    },
    'billing-db': {
      provider: 'postgres',
      settings: { connection: { env: 'BILLING_DB_URL' } },
      principal: 'email-local-part',
      roles: {
        read: { grants: ['pg_read_all_data'], maxDurationMs: 4 * HOUR, approvers: { users: APPROVERS }, approvals: 1, channel: 'C0APPROVE2', ...ROLE_TIMING_DEFAULTS },
      },
    },
  },
};

let testDb: TestDatabase;
/** Two handles stand in for two processes racing on the same rows. */
let handleA: DatabaseHandle;
let handleB: DatabaseHandle;
let storeA: PostgresRequestStore;
let storeB: PostgresRequestStore;
/** Reads what was written, with postgres.js's own type mapping (drizzle rewires the parsers of its client). */
let raw: postgres.Sql;

beforeAll(async () => {
  testDb = await createTestDatabase('store');
  handleA = openDatabase(testDb.url);
  handleB = openDatabase(testDb.url);
  storeA = new PostgresRequestStore(handleA.db);
  storeB = new PostgresRequestStore(handleB.db);
  raw = postgres(testDb.url, { max: 2, onnotice: () => {} });
});

afterAll(async () => {
  await Promise.all([handleA?.close(), handleB?.close(), raw?.end({ timeout: 5 })]);
  await testDb?.drop();
});

// ── builders ────────────────────────────────────────────────────────────────────────────────────────────

let seq = 0;
function newRequest(patch: Partial<NewRequest> = {}): NewRequest {
  seq += 1;
  return requestDraft({ id: `req_store_${String(seq).padStart(3, '0')}`, createdAt: T0, ...patch });
}

function must(result: Result<Transition>): Transition {
  if (!result.ok) throw new Error(`expected a transition, got ${JSON.stringify(result.error)}`);
  return result.value;
}

function applied(outcome: ApplyOutcome): Transition {
  if (!outcome.ok) throw new Error(`expected the transition to be saved, got ${JSON.stringify(outcome.error)}`);
  return outcome.transition;
}

function refused(outcome: ApplyOutcome): DomainError {
  if (outcome.ok) throw new Error(`expected a refusal, got ${outcome.transition.audit.action}`);
  return outcome.error;
}

const approve = (deciderId: string): ReviewInput => ({ deciderId, outcome: 'approve', reason: null });
const deny = (deciderId: string): ReviewInput => ({ deciderId, outcome: 'deny', reason: 'not during the freeze' });

async function createPending(patch: Partial<NewRequest> = {}, store = storeA): Promise<AccessRequest> {
  const t = submit(newRequest(patch));
  await store.create(t);
  return t.next;
}

function decide(id: string, input: ReviewInput, now: Date, store = storeA): Promise<ApplyOutcome> {
  return store.apply(id, (s) => review(s.request, s.decisions, policy, input, now));
}

async function step(id: string, transition: (r: AccessRequest) => Result<Transition>): Promise<Transition> {
  return applied(await storeA.apply(id, (s) => transition(s.request)));
}

/** pending → approved → active, with the window starting at `grantedAt`. */
async function createActive(patch: Partial<NewRequest>, grantedAt: Date): Promise<AccessRequest> {
  const r = await createPending(patch);
  applied(await decide(r.id, approve(BOB), grantedAt));
  return (await step(r.id, (s) => activate(s, grantedAt))).next;
}

// ── raw reads ───────────────────────────────────────────────────────────────────────────────────────────

interface RequestRow {
  id: string;
  status: string;
  version: number;
  grants: unknown;
  grants_type: string;
  reason: string;
  duration_seconds: number;
  decided_at: Date | null;
  revoke_attempts: number;
  last_error: string | null;
  updated_at: Date;
}
interface DecisionRow {
  approver_id: string;
  outcome: string;
  reason: string | null;
  decided_at: Date;
}
interface NotificationRow {
  id: string;
  payload: { kind: string; [k: string]: unknown };
  created_at: Date;
  delivered_at: Date | null;
  attempts: number;
  last_error: string | null;
}
interface AuditRow {
  id: string;
  request_id: string | null;
  actor: string;
  action: string;
  details: Record<string, unknown>;
}
interface GrantRow {
  resource: string;
  principal: string;
  pre_existing: string[];
  granted_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  revoke_reason: string | null;
  revoked_by: string | null;
  revoke_note: string | null;
}

async function requestRow(id: string): Promise<RequestRow | undefined> {
  const [row] = await raw<RequestRow[]>`SELECT *, jsonb_typeof(grants) AS grants_type FROM access_requests WHERE id = ${id}`;
  return row;
}
const decisionRows = (id: string) =>
  raw<DecisionRow[]>`SELECT approver_id, outcome, reason, decided_at FROM decisions WHERE request_id = ${id} ORDER BY id`;
// Ordered by the bigint, not by the `id::text` output column (which would put 10 before 9).
const notificationRows = (id: string) =>
  raw<NotificationRow[]>`SELECT id::text, payload, created_at, delivered_at, attempts, last_error FROM notifications n WHERE request_id = ${id} ORDER BY n.id`;
const auditRows = (id: string) =>
  raw<AuditRow[]>`SELECT id::text, request_id, actor, action, details FROM audit_events a WHERE request_id = ${id} ORDER BY a.id`;
async function grantRow(id: string): Promise<GrantRow | undefined> {
  const [row] = await raw<GrantRow[]>`SELECT * FROM grants WHERE request_id = ${id}`;
  return row;
}
const kinds = (rows: NotificationRow[]) => rows.map((n) => n.payload.kind);

// ── 1. create ───────────────────────────────────────────────────────────────────────────────────────────

describe('create', () => {
  it('writes the request, one submitted audit entry and one post-cards notification, and get round-trips it', async () => {
    const t = submit(newRequest({ durationMs: DAY + 2 * HOUR + 3 * MINUTE + 4 * SECOND, grants: ['pg_read_all_data', 'pg_monitor'] }));
    const { notificationIds } = await storeA.create(t);

    const row = await requestRow(t.next.id);
    expect(row).toMatchObject({
      status: 'pending',
      version: 1,
      platform: 'slack',
      requester_id: ALICE,
      principal: 'alice',
      resource: 'prod-db',
      role: 'read',
      grants: ['pg_read_all_data', 'pg_monitor'],
      // A real JSON array, not a JSON string holding one.
      grants_type: 'array',
      duration_seconds: 26 * 3600 + 3 * 60 + 4,
      reason: 'INC-4821 hotfix',
      approvals_required: 1,
      channel: 'C0APPROVE1',
      created_at: T0,
      decided_at: null,
      revoke_attempts: 0,
      last_error: null,
    });

    const audit = await auditRows(t.next.id);
    expect(audit).toEqual([
      expect.objectContaining({ request_id: t.next.id, action: 'request.submitted', actor: ALICE, details: t.audit.details }),
    ]);

    const notes = await notificationRows(t.next.id);
    expect(notes).toEqual([expect.objectContaining({ payload: { kind: 'post-cards' }, delivered_at: null, attempts: 0, last_error: null })]);
    expect(notificationIds).toEqual([notes[0]!.id]);

    const snapshot = await storeA.get(t.next.id);
    expect(snapshot).toEqual({ request: t.next, decisions: [] });
    expect(snapshot!.request.createdAt).toBeInstanceOf(Date);
  });

  it('is one transaction: a duplicate id is refused and leaves no second audit entry or notification', async () => {
    const t = submit(newRequest());
    await storeA.create(t);
    await expect(storeA.create(submit({ ...newRequest(), id: t.next.id, reason: 'again' }))).rejects.toThrow();
    expect((await requestRow(t.next.id))!.reason).toBe('INC-4821 hotfix');
    expect(await auditRows(t.next.id)).toHaveLength(1);
    expect(await notificationRows(t.next.id)).toHaveLength(1);
  });

  it('get returns null and apply NOT_FOUND for an unknown request', async () => {
    expect(await storeA.get('req_nope')).toBeNull();
    expect(refused(await decide('req_nope', approve(BOB), T0))).toEqual({ code: 'NOT_FOUND', requestId: 'req_nope' });
  });
});

// ── 2. concurrency ──────────────────────────────────────────────────────────────────────────────────────

describe('apply under concurrency', () => {
  it('100 concurrent approve/deny clicks on a 1-approval request: deny beats approve, one outcome, the requester told once', async () => {
    const r = await createPending();
    const clicks = Array.from({ length: 100 }, (_, i) => {
      const approver = APPROVERS[i % APPROVERS.length]!; // every approver clicks ~25 times: double clicks included
      const input = i % 3 === 0 ? deny(approver) : approve(approver);
      return decide(r.id, input, at(MINUTE + i), i % 2 === 0 ? storeA : storeB);
    });
    const outcomes = await Promise.all(clicks);

    // Every approver denies at least once, so whichever click commits first, a deny from someone else lands
    // before any grant could start (nothing claims the request here): the request ends denied.
    const winners = outcomes.filter((o) => o.ok).map(applied);
    const denial = winners.find((t) => t.decision!.outcome === 'deny')!;
    expect(denial).toBeDefined();
    expect(winners.map((t) => t.audit.action)).toEqual(winners.length === 1 ? ['request.denied'] : ['request.approved', 'request.denied']);
    const approval = winners.length === 2 ? winners[0]!.decision! : null;
    if (approval) {
      expect(approval.approverId).not.toBe(denial.decision!.approverId);
      expect(denial.audit.details).toMatchObject({ overrodeApprovals: [approval.approverId] });
    }
    const decided = winners.map((t) => t.decision!.approverId);
    for (const loser of outcomes.filter((o) => !o.ok)) {
      const error = refused(loser);
      expect(['NOT_PENDING', 'ALREADY_DECIDED']).toContain(error.code);
    }

    const row = (await requestRow(r.id))!;
    expect(row).toMatchObject({ status: 'denied', version: 1 + winners.length, decided_at: denial.decision!.at, grant_after: null, grant_started_at: null });
    // Exactly the deciding rows: nothing was recorded after the request was denied.
    expect((await decisionRows(r.id)).map((d) => d.approver_id).sort()).toEqual([...decided].sort());
    const notes = kinds(await notificationRows(r.id));
    expect(notes.filter((k) => k === 'refresh-cards')).toHaveLength(winners.length);
    expect(notes.filter((k) => k === 'notify-requester')).toHaveLength(1);
    expect((await auditRows(r.id)).map((a) => a.action)).toEqual(['request.submitted', ...winners.map((t) => t.audit.action)]);
  });

  it('a deny and the grant job’s claim racing on an approved request: exactly one wins, and the loser changes nothing', async () => {
    for (let round = 0; round < 10; round += 1) {
      const r = await createPending();
      const approval = applied(await decide(r.id, approve(BOB), at(MINUTE)));
      const [claim, denial] = await Promise.all([
        (round % 2 === 0 ? storeA : storeB).apply(r.id, (s) => startGrant(s.request, at(MINUTE + 5_000))),
        decide(r.id, deny(CAROL), at(MINUTE + 4_999), round % 2 === 0 ? storeB : storeA),
      ]);
      expect([claim!.ok, denial!.ok].filter(Boolean)).toHaveLength(1);
      const row = (await requestRow(r.id))!;
      if (claim!.ok) {
        expect(refused(denial!)).toMatchObject({ code: 'NOT_PENDING', status: 'approved' });
        expect(row).toMatchObject({ status: 'approved', grant_started_at: at(MINUTE + 5_000), version: approval.next.version + 1 });
      } else {
        expect(refused(claim!)).toMatchObject({ code: 'NOT_IN_STATE', status: 'denied' });
        expect(row).toMatchObject({ status: 'denied', grant_started_at: null, version: approval.next.version + 1 });
      }
    }
  });

  it('two distinct approvers racing on a 2-approval request both count: approved with exactly 2 decisions', async () => {
    for (let round = 0; round < 5; round += 1) {
      const r = await createPending({ role: 'write', grants: ['pg_write_all_data'], approvalsRequired: 2, durationMs: HOUR });
      const [first, second] = await Promise.all([
        decide(r.id, approve(BOB), at(MINUTE), storeA),
        decide(r.id, approve(CAROL), at(MINUTE + 1), storeB),
      ]);
      const actions = [applied(first!).audit.action, applied(second!).audit.action].sort();
      expect(actions).toEqual(['request.approval-recorded', 'request.approved']);

      expect(await requestRow(r.id)).toMatchObject({ status: 'approved', version: 3 });
      expect((await decisionRows(r.id)).map((d) => d.approver_id).sort()).toEqual([BOB, CAROL]);
      // Each saved step refreshes the cards; nothing is owed to the requester yet.
      expect(kinds(await notificationRows(r.id))).toEqual(['post-cards', 'refresh-cards', 'refresh-cards']);
    }
  });

  it('the same approver clicking twice at once on a 2-approval request counts once', async () => {
    for (let round = 0; round < 5; round += 1) {
      const r = await createPending({ role: 'write', grants: ['pg_write_all_data'], approvalsRequired: 2, durationMs: HOUR });
      const outcomes = await Promise.all([decide(r.id, approve(BOB), at(MINUTE), storeA), decide(r.id, approve(BOB), at(MINUTE + 1), storeB)]);
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      expect(refused(outcomes.find((o) => !o.ok)!)).toEqual({ code: 'ALREADY_DECIDED', requestId: r.id, outcome: 'approve' });

      expect(await requestRow(r.id)).toMatchObject({ status: 'pending', version: 2 });
      expect((await decisionRows(r.id)).map((d) => d.approver_id)).toEqual([BOB]);
      expect(kinds(await notificationRows(r.id))).toEqual(['post-cards', 'refresh-cards']);
    }
  });
});

// ── 3. refusals and atomicity ───────────────────────────────────────────────────────────────────────────

describe('apply that does not save', () => {
  async function writtenFor(id: string) {
    return { row: await requestRow(id), decisions: await decisionRows(id), notes: await notificationRows(id), audit: await auditRows(id) };
  }

  it('a refused transition (self-approval, a stranger) writes nothing', async () => {
    const r = await createPending();
    const before = await writtenFor(r.id);
    expect(refused(await decide(r.id, approve(ALICE), at(MINUTE)))).toEqual({ code: 'SELF_APPROVAL', requestId: r.id });
    expect(refused(await decide(r.id, deny(MALLORY), at(MINUTE)))).toEqual({ code: 'NOT_AN_APPROVER', requestId: r.id });
    expect(await writtenFor(r.id)).toEqual(before); // same version, same updated_at, no decision, no notification
    expect(before.row).toMatchObject({ status: 'pending', version: 1 });
  });

  it('a failure after the state update rolls the whole transition back', async () => {
    const r = await createPending({ role: 'write', grants: ['pg_write_all_data'], approvalsRequired: 2, durationMs: HOUR });
    applied(await decide(r.id, approve(BOB), at(MINUTE)));
    const before = await writtenFor(r.id);
    // CAROL's approval, but carrying a second decision for BOB: the unique index refuses it after the UPDATE ran.
    const forged = storeA.apply(r.id, (s) => {
      const t = must(review(s.request, s.decisions, policy, approve(CAROL), at(2 * MINUTE)));
      return { ok: true, value: { ...t, decision: { ...t.decision!, approverId: BOB } } };
    });
    await expect(forged).rejects.toThrow();
    expect(await writtenFor(r.id)).toEqual(before);
  });
});

// ── 4. the grant window ─────────────────────────────────────────────────────────────────────────────────

describe('grant window', () => {
  it('activate writes granted_at/expires_at; revoking keeps pre-existing grants and sets revoked_at', async () => {
    const r = await createPending({ grants: ['pg_read_all_data', 'pg_monitor'] });
    applied(await decide(r.id, approve(BOB), at(MINUTE)));
    // The grant job records what the principal already held before it grants.
    expect(await storeA.recordPreExisting(r.id, ['pg_monitor'])).toEqual(['pg_monitor']);

    const activated = await step(r.id, (s) => activate(s, at(2 * MINUTE)));
    expect(await grantRow(r.id)).toEqual({
      request_id: r.id,
      resource: 'prod-db',
      principal: 'alice',
      pre_existing: ['pg_monitor'], // the window upsert must not clobber it
      granted_at: at(2 * MINUTE),
      expires_at: at(2 * MINUTE + 2 * HOUR),
      revoked_at: null,
      revoke_reason: null,
      revoked_by: null,
      revoke_note: null,
    });
    expect(await storeA.get(r.id)).toMatchObject({ request: activated.next });
    expect(await requestRow(r.id)).toMatchObject({ status: 'active', version: 3 });

    const afterExpiry = at(3 * HOUR);
    await step(r.id, (s) => startRevoke(s, 'expired', afterExpiry));
    expect(await grantRow(r.id)).toMatchObject({ revoke_reason: 'expired', revoked_at: null });

    for (let i = 1; i <= REVOKE_ALERT_THRESHOLD; i += 1) await step(r.id, (s) => recordRevokeFailure(s, `connection refused #${i}`));
    expect(await requestRow(r.id)).toMatchObject({ status: 'revoking', revoke_attempts: REVOKE_ALERT_THRESHOLD, last_error: `connection refused #${REVOKE_ALERT_THRESHOLD}` });

    const done = await step(r.id, (s) => completeRevoke(s, afterExpiry));
    expect(await grantRow(r.id)).toMatchObject({ revoked_at: afterExpiry, revoke_reason: 'expired', pre_existing: ['pg_monitor'] });
    expect(await requestRow(r.id)).toMatchObject({ status: 'revoked', last_error: null, version: 4 + REVOKE_ALERT_THRESHOLD + 1 });
    expect(await storeA.get(r.id)).toEqual({ request: done.next, decisions: [expect.objectContaining({ approverId: BOB })] });

    expect((await notificationRows(r.id)).map((n) => n.payload)).toEqual([
      { kind: 'post-cards' },
      { kind: 'refresh-cards' },
      { kind: 'notify-requester', notice: 'granted' },
      { kind: 'refresh-cards' },
      { kind: 'alert-approvers', alert: 'revoke-failing' },
      { kind: 'refresh-cards' },
      { kind: 'notify-requester', notice: 'revoked' },
      { kind: 'refresh-cards' },
      { kind: 'alert-approvers', alert: 'revoke-recovered' },
    ]);
    expect((await auditRows(r.id)).map((a) => a.action)).toEqual([
      'request.submitted',
      'request.approved',
      'grant.activated',
      'revoke.started',
      ...Array<string>(REVOKE_ALERT_THRESHOLD).fill('revoke.attempt-failed'),
      'revoke.completed',
    ]);
  });

  it('recordPreExisting: the first write wins, even an empty one; preExisting reads it back', async () => {
    const a = await createPending();
    expect(await storeA.preExisting(a.id)).toEqual([]);
    expect(await storeA.recordPreExisting(a.id, ['pg_read_all_data'])).toEqual(['pg_read_all_data']);
    expect(await storeA.recordPreExisting(a.id, ['pg_monitor'])).toEqual(['pg_read_all_data']);
    expect(await storeA.preExisting(a.id)).toEqual(['pg_read_all_data']);
    expect((await grantRow(a.id))!.pre_existing).toEqual(['pg_read_all_data']);

    const b = await createPending();
    expect(await storeA.recordPreExisting(b.id, [])).toEqual([]);
    expect(await storeA.recordPreExisting(b.id, ['pg_read_all_data'])).toEqual([]);

    // Racing retries of the grant job still agree on one answer.
    const c = await createPending();
    const answers = await Promise.all([['x'], ['y'], ['z'], ['w']].map((held, i) => (i % 2 ? storeA : storeB).recordPreExisting(c.id, held)));
    expect(new Set(answers.map((h) => h.join()))).toHaveLength(1);
    expect(await storeA.preExisting(c.id)).toEqual(answers[0]);
  });

  describe('coveredElsewhere', () => {
    // Compared with the database clock, so these windows are placed around the real time.
    const principal = 'carol_cov';
    const base = { requesterId: CAROL, principal, grants: ['pg_read_all_data', 'pg_monitor'] };

    it('returns what another live request of the same principal and resource still covers, until it ends', async () => {
      const now = new Date();
      const other = await createActive(base, now);
      const mine = await createActive({ ...base, grants: ['pg_read_all_data', 'pg_write_all_data'] }, now);

      expect(await storeA.coveredElsewhere(mine, 'window')).toEqual(['pg_read_all_data']);
      expect(await storeA.coveredElsewhere(other, 'window')).toEqual(['pg_read_all_data']);

      // Revoking but not yet revoked (and the window still open by the database's clock): still covering.
      await step(other.id, (s) => startRevoke(s, 'expired', new Date(now.getTime() + 3 * HOUR)));
      expect(await storeA.coveredElsewhere(mine, 'window')).toEqual(['pg_read_all_data']);
      await step(other.id, (s) => completeRevoke(s, new Date()));
      expect(await storeA.coveredElsewhere(mine, 'window')).toEqual([]);
    });

    it('ignores expired windows, other principals, other resources, requests not yet granted, and itself', async () => {
      const now = new Date();
      const p = { ...base, principal: 'erin_cov' };
      const mine = await createPending(p);
      await createActive(p, new Date(now.getTime() - 3 * HOUR)); // window ended an hour ago
      await createActive({ ...p, principal: 'someone_else', requesterId: DAVE }, now);
      await createActive({ ...p, resource: 'billing-db', channel: 'C0APPROVE2', ...ROLE_TIMING_DEFAULTS }, now);
      const approvedOnly = await createPending(p);
      applied(await decide(approvedOnly.id, approve(BOB), now));
      expect(await storeA.coveredElsewhere(mine, 'window')).toEqual([]);
      // Past its end but not yet revoked, that grant is still ours: a new grant must not take it for
      // pre-existing access (or the late revoke would strip the new grant's role).
      expect(await storeA.coveredElsewhere(mine, 'until-revoked')).toEqual(['pg_read_all_data', 'pg_monitor']);

      const self = await createActive({ ...base, principal: 'solo_cov' }, now);
      expect(await storeA.coveredElsewhere(self, 'window')).toEqual([]);
    });

    it('does not count a grant the other request found already held: it never covered it', async () => {
      // `other` recorded pg_monitor as pre-existing, so its revoke will leave it alone. If `mine` treated it as
      // covered by `other`, mine's grant job would not record it as pre-existing either, and mine's revoke would
      // then take away access the principal had before either request.
      const now = new Date();
      const p = { ...base, principal: 'dora_cov' };
      const other = await createPending(p);
      applied(await decide(other.id, approve(BOB), now));
      await storeA.recordPreExisting(other.id, ['pg_monitor']);
      applied(await storeA.apply(other.id, (s) => activate(s.request, now)));

      const mine = await createPending(p);
      expect(await storeA.coveredElsewhere(mine, 'window')).toEqual(['pg_read_all_data']);
    });
  });
});

// ── 5. reconciliation reads and the outbox ──────────────────────────────────────────────────────────────

describe('reconciliation reads', () => {
  it('listByStatus returns the requests in those states, soonest expiry first, within the limit', async () => {
    const now = new Date();
    const later = await createActive({ principal: 'list_a' }, new Date(now.getTime() + HOUR));
    const sooner = await createActive({ principal: 'list_b' }, now);
    const pending = await createPending({ principal: 'list_c' });

    const live = await storeA.listByStatus(['active', 'revoking'], 1000);
    expect(live.every((r) => r.status === 'active' || r.status === 'revoking')).toBe(true);
    const ids = live.map((r) => r.id);
    expect(ids).toContain(later.id);
    expect(ids.indexOf(sooner.id)).toBeLessThan(ids.indexOf(later.id));
    expect(ids).not.toContain(pending.id);
    const expiries = live.map((r) => r.expiresAt!.getTime());
    expect(expiries).toEqual([...expiries].sort((x, y) => x - y));
    expect(live.find((r) => r.id === later.id)).toEqual(later);

    expect(await storeA.listByStatus(['active', 'revoking'], 1)).toHaveLength(1);
    expect((await storeA.listByStatus(['pending'], 1000)).map((r) => r.id)).toContain(pending.id);
    expect(await storeA.listByStatus([], 10)).toEqual([]);
  });

  it('listUndelivered returns undelivered notifications created strictly before the cut-off, oldest first', async () => {
    const r = await createPending();
    const denied = applied(await decide(r.id, deny(BOB), at(MINUTE)));
    expect(denied.effects.map((e) => e.type)).toEqual(['refresh-cards', 'notify-requester']);
    const notes = await notificationRows(r.id);
    expect(notes).toHaveLength(3);
    const [posted, refreshed, told] = [notes[0]!, notes[1]!, notes[2]!];

    // created_at carries microseconds; a cut-off at its millisecond is not strictly after it.
    expect(await storeA.listUndelivered(refreshed.created_at, 1000)).not.toContain(refreshed.id);
    const cutoff = new Date(told.created_at.getTime() + 1);
    expect(await storeA.markDelivered(refreshed.id)).toBe(true);
    const undelivered = await storeA.listUndelivered(cutoff, 1000);
    expect(undelivered).toContain(posted.id);
    expect(undelivered).toContain(told.id);
    expect(undelivered).not.toContain(refreshed.id);
    expect(undelivered.map(Number)).toEqual([...undelivered.map(Number)].sort((x, y) => x - y));
    expect(await storeA.listUndelivered(cutoff, 1)).toHaveLength(1);
  });
});

describe('outbox delivery', () => {
  it('notification reads a payload back; markDelivered succeeds once; failures count attempts', async () => {
    const r = await createPending();
    applied(await decide(r.id, deny(CAROL), at(MINUTE)));
    const told = (await notificationRows(r.id)).find((n) => n.payload.kind === 'notify-requester')!;

    expect(await storeA.notification(told.id)).toEqual({
      requestId: r.id,
      notification: { kind: 'notify-requester', notice: 'denied' },
      deliveredAt: null,
      abandonedAt: null,
    });
    expect(await storeA.notification('999999999')).toBeNull();

    await storeA.recordDeliveryFailure(told.id, 'ratelimited');
    await storeA.recordDeliveryFailure(told.id, 'channel_not_found');
    expect((await notificationRows(r.id)).find((n) => n.id === told.id)).toMatchObject({ attempts: 2, last_error: 'channel_not_found', delivered_at: null });

    // Two workers delivering the same notification: one wins.
    const marks = await Promise.all([storeA.markDelivered(told.id), storeB.markDelivered(told.id), storeA.markDelivered(told.id)]);
    expect(marks.filter(Boolean)).toHaveLength(1);
    expect(await storeA.markDelivered(told.id)).toBe(false);

    const row = (await notificationRows(r.id)).find((n) => n.id === told.id)!;
    expect(row).toMatchObject({ attempts: 3, last_error: null });
    expect(row.delivered_at).toBeInstanceOf(Date);
    expect((await storeA.notification(told.id))!.deliveredAt?.getTime()).toBe(row.delivered_at!.getTime());
  });

  it('abandonDelivery writes abandoned_at, the reason and the audit entry together; the row is no longer undelivered', async () => {
    const r = await createPending();
    const [posted] = await notificationRows(r.id);
    await storeA.recordDeliveryFailure(posted!.id, 'An API error occurred: service_unavailable');
    const details = { notificationId: posted!.id, kind: 'post-cards', code: 'channel_not_found', destination: 'C0GONE0001' };

    expect(await storeA.abandonDelivery(posted!.id, 'channel_not_found', { action: 'notification.abandoned', actor: 'system', details })).toEqual({
      abandoned: true,
      firstOfKind: true,
    });

    const [row] = await raw<{ abandoned_at: Date | null; abandon_reason: string | null; last_error: string | null; attempts: number; delivered_at: Date | null }[]>`
      SELECT abandoned_at, abandon_reason, last_error, attempts, delivered_at FROM notifications WHERE id = ${posted!.id}`;
    expect(row).toMatchObject({ abandon_reason: 'channel_not_found', last_error: 'channel_not_found', attempts: 2, delivered_at: null });
    expect(row!.abandoned_at).toBeInstanceOf(Date);
    expect((await storeA.notification(posted!.id))!.abandonedAt?.getTime()).toBe(row!.abandoned_at!.getTime());
    expect(await storeA.listUndelivered(new Date(Date.now() + HOUR), 1000)).not.toContain(posted!.id);
    expect((await auditRows(r.id)).at(-1)).toMatchObject({ actor: 'system', action: 'notification.abandoned', details });
    // The partial index the reconciler's query uses leaves abandoned rows out too.
    const [index] = await raw<{ indexdef: string }[]>`SELECT indexdef FROM pg_indexes WHERE indexname = 'notifications_undelivered_idx'`;
    expect(index!.indexdef).toMatch(/delivered_at IS NULL\) AND \(abandoned_at IS NULL/);
  });

  it('two workers giving up two notifications of the same request and kind at once: exactly one is the first of its kind', async () => {
    const r = await createPending({ role: 'write', grants: ['pg_write_all_data'], approvalsRequired: 2, durationMs: HOUR });
    applied(await decide(r.id, approve(BOB), at(MINUTE)));
    applied(await decide(r.id, approve(CAROL), at(2 * MINUTE)));
    const refreshes = (await notificationRows(r.id)).filter((n) => n.payload.kind === 'refresh-cards');
    expect(refreshes).toHaveLength(2);
    const audit = { action: 'notification.abandoned', actor: 'system', details: { kind: 'refresh-cards', code: 'is_archived' } };

    const outcomes = await Promise.all([
      storeA.abandonDelivery(refreshes[0]!.id, 'is_archived', audit),
      storeB.abandonDelivery(refreshes[1]!.id, 'is_archived', audit),
      storeB.abandonDelivery(refreshes[0]!.id, 'is_archived', audit),
    ]);
    expect(outcomes.filter((o) => o.abandoned)).toHaveLength(2);
    expect(outcomes.filter((o) => o.firstOfKind)).toHaveLength(1);
    expect((await auditRows(r.id)).filter((a) => a.action === 'notification.abandoned')).toHaveLength(2);
  });

  it('saveCard keeps one card per request, platform and channel; cards lists them in order', async () => {
    const r = await createPending();
    const other = await createPending();
    expect(await storeA.cards(r.id)).toEqual([]);

    await storeA.saveCard(r.id, { platform: 'slack', channel: 'C0APPROVE1', messageId: '1723000000.000100' });
    await storeA.saveCard(r.id, { platform: 'slack', channel: 'C0APPROVE1', messageId: '1723000000.000999' }); // a retried post
    await storeB.saveCard(r.id, { platform: 'slack', channel: 'C0APPROVE2', messageId: '1723000000.000200' });
    await storeA.saveCard(other.id, { platform: 'slack', channel: 'C0APPROVE1', messageId: '1723000000.000300' });

    expect(await storeA.cards(r.id)).toEqual([
      { platform: 'slack', channel: 'C0APPROVE1', messageId: '1723000000.000100' },
      { platform: 'slack', channel: 'C0APPROVE2', messageId: '1723000000.000200' },
    ]);
    const [row] = await raw<{ n: number }[]>`SELECT count(*)::int AS n FROM chat_messages WHERE request_id = ${r.id}`;
    expect(row!.n).toBe(2);
  });
});

// ── 6. the audit log ────────────────────────────────────────────────────────────────────────────────────

describe('audit log', () => {
  it('audit appends entries with or without a request', async () => {
    const r = await createPending();
    await storeA.audit({ action: 'decision.refused', actor: MALLORY, details: { code: 'NOT_AN_APPROVER' } }, r.id);
    await storeA.audit({ action: 'policy.reloaded', actor: 'system', details: { version: 1 } });
    expect((await auditRows(r.id)).map((a) => [a.action, a.actor, a.details])).toEqual([
      ['request.submitted', ALICE, expect.any(Object)],
      ['decision.refused', MALLORY, { code: 'NOT_AN_APPROVER' }],
    ]);
    const orphans = await raw<AuditRow[]>`SELECT id::text, action, details FROM audit_events WHERE request_id IS NULL AND action = 'policy.reloaded'`;
    expect(orphans).toEqual([expect.objectContaining({ details: { version: 1 } })]);
  });

  it('is append-only at the database: UPDATE, DELETE and TRUNCATE are refused', async () => {
    const r = await createPending();
    const [entry] = await auditRows(r.id);
    const refusedBy = { code: '42501', message: expect.stringContaining('audit_events is append-only') };

    await expect(raw`UPDATE audit_events SET actor = 'someone-else' WHERE id = ${entry!.id}`).rejects.toMatchObject(refusedBy);
    await expect(raw`DELETE FROM audit_events WHERE id = ${entry!.id}`).rejects.toMatchObject(refusedBy);
    await expect(raw`DELETE FROM audit_events`).rejects.toMatchObject(refusedBy);
    await expect(raw`TRUNCATE audit_events`).rejects.toMatchObject(refusedBy);
    // Through the application's own client too.
    await expect(handleA.sql`DELETE FROM audit_events WHERE request_id = ${r.id}`).rejects.toMatchObject(refusedBy);

    expect(await auditRows(r.id)).toEqual([entry]);
  });
});
