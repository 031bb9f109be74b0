import { describe, expect, it } from 'vitest';
import { DAY, HOUR, MINUTE } from '../../src/domain/duration.js';
import { evaluate, type EvaluatedRequest, type Evaluation } from '../../src/domain/evaluate.js';
import { ROLE_TIMING_DEFAULTS, type BusinessHours, type Policy, type RolePolicy } from '../../src/domain/policy.js';
import { autoApprove, denyMayOverride, submit, type NewRequest } from '../../src/domain/request.js';
import type { HistoryEntry } from '../../src/domain/risk.js';

const ALICE = 'U0ALICE01';
const BOB = 'U0BOB0002';
const CAROL = 'U0CAROL03';
const DAVE = 'U0DAVE004';

const WED_NOON_PARIS = new Date('2025-08-06T10:00:00Z');
const SAT_NOON_PARIS = new Date('2025-08-09T10:00:00Z');
const ago = (ms: number, now = WED_NOON_PARIS): Date => new Date(now.getTime() - ms);
const PARIS: BusinessHours = { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '18:00', tz: 'Europe/Paris' };

const role = (over: Partial<RolePolicy> = {}): RolePolicy => ({
  grants: ['app_read'],
  maxDurationMs: 4 * HOUR,
  approvers: { users: [BOB, CAROL, DAVE] },
  approvals: 1,
  channel: 'C0APPROVE1',
  ...ROLE_TIMING_DEFAULTS,
  ...over,
});

const policy: Policy = {
  version: 1,
  admins: [],
  principals: {},
  resources: {
    'prod-db': {
      provider: 'postgres',
      settings: {},
      principal: 'email-local-part',
      roles: {
        plain: role(),
        open: role({ autoApprove: {} }),
        read: role({ autoApprove: { maxDurationMs: HOUR, businessHours: PARIS, maxPerDay: 2 } }),
        write: role({
          autoApprove: { maxDurationMs: 15 * MINUTE },
          risk: { high: false, usualDurationMs: 30 * MINUTE, burst: { count: 3, withinMs: 10 * MINUTE }, flaggedApprovals: 2 },
        }),
        admin: role({ approvals: 2, risk: { high: true, flaggedApprovals: 3 } }),
        pair: role({ approvals: 2, risk: { high: true, flaggedApprovals: 1 } }),
        ticketed: role({ justification: { minLength: 12, ticketPattern: '(INC|CHG)-\\d+' } }),
      },
    },
  },
};

const ask = (roleName: string, over: Partial<EvaluatedRequest> = {}): EvaluatedRequest => ({
  requesterId: ALICE,
  resource: 'prod-db',
  role: roleName,
  durationMs: 30 * MINUTE,
  reason: 'INC-4821 hotfix on the orders table',
  ...over,
});
const before = (createdAt: Date, over: Partial<HistoryEntry> = {}): HistoryEntry => ({ resource: 'prod-db', role: 'read', createdAt, autoApproved: false, ...over });
/** Asked for prod-db last month: no first-request flag. */
const regular = [before(ago(30 * DAY), { role: 'plain' })];
const autoToday = (n: number, role = 'read', at = HOUR) => Array.from({ length: n }, (_, i) => before(ago(at + i * MINUTE), { role, autoApproved: true }));

/** The verdict without the role policy, which every non-deny verdict carries. */
function verdict(e: Evaluation): unknown {
  if (e.outcome === 'deny') return { deny: e.error.code };
  if (e.outcome === 'auto-approve') return { auto: e.rule };
  return { approvals: e.approvals, flags: e.flags.map((f) => f.code), notAuto: e.notAutoApproved };
}

