/**
 * Break-glass (`breakGlass`, `acknowledge`) and the `auto_approve.groups` condition of the policy engine.
 */
import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import type { DomainError, Result } from '../../src/domain/errors.js';
import { evaluate, type EvaluatedRequest } from '../../src/domain/evaluate.js';
import { ROLE_TIMING_DEFAULTS, policyGroups, type Policy, type RolePolicy } from '../../src/domain/policy.js';
import { acknowledge, awaitsAcknowledgement, breakGlass, denyMayOverride, isBreakGlass, submit, type AccessRequest, type Transition } from '../../src/domain/request.js';
import { requestDraft } from '../support/request-draft.js';

const ALICE = 'U0ALICE01';
const BOB = 'U0BOB0002';
const DAVE = 'U0DAVE004';
const ADMIN = 'U0ADMIN03';
const GROUPIE = 'U0GROUP05';
const ONCALL = 'S0ONCALL1';
const T0 = new Date('2025-08-06T12:00:00.000Z');
const LATER = new Date(T0.getTime() + 10 * MINUTE);
const REASON = 'INC-4821 orders DB down, restarting replication';

const role = (over: Partial<RolePolicy> = {}): RolePolicy => ({
  grants: ['app_read'],
  maxDurationMs: 4 * HOUR,
  approvers: { users: [BOB], groups: [ONCALL] },
  approvals: 1,
  channel: 'C0APPROVE1',
  ...ROLE_TIMING_DEFAULTS,
  ...over,
});

const policy: Policy = {
  version: 1,
  admins: [ADMIN],
  principals: {},
  resources: {
    'prod-db': {
      provider: 'postgres',
      settings: {},
      principal: 'email-local-part',
      roles: {
        read: role(),
        emergency: role({ breakGlass: true }),
        ticketed: role({ breakGlass: true, justification: { ticketPattern: 'INC-\\d+' } }),
        restricted: role({ breakGlass: true, requesters: { users: [DAVE] } }),
        oncall: role({ autoApprove: { groups: [ONCALL] } }),
        'oncall-short': role({ autoApprove: { groups: [ONCALL], maxDurationMs: HOUR } }),
      },
    },
  },
};

