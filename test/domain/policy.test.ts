import { describe, it, expect } from 'vitest';
import { HOUR } from '../../src/domain/duration.js';
import {
  checkDecider,
  checkRequest,
  principalFor,
  requestableRoles,
  type Policy,
  type RequestDraft,
} from '../../src/domain/policy.js';
import { ROLE_TIMING_DEFAULTS } from '../../src/domain/policy.js';

const ALICE = 'U0ALICE01';
const BOB = 'U0BOB0002';
const CAROL = 'U0CAROL03';
const DAVE = 'U0DAVE004';
const MALLORY = 'U0MALL005';

// Shaped like a parsed policy file: plain objects, as zod and the YAML loader produce them.
const policy: Policy = {
  version: 1,
  admins: ['U0ADMIN03'],
  principals: { [DAVE]: 'svc_dave' },
  resources: {
    'prod-db': {
      provider: 'postgres',
      settings: { connection: { env: 'PROD_DB_URL' } },
      principal: 'email-local-part',
      roles: {
        read: {
          grants: ['pg_read_all_data'],
          maxDurationMs: 4 * HOUR,
          approvers: { users: [BOB, CAROL] },
          approvals: 1,
          channel: 'C0APPROVE1',
          ...ROLE_TIMING_DEFAULTS,
        },
        write: {
          grants: ['pg_write_all_data'],
          maxDurationMs: 1 * HOUR,
          approvers: { users: [BOB, CAROL] },
          approvals: 2,
          channel: 'C0APPROVE1',
          ...ROLE_TIMING_DEFAULTS,
        },
      },
    },
    'billing-db': {
      provider: 'postgres',
      settings: { connection: { env: 'BILLING_DB_URL' } },
      principal: 'email-local-part',
      roles: {
        admin: {
          grants: ['billing_admin'],
          maxDurationMs: 2 * HOUR,
          approvers: { users: [CAROL] },
          approvals: 1,
          channel: 'C0APPROVE1',
          requesters: { users: [ALICE, BOB] },
          ...ROLE_TIMING_DEFAULTS,
        },
      },
    },
  },
};

const draft = (patch: Partial<RequestDraft> = {}): RequestDraft => ({
  requesterId: ALICE,
  resource: 'prod-db',
  role: 'read',
  durationMs: 2 * HOUR,
  ...patch,
});

describe('checkRequest: allowed', () => {
  it.each([
    ['prod-db read within the limit', draft(), 'pg_read_all_data'],
    ['prod-db read at exactly the limit', draft({ durationMs: 4 * HOUR }), 'pg_read_all_data'],
    ['prod-db write within its own limit', draft({ role: 'write', durationMs: 1 * HOUR }), 'pg_write_all_data'],
    ['a listed requester on a restricted role', draft({ resource: 'billing-db', role: 'admin', durationMs: HOUR }), 'billing_admin'],
  ])('%s', (_label, input, grant) => {
    const result = checkRequest(policy, input);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.grants).toEqual([grant]);
  });
});

describe('checkRequest: refused with a reason the user can act on', () => {
  it.each([
    [
      'an unknown resource lists the known ones',
      draft({ resource: 'staging-db' }),
      { code: 'UNKNOWN_RESOURCE', resource: 'staging-db', known: ['billing-db', 'prod-db'] },
    ],
    [
      // Names that exist on every plain object must not be mistaken for configured resources.
      'a resource named like an Object.prototype member',
      draft({ resource: 'constructor' }),
      { code: 'UNKNOWN_RESOURCE', resource: 'constructor', known: ['billing-db', 'prod-db'] },
    ],
    [
      'a resource named toString',
      draft({ resource: 'toString' }),
      { code: 'UNKNOWN_RESOURCE', resource: 'toString', known: ['billing-db', 'prod-db'] },
    ],
    [
      'an unknown role lists the known ones',
      draft({ role: 'admin' }),
      { code: 'UNKNOWN_ROLE', resource: 'prod-db', role: 'admin', known: ['read', 'write'] },
    ],
    [
      'a role named like an Object.prototype member',
      draft({ role: 'constructor' }),
      { code: 'UNKNOWN_ROLE', resource: 'prod-db', role: 'constructor', known: ['read', 'write'] },
    ],
    [
      'a role named hasOwnProperty',
      draft({ role: 'hasOwnProperty' }),
      { code: 'UNKNOWN_ROLE', resource: 'prod-db', role: 'hasOwnProperty', known: ['read', 'write'] },
    ],
    [
      'a duration above the role maximum',
      draft({ durationMs: 4 * HOUR + 1 }),
      { code: 'DURATION_TOO_LONG', maxMs: 4 * HOUR },
    ],
    [
      'a duration fine for read but above the write maximum',
      draft({ role: 'write', durationMs: 2 * HOUR }),
      { code: 'DURATION_TOO_LONG', maxMs: 1 * HOUR },
    ],
    [
      'someone not on the requesters list',
      draft({ requesterId: CAROL, resource: 'billing-db', role: 'admin', durationMs: HOUR }),
      { code: 'NOT_A_REQUESTER', resource: 'billing-db', role: 'admin' },
    ],
  ])('%s', (_label, input, error) => {
    expect(checkRequest(policy, input)).toEqual({ ok: false, error });
  });
});

