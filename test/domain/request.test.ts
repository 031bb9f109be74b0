import { describe, it, expect } from 'vitest';
import { requestDraft } from '../support/request-draft.js';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import type { Policy } from '../../src/domain/policy.js';
import { DEFAULT_APPROVAL_GRACE_MS, ROLE_TIMING_DEFAULTS } from '../../src/domain/policy.js';
import type { DomainError, Result } from '../../src/domain/errors.js';
import {
  REVOKE_ALERT_THRESHOLD,
  SYSTEM_ACTOR,
  activate,
  completeRevoke,
  denyMayOverride,
  failGrant,
  isOverdue,
  recordRevokeFailure,
  review,
  startGrant,
  startRevoke,
  submit,
  type AccessRequest,
  type Decision,
  type Effect,
  type NewRequest,
  type ReviewInput,
  type Transition,
} from '../../src/domain/request.js';

const ALICE = 'U0ALICE01';
const BOB = 'U0BOB0002';
const CAROL = 'U0CAROL03';
const MALLORY = 'U0MALL005';

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
        read: { grants: ['pg_read_all_data'], maxDurationMs: 4 * HOUR, approvers: { users: [BOB, CAROL] }, approvals: 1, channel: 'C0APPROVE1', ...ROLE_TIMING_DEFAULTS },
        write: { grants: ['pg_write_all_data'], maxDurationMs: 1 * HOUR, approvers: { users: [BOB, CAROL] }, approvals: 2, channel: 'C0APPROVE1', ...ROLE_TIMING_DEFAULTS },
      },
    },
  },
};

function newRequest(patch: Partial<NewRequest> = {}): NewRequest {
  return requestDraft({ createdAt: T0, ...patch });
}

/** Unwraps a result the test expects to succeed, failing with the domain error otherwise. */
function must(result: Result<Transition>): Transition {
  if (!result.ok) throw new Error(`expected a transition, got ${JSON.stringify(result.error)}`);
  return result.value;
}

const approve = (deciderId: string): ReviewInput => ({ deciderId, outcome: 'approve', reason: null });
const deny = (deciderId: string, reason: string | null = 'not during the freeze'): ReviewInput => ({ deciderId, outcome: 'deny', reason });
const approval = (approverId: string): Decision => ({ approverId, outcome: 'approve', reason: null, at: T0 });

// Requests in each state, reached through the real transitions rather than built by hand.
const pending = (patch: Partial<NewRequest> = {}): AccessRequest => submit(newRequest(patch)).next;
const approved = (): AccessRequest => must(review(pending(), [], policy, approve(BOB), at(MINUTE))).next;
const denied = (): AccessRequest => must(review(pending(), [], policy, deny(BOB), at(MINUTE))).next;
const active = (): AccessRequest => must(activate(approved(), at(2 * MINUTE))).next;
/** Granted at T0+2m for 2h, so it expires at this instant. */
const EXPIRES_AT = at(2 * MINUTE + 2 * HOUR);
const revoking = (failures = 0): AccessRequest => {
  let request = must(startRevoke(active(), 'expired', EXPIRES_AT)).next;
  for (let i = 0; i < failures; i++) request = must(recordRevokeFailure(request, `connection refused #${i + 1}`)).next;
  return request;
};
const revoked = (): AccessRequest => must(completeRevoke(revoking(), EXPIRES_AT)).next;
const failed = (): AccessRequest => must(failGrant(approved(), 'role does not exist', at(2 * MINUTE))).next;

const alerts = (effects: Effect[]): Effect[] => effects.filter((e) => e.type === 'alert-approvers');

describe('submit', () => {
  it.each([
    ['one approval required', 1],
    ['two approvals required', 2],
  ])('%s: the request waits for approvers with its cards posted', (_label, approvalsRequired) => {
    const { next, audit, effects, decision } = submit(newRequest({ approvalsRequired }));
    expect(next).toMatchObject({
      status: 'pending',
      version: 1,
      approvalsRequired,
      decidedAt: null,
      grantedAt: null,
      expiresAt: null,
      revokedAt: null,
      revokeReason: null,
      revokeAttempts: 0,
      lastError: null,
    });
    // The expiry check is the only one: this request's role sends no reminder (remindAt null).
    expect(effects).toEqual([{ type: 'post-cards' }, { type: 'schedule-check', check: 'expire', at: next.pendingUntil }]);
    expect(audit).toEqual({
      action: 'request.submitted',
      actor: ALICE,
      details: { resource: 'prod-db', role: 'read', durationMs: 2 * HOUR, reason: 'INC-4821 hotfix' },
    });
    expect(decision).toBeUndefined();
  });
});