describe('evaluate: refusals', () => {
  it.each<[string, EvaluatedRequest, string]>([
    ['an unknown resource', ask('read', { resource: 'staging-db' }), 'UNKNOWN_RESOURCE'],
    ['an unknown role', ask('superuser'), 'UNKNOWN_ROLE'],
    ['longer than the role allows, even where auto-approval would apply', ask('open', { durationMs: 4 * HOUR + 1 }), 'DURATION_TOO_LONG'],
    ['a reason shorter than min_length once trimmed', ask('ticketed', { reason: '   INC-1 x     ' }), 'REASON_TOO_SHORT'],
    ['a long reason without a ticket', ask('ticketed', { reason: 'the orders table needs a hotfix' }), 'TICKET_REQUIRED'],
    ['a ticket-like word that does not match', ask('ticketed', { reason: 'INC-abc the orders table' }), 'TICKET_REQUIRED'],
  ])('%s', (_label, request, code) => {
    expect(verdict(evaluate(policy, request, regular, WED_NOON_PARIS))).toEqual({ deny: code });
  });
});

describe('evaluate: who decides', () => {
  const READ_RULE = 'prod-db/read auto_approve (up to 1h; Mon–Fri 09:00–18:00 Europe/Paris; at most 2 per 24h)';
  it.each<[string, EvaluatedRequest, HistoryEntry[], Date, unknown]>([
    ['a role without rules: its approvers, nothing flagged', ask('plain'), [], WED_NOON_PARIS, { approvals: 1, flags: [], notAuto: null }],
    ['a ticket anywhere in the reason is enough', ask('ticketed', { reason: 'fix for CHG-12 rollout' }), [], WED_NOON_PARIS, { approvals: 1, flags: [], notAuto: null }],
    ['auto_approve with no conditions', ask('open'), [], SAT_NOON_PARIS, { auto: 'prod-db/open auto_approve (no conditions)' }],
    ['auto_approve: every condition holds', ask('read'), [], WED_NOON_PARIS, { auto: READ_RULE }],
    ['auto_approve: at exactly its max_duration', ask('read', { durationMs: HOUR }), [], WED_NOON_PARIS, { auto: READ_RULE }],
    ['auto_approve: longer than its max_duration', ask('read', { durationMs: 2 * HOUR }), [], WED_NOON_PARIS, { approvals: 1, flags: [], notAuto: 'duration' }],
    ['auto_approve: outside its business hours', ask('read'), [], SAT_NOON_PARIS, { approvals: 1, flags: [], notAuto: 'outside-business-hours' }],
    ['rate brake: below max_per_day', ask('read'), autoToday(1), WED_NOON_PARIS, { auto: READ_RULE }],
    ['rate brake: max_per_day reached in the last 24h', ask('read'), autoToday(2), WED_NOON_PARIS, { approvals: 1, flags: [], notAuto: 'daily-limit' }],
    ['rate brake: a rolling window, not a calendar day', ask('read'), [...autoToday(1), ...autoToday(1, 'read', DAY + MINUTE)], WED_NOON_PARIS, { auto: READ_RULE }],
    ['rate brake: counts this role only', ask('read'), autoToday(5, 'open'), WED_NOON_PARIS, { auto: READ_RULE }],
    ['rate brake: counts auto-approvals only', ask('read'), [before(ago(HOUR)), before(ago(2 * HOUR))], WED_NOON_PARIS, { auto: READ_RULE }],
    ['flagged (first request): never auto-approved, flagged_approvals needed', ask('write', { durationMs: 10 * MINUTE }), [], WED_NOON_PARIS, { approvals: 2, flags: ['first-request'], notAuto: 'flagged' }],
    ['unflagged: the same role auto-approves', ask('write', { durationMs: 10 * MINUTE }), regular, WED_NOON_PARIS, { auto: 'prod-db/write auto_approve (up to 15m)' }],
    ['flagged as longer than usual', ask('write', { durationMs: HOUR }), regular, WED_NOON_PARIS, { approvals: 2, flags: ['long-duration'], notAuto: 'flagged' }],
    [
      'flagged as a burst',
      ask('write', { durationMs: 10 * MINUTE }),
      [...regular, before(ago(2 * MINUTE), { role: 'open' }), before(ago(MINUTE), { role: 'plain' })],
      WED_NOON_PARIS,
      { approvals: 2, flags: ['burst'], notAuto: 'flagged' },
    ],
    ['a high-risk role needs flagged_approvals', ask('admin'), regular, WED_NOON_PARIS, { approvals: 3, flags: ['high-risk-role'], notAuto: null }],
    ['flagged_approvals below approvals never lowers them', ask('pair'), regular, WED_NOON_PARIS, { approvals: 2, flags: ['high-risk-role'], notAuto: null }],
  ])('%s', (_label, request, history, now, expected) => {
    expect(verdict(evaluate(policy, request, history, now))).toEqual(expected);
  });

  it('hands back the role policy with its verdict', () => {
    const e = evaluate(policy, ask('read'), [], WED_NOON_PARIS);
    expect(e.outcome !== 'deny' && e.rolePolicy).toBe(policy.resources['prod-db']?.roles.read);
  });
});