function must<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}`);
  return result.value;
}
const codeOf = (result: Result<unknown>): DomainError['code'] | 'ok' => (result.ok ? 'ok' : result.error.code);

const glass = (over: Parameters<typeof requestDraft>[0] = {}) =>
  breakGlass(policy, requestDraft({ role: 'emergency', reason: REASON, createdAt: T0, ...over }), T0);
const granted = (): AccessRequest => must(glass()).next;

describe('breakGlass', () => {
  it('approves at once, flagged for review, with the card, the admins’ alert and the grant, and no expiry or reminder', () => {
    const t: Transition = must(glass());
    expect(t.next).toMatchObject({ status: 'approved', decidedAt: T0, acknowledgedBy: null, acknowledgedAt: null, autoApprovedBy: null, version: 2 });
    expect(isBreakGlass(t.next)).toBe(true);
    expect(awaitsAcknowledgement(t.next)).toBe(true);
    expect(t.effects).toEqual([{ type: 'post-cards' }, { type: 'alert-admins', notice: 'break-glass' }, { type: 'schedule-grant', at: T0 }]);
    // Nobody approved, so nobody can deny in a grace: the grant is due at once and no deny can stop it.
    expect(t.next.grantAfter).toEqual(T0);
    expect(denyMayOverride(t.next)).toBe(false);
    expect(t.audit).toMatchObject({ action: 'request.break-glass', actor: ALICE, details: { reason: REASON, reviewRequired: true } });
  });

  it.each([
    ['a role without break_glass', { role: 'read' }, 'BREAK_GLASS_NOT_ALLOWED'],
    ['an unknown role', { role: 'nope' }, 'UNKNOWN_ROLE'],
    ['a reason under 20 characters', { reason: 'db down, fixing' }, 'REASON_TOO_SHORT'],
    ['20 characters of spaces around a short reason', { reason: '     short reason     ' }, 'REASON_TOO_SHORT'],
    ['longer than the role allows', { durationMs: 5 * HOUR }, 'DURATION_TOO_LONG'],
    ['someone who may not request the role', { role: 'restricted' }, 'NOT_A_REQUESTER'],
    ['a reason without the role’s ticket', { role: 'ticketed', reason: 'the orders database is down again' }, 'TICKET_REQUIRED'],
    ['the role’s ticket given', { role: 'ticketed' }, 'ok'],
  ] as const)('%s: %s', (_what, over, expected) => {
    expect(codeOf(glass(over))).toBe(expected);
  });
});

describe('acknowledge', () => {
  it.each([
    ['an approver of the role', BOB, [], 'ok'],
    ['a member of the approvers’ group', GROUPIE, [ONCALL], 'ok'],
    ['a policy admin', ADMIN, [], 'ok'],
    ['the requester', ALICE, [], 'SELF_APPROVAL'],
    ['a stranger', DAVE, [], 'NOT_AN_APPROVER'],
  ] as const)('%s (%s): %s', (_who, actorId, actorGroups, expected) => {
    const result = acknowledge(granted(), policy, { actorId, actorGroups }, LATER);
    expect(codeOf(result)).toBe(expected);
    if (result.ok) {
      expect(result.value.next).toMatchObject({ acknowledgedBy: actorId, acknowledgedAt: LATER, status: 'approved', version: 3 });
      expect(awaitsAcknowledgement(result.value.next)).toBe(false);
      expect(result.value.audit).toEqual({ action: 'request.acknowledged', actor: actorId, details: { status: 'approved' } });
      expect(result.value.effects).toEqual([{ type: 'refresh-cards' }]);
    }
  });

  it('is refused a second time, and on a request that is not break-glass', () => {
    const once = must(acknowledge(granted(), policy, { actorId: BOB }, LATER)).next;
    expect(acknowledge(once, policy, { actorId: ADMIN }, LATER)).toEqual({
      ok: false,
      error: { code: 'ALREADY_ACKNOWLEDGED', requestId: once.id, by: BOB },
    });
    const ordinary = submit(requestDraft()).next;
    expect(codeOf(acknowledge(ordinary, policy, { actorId: BOB }, LATER))).toBe('NOT_IN_STATE');
  });
});

describe('auto_approve.groups', () => {
  const ask = (roleName: string, over: Partial<EvaluatedRequest> = {}): EvaluatedRequest => ({
    requesterId: ALICE,
    resource: 'prod-db',
    role: roleName,
    durationMs: 30 * MINUTE,
    reason: 'INC-4821 hotfix',
    ...over,
  });

  it.each([
    ['in the group', 'oncall', {}, [ONCALL], 'auto-approve', null],
    ['in no group', 'oncall', {}, [], 'needs-approval', 'not-in-group'],
    ['in another group', 'oncall', {}, ['S0OTHER01'], 'needs-approval', 'not-in-group'],
    ['in the group, but too long', 'oncall-short', { durationMs: 2 * HOUR }, [ONCALL], 'needs-approval', 'duration'],
  ] as const)('a requester %s (%s)', (_what, roleName, over, groups, outcome, why) => {
    const verdict = evaluate(policy, ask(roleName, over), [], T0, groups);
    expect(verdict.outcome).toBe(outcome);
    if (verdict.outcome === 'needs-approval') expect(verdict.notAutoApproved).toBe(why);
    if (verdict.outcome === 'auto-approve') expect(verdict.rule).toBe(`prod-db/oncall auto_approve (members of ${ONCALL})`);
  });

  it('makes the groups candidates to look up', () => {
    const only: Policy = { ...policy, resources: { 'prod-db': { ...policy.resources['prod-db']!, roles: { x: role({ approvers: { users: [BOB] }, autoApprove: { groups: ['S0ZZZ0001'] } }) } } } };
    expect(policyGroups(only)).toEqual(['S0ZZZ0001']);
  });
});