describe('review: decisions that move the request', () => {
  const now = at(MINUTE);
  it.each([
    {
      label: 'one approval required: the first approval approves and schedules the grant',
      request: pending({ approvalsRequired: 1 }),
      decisions: [] as Decision[],
      input: approve(BOB),
      status: 'approved',
      decidedAt: now,
      action: 'request.approved',
      effects: [{ type: 'refresh-cards' }, { type: 'schedule-grant', at: new Date(now.getTime() + DEFAULT_APPROVAL_GRACE_MS) }],
    },
    {
      label: 'two approvals required: the first approval is recorded and the request stays pending',
      request: pending({ role: 'write', approvalsRequired: 2 }),
      decisions: [] as Decision[],
      input: approve(BOB),
      status: 'pending',
      decidedAt: null,
      action: 'request.approval-recorded',
      effects: [{ type: 'refresh-cards' }],
    },
    {
      label: 'two approvals required: a second, distinct approver approves',
      request: pending({ role: 'write', approvalsRequired: 2 }),
      decisions: [approval(BOB)],
      input: approve(CAROL),
      status: 'approved',
      decidedAt: now,
      action: 'request.approved',
      effects: [{ type: 'refresh-cards' }, { type: 'schedule-grant', at: new Date(now.getTime() + DEFAULT_APPROVAL_GRACE_MS) }],
    },
    {
      label: 'a deny ends the request and tells the requester',
      request: pending({ approvalsRequired: 1 }),
      decisions: [] as Decision[],
      input: deny(BOB),
      status: 'denied',
      decidedAt: now,
      action: 'request.denied',
      effects: [{ type: 'refresh-cards' }, { type: 'notify-requester', notice: 'denied' }],
    },
    {
      label: 'a deny after one of two approvals still ends the request',
      request: pending({ role: 'write', approvalsRequired: 2 }),
      decisions: [approval(BOB)],
      input: deny(CAROL),
      status: 'denied',
      decidedAt: now,
      action: 'request.denied',
      effects: [{ type: 'refresh-cards' }, { type: 'notify-requester', notice: 'denied' }],
    },
  ])('$label', ({ request, decisions, input, status, decidedAt, action, effects }) => {
    const t = must(review(request, decisions, policy, input, now));
    expect(t.next.status).toBe(status);
    expect(t.next.version).toBe(request.version + 1);
    expect(t.next.decidedAt).toEqual(decidedAt);
    expect(t.effects).toEqual(effects);
    expect(t.audit.action).toBe(action);
    expect(t.audit.actor).toBe(input.deciderId);
    expect(t.decision).toEqual({ approverId: input.deciderId, outcome: input.outcome, reason: input.reason, at: now });
  });

  it.each([
    ['the first of two', [] as Decision[], BOB, { approvals: 1, required: 2 }],
    ['the second of two', [approval(BOB)], CAROL, { approvals: 2, required: 2, grantAfter: at(MINUTE + DEFAULT_APPROVAL_GRACE_MS).toISOString() }],
  ])('the audit counts approvals: %s', (_label, decisions, deciderId, details) => {
    const t = must(review(pending({ role: 'write', approvalsRequired: 2 }), decisions, policy, approve(deciderId), at(MINUTE)));
    expect(t.audit.details).toEqual(details);
  });
});