describe('autoApprove', () => {
  const draft: NewRequest = {
    id: 'req_auto1',
    extendsId: null,
    platform: 'slack',
    requesterId: ALICE,
    principal: 'alice',
    resource: 'prod-db',
    role: 'read',
    grants: ['app_read'],
    durationMs: 30 * MINUTE,
    reason: 'INC-1 check',
    approvalsRequired: 1,
    channel: 'C0APPROVE1',
    createdAt: WED_NOON_PARIS,
    pendingUntil: new Date(WED_NOON_PARIS.getTime() + DAY),
    remindAt: new Date(WED_NOON_PARIS.getTime() + HOUR),
    warnBeforeMs: 0,
    escalateAt: null,
    escalationChannel: null,
  };

  it('approves a just-submitted request at once: record card, grant job, no reminders, audited with the rule', () => {
    const pending = submit(draft).next;
    expect(pending).toMatchObject({ flags: [], autoApprovedBy: null });
    const result = autoApprove(pending, 'prod-db/read auto_approve (up to 1h)', WED_NOON_PARIS);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.next).toMatchObject({
      status: 'approved',
      version: pending.version + 1,
      decidedAt: WED_NOON_PARIS,
      autoApprovedBy: 'prod-db/read auto_approve (up to 1h)',
    });
    expect(result.value.effects).toEqual([{ type: 'post-cards' }, { type: 'schedule-grant', at: WED_NOON_PARIS }]);
    // No approver, no grace: due at once, and no deny can override an auto-approval.
    expect(result.value.next.grantAfter).toEqual(WED_NOON_PARIS);
    expect(denyMayOverride(result.value.next)).toBe(false);
    expect(result.value.decision).toBeUndefined();
    expect(result.value.audit).toEqual({
      action: 'request.auto-approved',
      actor: ALICE,
      details: { resource: 'prod-db', role: 'read', durationMs: 30 * MINUTE, reason: 'INC-1 check', rule: 'prod-db/read auto_approve (up to 1h)' },
    });
  });

  it('refuses a request that is no longer pending', () => {
    const cancelled = { ...submit(draft).next, status: 'cancelled' as const };
    expect(autoApprove(cancelled, 'rule', WED_NOON_PARIS)).toMatchObject({ ok: false, error: { code: 'NOT_IN_STATE' } });
  });

  it('never auto-approves a flagged request', () => {
    const flagged = submit({ ...draft, flags: [{ code: 'high-risk-role', reason: 'marked high-risk' }] }).next;
    expect(flagged.flags).toHaveLength(1);
    expect(() => autoApprove(flagged, 'rule', WED_NOON_PARIS)).toThrow(/never auto-approved/);
  });

  it('records the flags of a submitted request in its audit entry', () => {
    const t = submit({ ...draft, flags: [{ code: 'burst', reason: '3 requests' }] });
    expect(t.audit.details).toMatchObject({ flags: ['burst'] });
    expect(submit(draft).audit.details).not.toHaveProperty('flags');
  });
});