describe('requestableRoles: the request form offers only what the person may request', () => {
  const everyone = [
    { resource: 'prod-db', role: 'read', maxDurationMs: 4 * HOUR },
    { resource: 'prod-db', role: 'write', maxDurationMs: 1 * HOUR },
  ];
  const billingAdmin = { resource: 'billing-db', role: 'admin', maxDurationMs: 2 * HOUR };

  it.each([
    ['a listed requester sees the restricted role', ALICE, [...everyone, billingAdmin]],
    ['another listed requester', BOB, [...everyone, billingAdmin]],
    ['someone not listed sees only open roles', CAROL, everyone],
    ['a stranger sees only open roles', MALLORY, everyone],
  ])('%s', (_label, requesterId, expected) => {
    const roles = requestableRoles(policy, requesterId);
    expect(roles).toHaveLength(expected.length);
    expect(roles).toEqual(expect.arrayContaining(expected));
  });
});

describe('checkDecider', () => {
  const request = { id: 'req_1', requesterId: ALICE, resource: 'prod-db', role: 'read' };
  const withoutRead: Policy = {
    ...policy,
    resources: {
      ...policy.resources,
      'prod-db': { ...policy.resources['prod-db']!, roles: { write: policy.resources['prod-db']!.roles['write']! } },
    },
  };
  const withoutProdDb: Policy = { ...policy, resources: { 'billing-db': policy.resources['billing-db']! } };

  it.each([
    ['a listed approver may decide', policy, request, BOB, null],
    ['another listed approver may decide', policy, request, CAROL, null],
    [
      'a requester who is also an approver may not decide their own request',
      policy,
      { ...request, requesterId: BOB },
      BOB,
      { code: 'SELF_APPROVAL', requestId: 'req_1' },
    ],
    ['the requester may not decide', policy, request, ALICE, { code: 'SELF_APPROVAL', requestId: 'req_1' }],
    ['a stranger may not decide', policy, request, MALLORY, { code: 'NOT_AN_APPROVER', requestId: 'req_1' }],
    [
      'an approver of another role only may not decide',
      policy,
      { ...request, resource: 'billing-db', role: 'admin' },
      BOB,
      { code: 'NOT_AN_APPROVER', requestId: 'req_1' },
    ],
    [
      'nobody may decide once the role is removed from the policy',
      withoutRead,
      request,
      BOB,
      { code: 'NOT_AN_APPROVER', requestId: 'req_1' },
    ],
    [
      'nobody may decide once the resource is removed from the policy',
      withoutProdDb,
      request,
      BOB,
      { code: 'NOT_AN_APPROVER', requestId: 'req_1' },
    ],
  ])('%s', (_label, currentPolicy, req, deciderId, expected) => {
    expect(checkDecider(currentPolicy, req, deciderId)).toEqual(expected);
  });
});

describe('principalFor: the requester’s name on the target', () => {
  it.each([
    ['the policy override wins over the email', DAVE, 'Dave.Other@example.com', 'svc_dave'],
    ['the override applies without an email', DAVE, null, 'svc_dave'],
    ['otherwise the email local part, lower-cased', ALICE, 'Alice.Smith@example.com', 'alice.smith'],
    ['an already lower-case email', BOB, 'bob@example.com', 'bob'],
    ['no override and no email', ALICE, null, null],
    ['an empty email', ALICE, '', null],
    ['an email with an empty local part', ALICE, '@example.com', null],
    ['a user id named like an Object.prototype member has no override', 'constructor', null, null],
  ])('%s', (_label, userId, email, expected) => {
    expect(principalFor(policy, 'prod-db', userId, email)).toBe(expected);
  });
});