describe('review: deny beats approve until the grant starts', () => {
  const approvedAt = at(MINUTE);
  const grantAfter = new Date(approvedAt.getTime() + DEFAULT_APPROVAL_GRACE_MS);
  const claimed = (): AccessRequest => must(startGrant(approved(), grantAfter)).next;

  it('the deciding approval sets the grant after the role’s grace and schedules the grant job then', () => {
    const t = must(review(pending(), [], policy, approve(BOB), approvedAt));
    expect(t.next).toMatchObject({ status: 'approved', decidedAt: approvedAt, grantAfter, grantStartedAt: null });
    expect(t.effects).toContainEqual({ type: 'schedule-grant', at: grantAfter });
    expect(denyMayOverride(t.next)).toBe(true);
  });

  it.each([
    ['approval_grace: 30s', 30_000, 30_000],
    ['approval_grace: off', 0, 0],
  ])('%s: the grant is due that long after the approval', (_label, graceMs, expectedMs) => {
    const role = policy.resources['prod-db']!.roles.read!;
    const custom: Policy = { ...policy, resources: { 'prod-db': { ...policy.resources['prod-db']!, roles: { read: { ...role, approvalGraceMs: graceMs } } } } };
    const t = must(review(pending(), [], custom, approve(BOB), approvedAt));
    expect(t.next.grantAfter).toEqual(new Date(approvedAt.getTime() + expectedMs));
  });

  it('a deny inside the grace ends the approved request: denied, no grant, the requester told, the overridden approvals audited', () => {
    const t = must(review(approved(), [approval(BOB)], policy, deny(CAROL, 'change freeze'), at(MINUTE + 1_000)));
    expect(t.next).toMatchObject({ status: 'denied', decidedAt: at(MINUTE + 1_000), grantAfter: null });
    expect(t.effects).toEqual([{ type: 'refresh-cards' }, { type: 'notify-requester', notice: 'denied' }]);
    expect(t.audit).toEqual({ action: 'request.denied', actor: CAROL, details: { reason: 'change freeze', overrodeApprovals: [BOB] } });
    expect(t.decision).toMatchObject({ approverId: CAROL, outcome: 'deny' });
  });

  it('a deny after the grace but before a worker claimed the request still wins (the claim, not the clock, decides)', () => {
    const late = new Date(grantAfter.getTime() + HOUR);
    expect(must(review(approved(), [approval(BOB)], policy, deny(CAROL), late)).next.status).toBe('denied');
  });

  it('once the grant job has claimed the request, a deny is refused and the request is left as it was', () => {
    const request = claimed();
    expect(request).toMatchObject({ status: 'approved', grantStartedAt: grantAfter });
    expect(denyMayOverride(request)).toBe(false);
    const result = review(request, [approval(BOB)], policy, deny(CAROL), at(MINUTE + 2_000));
    expect(result).toEqual({ ok: false, error: { code: 'NOT_PENDING', requestId: request.id, status: 'approved', decidedBy: [BOB] } });
  });

  it('a late approval adds nothing: refused as NOT_PENDING, in the grace too', () => {
    const result = review(approved(), [approval(BOB)], policy, approve(CAROL), at(MINUTE + 1_000));
    expect(result).toMatchObject({ ok: false, error: { code: 'NOT_PENDING', status: 'approved' } });
  });

  it('the approver who approved cannot turn it into a deny: one decision per person', () => {
    expect(review(approved(), [approval(BOB)], policy, deny(BOB), at(MINUTE + 1_000))).toEqual({
      ok: false,
      error: { code: 'ALREADY_DECIDED', requestId: 'req_01', outcome: 'approve' },
    });
  });

  it('the deciders are checked first: someone who may not decide cannot deny in the grace either', () => {
    expect(review(approved(), [approval(BOB)], policy, deny(MALLORY), at(MINUTE + 1_000))).toMatchObject({ ok: false, error: { code: 'NOT_AN_APPROVER' } });
    expect(review(approved(), [approval(BOB)], policy, deny(ALICE), at(MINUTE + 1_000))).toMatchObject({ ok: false, error: { code: 'SELF_APPROVAL' } });
  });

  it('startGrant claims once: a second claim, or a claim of a denied request, is refused', () => {
    expect(must(startGrant(approved(), grantAfter)).audit).toEqual({ action: 'grant.started', actor: SYSTEM_ACTOR, details: {} });
    expect(startGrant(claimed(), grantAfter)).toMatchObject({ ok: false, error: { code: 'NOT_IN_STATE' } });
    expect(startGrant(denied(), grantAfter)).toMatchObject({ ok: false, error: { code: 'NOT_IN_STATE', status: 'denied' } });
  });
});

