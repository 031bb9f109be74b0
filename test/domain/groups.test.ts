/** User groups in the policy: the domain takes the person's groups as an input and makes no call. */
import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import { evaluate } from '../../src/domain/evaluate.js';
import {
  ROLE_TIMING_DEFAULTS,
  canOversee,
  checkDecider,
  isMember,
  mayRequest,
  policyGroups,
  requestableRoles,
  type Policy,
  type RolePolicy,
} from '../../src/domain/policy.js';
import { review, submit } from '../../src/domain/request.js';

const ALICE = 'U0ALICE01';
const BOB = 'U0BOB0002';
const CAROL = 'U0CAROL03';
const MALLORY = 'U0MALL005';
const SRE = 'S0SRE0001';
const DEVS = 'S0DEVS001';
const OTHER = 'S0OTHER01';

const role = (over: Partial<RolePolicy> = {}): RolePolicy => ({
  grants: ['app_read'],
  maxDurationMs: 4 * HOUR,
  approvers: { users: [BOB], groups: [SRE] },
  approvals: 1,
  channel: 'C0APPROVE1',
  requesters: { users: [CAROL], groups: [DEVS] },
  ...ROLE_TIMING_DEFAULTS,
  ...over,
});

const policyWith = (read: RolePolicy): Policy => ({
  version: 1,
  admins: [],
  principals: {},
  resources: { 'prod-db': { provider: 'postgres', settings: {}, principal: 'email-local-part', roles: { read, open: role({ requesters: undefined, approvers: { users: [BOB] } }) } } },
});

const request = { id: 'req_1', requesterId: ALICE, resource: 'prod-db', role: 'read', escalatedAt: null };

describe('isMember', () => {
  it.each([
    { who: BOB, groups: [], member: true, why: 'listed user' },
    { who: MALLORY, groups: [SRE], member: true, why: 'in a listed group' },
    { who: MALLORY, groups: [OTHER], member: false, why: 'in another group only' },
    { who: MALLORY, groups: [], member: false, why: 'in no group' },
  ])('$why → $member', ({ who, groups, member }) => {
    expect(isMember({ users: [BOB], groups: [SRE] }, who, groups)).toBe(member);
  });

  it('a users-only list ignores the groups given', () => {
    expect(isMember({ users: [BOB] }, MALLORY, [SRE])).toBe(false);
  });
});

describe('requesters with groups', () => {
  it.each([
    { who: CAROL, groups: [], may: true, why: 'a listed requester' },
    { who: ALICE, groups: [DEVS], may: true, why: 'in the requester group' },
    { who: ALICE, groups: [SRE], may: false, why: 'in the approver group only' },
    { who: ALICE, groups: [], may: false, why: 'in no group (the default)' },
  ])('$why → may request: $may', ({ who, groups, may }) => {
    expect(mayRequest(role(), who, groups)).toBe(may);
    const listed = requestableRoles(policyWith(role()), who, groups).map((r) => r.role);
    expect(listed.includes('read')).toBe(may);
    expect(listed).toContain('open');
  });

  it('evaluate refuses without the group and lets the group member through', () => {
    const policy = policyWith(role());
    const draft = { requesterId: ALICE, resource: 'prod-db', role: 'read', durationMs: 30 * MINUTE, reason: 'INC-1 check' };
    const now = new Date('2026-03-02T10:00:00Z');
    expect(evaluate(policy, draft, [], now)).toMatchObject({ outcome: 'deny', error: { code: 'NOT_A_REQUESTER' } });
    expect(evaluate(policy, draft, [], now, [DEVS])).toMatchObject({ outcome: 'needs-approval' });
  });

  it('requestableRoles gives the default duration when the role has one', () => {
    const listed = requestableRoles(policyWith(role({ defaultDurationMs: 30 * MINUTE })), CAROL);
    expect(listed.find((r) => r.role === 'read')).toEqual({ resource: 'prod-db', role: 'read', maxDurationMs: 4 * HOUR, defaultDurationMs: 30 * MINUTE });
    expect(listed.find((r) => r.role === 'open')).not.toHaveProperty('defaultDurationMs');
  });
});

describe('approvers with groups', () => {
  it.each([
    { who: BOB, groups: [], code: null, why: 'a listed approver' },
    { who: MALLORY, groups: [SRE], code: null, why: 'in the approver group' },
    { who: MALLORY, groups: [DEVS], code: 'NOT_AN_APPROVER', why: 'in the requester group only' },
    { who: MALLORY, groups: [], code: 'NOT_AN_APPROVER', why: 'in no group' },
    { who: ALICE, groups: [SRE], code: 'SELF_APPROVAL', why: 'the requester, even in the approver group' },
  ])('$why → $code', ({ who, groups, code }) => {
    const policy = policyWith(role());
    expect(checkDecider(policy, request, who, groups)?.code ?? null).toBe(code);
    expect(canOversee(policy, request, who, groups)).toBe(code !== 'NOT_AN_APPROVER');
  });

  it('review() takes the decider groups from its input', () => {
    const policy = policyWith(role());
    const now = new Date('2026-03-02T10:00:00Z');
    const pending = submit({
      id: 'req_1', extendsId: null, platform: 'slack', requesterId: ALICE, principal: 'alice', resource: 'prod-db', role: 'read',
      grants: ['app_read'], durationMs: 30 * MINUTE, reason: 'INC-1', approvalsRequired: 1, channel: 'C0APPROVE1', createdAt: now,
      pendingUntil: new Date(now.getTime() + HOUR), remindAt: null, warnBeforeMs: 0, escalateAt: null, escalationChannel: null, flags: [],
    }).next;
    const refused = review(pending, [], policy, { deciderId: MALLORY, outcome: 'approve', reason: null }, now);
    expect(refused).toMatchObject({ ok: false, error: { code: 'NOT_AN_APPROVER' } });
    const approved = review(pending, [], policy, { deciderId: MALLORY, deciderGroups: [SRE], outcome: 'approve', reason: null }, now);
    expect(approved).toMatchObject({ ok: true, value: { next: { status: 'approved' } } });
  });
});

describe('policyGroups', () => {
  it('lists every group the policy names, once, sorted', () => {
    expect(policyGroups(policyWith(role({ approvers: { users: [], groups: [SRE, DEVS] } })))).toEqual([DEVS, SRE]);
  });

  it('is empty for a users-only policy (no directory call is needed)', () => {
    expect(policyGroups(policyWith(role({ approvers: { users: [BOB] }, requesters: undefined })))).toEqual([]);
  });
});