describe('review: refusals leave the request as it was', () => {
  it.each<{ label: string; request: AccessRequest; decisions: Decision[]; input: ReviewInput; error: DomainError }>([
    {
      label: 'the same approver twice',
      request: pending({ role: 'write', approvalsRequired: 2 }),
      decisions: [approval(BOB)],
      input: approve(BOB),
      error: { code: 'ALREADY_DECIDED', requestId: 'req_01', outcome: 'approve' },
    },
    {
      label: 'an approver who approved tries to deny',
      request: pending({ role: 'write', approvalsRequired: 2 }),
      decisions: [approval(BOB)],
      input: deny(BOB),
      error: { code: 'ALREADY_DECIDED', requestId: 'req_01', outcome: 'approve' },
    },
    {
      label: 'a click on an approved request',
      request: approved(),
      decisions: [approval(BOB)],
      input: approve(CAROL),
      error: { code: 'NOT_PENDING', requestId: 'req_01', status: 'approved', decidedBy: [BOB] },
    },
    {
      label: 'a click on a denied request',
      request: denied(),
      decisions: [{ ...approval(BOB), outcome: 'deny' }],
      input: approve(CAROL),
      error: { code: 'NOT_PENDING', requestId: 'req_01', status: 'denied', decidedBy: [BOB] },
    },
    {
      label: 'a click on an active request',
      request: active(),
      decisions: [approval(BOB)],
      input: deny(CAROL),
      error: { code: 'NOT_PENDING', requestId: 'req_01', status: 'active', decidedBy: [BOB] },
    },
    {
      label: 'a requester who is also an approver approves their own request',
      request: pending({ requesterId: BOB }),
      decisions: [],
      input: approve(BOB),
      error: { code: 'SELF_APPROVAL', requestId: 'req_01' },
    },
    {
      label: 'the requester denies their own request',
      request: pending(),
      decisions: [],
      input: deny(ALICE),
      error: { code: 'SELF_APPROVAL', requestId: 'req_01' },
    },
    {
      label: 'someone who is not an approver',
      request: pending(),
      decisions: [],
      input: approve(MALLORY),
      error: { code: 'NOT_AN_APPROVER', requestId: 'req_01' },
    },
  ])('$label', ({ request, decisions, input, error }) => {
    const before = structuredClone(request);
    expect(review(request, decisions, policy, input, at(MINUTE))).toEqual({ ok: false, error });
    expect(request).toEqual(before);
  });
});

describe('activate', () => {
  it.each([
    ['a 2h window', 2 * HOUR],
    ['a 15m window', 15 * MINUTE],
  ])('approved → active for %s, with the revoke scheduled at expiry', (_label, durationMs) => {
    const request = must(review(pending({ durationMs }), [], policy, approve(BOB), at(MINUTE))).next;
    const now = at(5 * MINUTE);
    const expiresAt = new Date(now.getTime() + durationMs);
    const t = must(activate(request, now));
    expect(t.next).toMatchObject({ status: 'active', grantedAt: now, expiresAt, version: request.version + 1 });
    expect(t.effects).toEqual([
      { type: 'schedule-revoke', at: expiresAt },
      { type: 'notify-requester', notice: 'granted' },
      { type: 'refresh-cards' },
    ]);
    expect(t.audit).toEqual({
      action: 'grant.activated',
      actor: SYSTEM_ACTOR,
      details: { grants: ['pg_read_all_data'], principal: 'alice', expiresAt: expiresAt.toISOString() },
    });
  });

  it.each([
    ['pending', pending],
    ['denied', denied],
    ['active', active],
    ['revoking', () => revoking()],
    ['revoked', revoked],
    ['failed', failed],
  ])('refuses a %s request', (status, make) => {
    expect(activate(make(), at(5 * MINUTE))).toEqual({
      ok: false,
      error: { code: 'NOT_IN_STATE', requestId: 'req_01', status, expected: ['approved'] },
    });
  });
});

describe('failGrant', () => {
  it('approved → failed, keeping the error and telling the requester', () => {
    const request = approved();
    const now = at(2 * MINUTE);
    const t = must(failGrant(request, 'role "pg_read_all_data" does not exist', now));
    expect(t.next).toMatchObject({ status: 'failed', lastError: 'role "pg_read_all_data" does not exist', version: request.version + 1 });
    expect(t.effects).toEqual([{ type: 'notify-requester', notice: 'grant-failed' }, { type: 'refresh-cards' }]);
    expect(t.audit).toEqual({ action: 'grant.failed', actor: SYSTEM_ACTOR, details: { error: 'role "pg_read_all_data" does not exist' } });
  });

  it.each([
    ['pending', pending],
    ['active', active],
    ['failed', failed],
  ])('refuses a %s request', (status, make) => {
    expect(failGrant(make(), 'boom', at(2 * MINUTE))).toEqual({
      ok: false,
      error: { code: 'NOT_IN_STATE', requestId: 'req_01', status, expected: ['approved'] },
    });
  });
});

describe('startRevoke', () => {
  it.each([
    ['exactly at expiry', EXPIRES_AT],
    ['after expiry (a late job)', at(2 * MINUTE + 3 * HOUR)],
  ])('active → revoking %s', (_label, now) => {
    const request = active();
    const t = must(startRevoke(request, 'expired', now));
    expect(t.next).toMatchObject({ status: 'revoking', revokeReason: 'expired', version: request.version + 1 });
    expect(t.effects).toEqual([]);
    expect(t.audit).toEqual({ action: 'revoke.started', actor: SYSTEM_ACTOR, details: { reason: 'expired' } });
  });

  it.each([
    ['one millisecond early', new Date(EXPIRES_AT.getTime() - 1)],
    ['right after the grant', at(2 * MINUTE)],
  ])('an expiry revoke %s is NOT_DUE', (_label, now) => {
    expect(startRevoke(active(), 'expired', now)).toEqual({
      ok: false,
      error: { code: 'NOT_DUE', requestId: 'req_01', expiresAt: EXPIRES_AT },
    });
  });

  it.each([
    ['pending', pending],
    ['approved', approved],
    ['revoking', () => revoking()],
    ['revoked', revoked],
    ['denied', denied],
  ])('refuses a %s request', (status, make) => {
    expect(startRevoke(make(), 'expired', EXPIRES_AT)).toEqual({
      ok: false,
      error: { code: 'NOT_IN_STATE', requestId: 'req_01', status, expected: ['active'] },
    });
  });
});

describe('recordRevokeFailure', () => {
  const failures = [1, 2, 3, 4, 5, 6].map((n) => [n, n === REVOKE_ALERT_THRESHOLD] as const);

  it.each(failures)('failure #%i alerts the approvers: %s', (n, alerted) => {
    const request = revoking(n - 1);
    const t = must(recordRevokeFailure(request, 'connection refused'));
    expect(t.next).toMatchObject({ status: 'revoking', revokeAttempts: n, lastError: 'connection refused', version: request.version + 1 });
    expect(t.audit).toEqual({ action: 'revoke.attempt-failed', actor: SYSTEM_ACTOR, details: { attempt: n, error: 'connection refused' } });
    expect(t.effects).toEqual(alerted ? [{ type: 'alert-approvers', alert: 'revoke-failing' }, { type: 'refresh-cards' }] : []);
  });

  it('a long failing streak alerts exactly once', () => {
    let request = revoking();
    const sent: Effect[] = [];
    for (let i = 0; i < REVOKE_ALERT_THRESHOLD * 3; i++) {
      const t = must(recordRevokeFailure(request, 'timeout'));
      sent.push(...alerts(t.effects));
      request = t.next;
    }
    expect(sent).toEqual([{ type: 'alert-approvers', alert: 'revoke-failing' }]);
  });

  it.each([
    ['active', active],
    ['revoked', revoked],
  ])('refuses a %s request', (status, make) => {
    expect(recordRevokeFailure(make(), 'boom')).toEqual({
      ok: false,
      error: { code: 'NOT_IN_STATE', requestId: 'req_01', status, expected: ['revoking'] },
    });
  });
});

describe('completeRevoke', () => {
  const streaks = [0, 1, 2, 3, 4].map((n) => [n, n >= REVOKE_ALERT_THRESHOLD] as const);

  it.each(streaks)('after %i failures: revoked, and the approvers hear it recovered: %s', (n, recovered) => {
    const request = revoking(n);
    const now = at(3 * HOUR);
    const t = must(completeRevoke(request, now));
    expect(t.next).toMatchObject({ status: 'revoked', revokedAt: now, lastError: null, version: request.version + 1 });
    expect(t.effects).toEqual([
      { type: 'notify-requester', notice: 'revoked' },
      { type: 'refresh-cards' },
      ...(recovered ? [{ type: 'alert-approvers', alert: 'revoke-recovered' }] : []),
    ]);
    expect(t.audit).toEqual({ action: 'revoke.completed', actor: SYSTEM_ACTOR, details: { reason: 'expired', attempts: n + 1 } });
  });

  it.each([
    ['active', active],
    ['revoked', revoked],
    ['failed', failed],
  ])('refuses a %s request', (status, make) => {
    expect(completeRevoke(make(), at(3 * HOUR))).toEqual({
      ok: false,
      error: { code: 'NOT_IN_STATE', requestId: 'req_01', status, expected: ['revoking'] },
    });
  });
});

describe('isOverdue', () => {
  it.each([
    ['pending', pending, EXPIRES_AT, false],
    ['active before expiry', active, at(2 * MINUTE), false],
    ['active at expiry', active, EXPIRES_AT, true],
    ['revoking after expiry', () => revoking(), at(3 * HOUR), true],
    ['revoked after expiry', revoked, at(3 * HOUR), false],
  ])('%s → %s', (_label, make, now, expected) => {
    expect(isOverdue(make(), now)).toBe(expected);
  });
});

describe('every successful transition increments version by exactly 1 and leaves its input untouched', () => {
  it.each<[string, () => AccessRequest, (r: AccessRequest) => Result<Transition>]>([
    ['review: approval recorded', () => pending({ role: 'write', approvalsRequired: 2 }), (r) => review(r, [], policy, approve(BOB), at(MINUTE))],
    ['review: approved', pending, (r) => review(r, [], policy, approve(BOB), at(MINUTE))],
    ['review: denied', pending, (r) => review(r, [], policy, deny(BOB), at(MINUTE))],
    ['activate', approved, (r) => activate(r, at(2 * MINUTE))],
    ['failGrant', approved, (r) => failGrant(r, 'boom', at(2 * MINUTE))],
    ['startRevoke', active, (r) => startRevoke(r, 'expired', EXPIRES_AT)],
    ['recordRevokeFailure', () => revoking(), (r) => recordRevokeFailure(r, 'boom')],
    ['completeRevoke', () => revoking(), (r) => completeRevoke(r, EXPIRES_AT)],
    ['completeRevoke after a failing streak', () => revoking(REVOKE_ALERT_THRESHOLD), (r) => completeRevoke(r, EXPIRES_AT)],
  ])('%s', (_label, make, transition) => {
    const request = make();
    const before = structuredClone(request);
    const t = must(transition(request));
    expect(t.next.version).toBe(before.version + 1);
    expect(request).toEqual(before);
  });

  it('a full lifecycle walks versions 1, 2, 3, … with one per step', () => {
    const steps: AccessRequest[] = [];
    let request = submit(newRequest({ role: 'write', approvalsRequired: 2 })).next;
    steps.push(request);
    const decisions: Decision[] = [];
    for (const approver of [BOB, CAROL]) {
      const t = must(review(request, decisions, policy, approve(approver), at(MINUTE)));
      decisions.push(t.decision!);
      steps.push((request = t.next));
    }
    steps.push((request = must(activate(request, at(2 * MINUTE))).next));
    steps.push((request = must(startRevoke(request, 'expired', EXPIRES_AT)).next));
    for (let i = 0; i < REVOKE_ALERT_THRESHOLD; i++) steps.push((request = must(recordRevokeFailure(request, 'boom')).next));
    steps.push((request = must(completeRevoke(request, EXPIRES_AT)).next));

    expect(steps.map((s) => s.version)).toEqual(steps.map((_, i) => i + 1));
    expect(steps.map((s) => s.status)).toEqual([
      'pending',
      'pending',
      'approved',
      'active',
      'revoking',
      ...Array<string>(REVOKE_ALERT_THRESHOLD).fill('revoking'),
      'revoked',
    ]);
  });
});
