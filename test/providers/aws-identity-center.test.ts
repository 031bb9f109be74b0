/**
 * The IAM Identity Center provider with the real `@aws-sdk/client-sso-admin` over HTTP, against nock.
 * sso-admin speaks awsJson1_1: a JSON POST to https://sso.<region>.amazonaws.com/ naming the operation in
 * `X-Amz-Target: SWBExternalService.<Operation>`, errors as `{"__type": "…#ConflictException"}`.
 * The stateful fake of `test/support/fake-sso-admin.ts` (assignments and asynchronous operations) runs the
 * shared contract suite end to end, polling included; the explicit tests below pin the wire shapes with one-off interceptors.
 */
import nock from 'nock';
import { beforeEach, describe, expect, it } from 'vitest';
import { describeProviderContract } from './contract.js';
import { parsePolicy } from '../../src/policy/load.js';
import { AwsIdentityCenterProvider, awsIdentityCenterProvider, type Timing } from '../../src/providers/aws-identity-center.js';
import { PermanentProviderError, type GrantTarget } from '../../src/use-cases/ports.js';
import { awsClient, JSON_HEADERS, useNock, useStatefulFake } from '../support/aws-nock.js';
import {
  FakeIdentityCenter,
  operationStatus,
  SSO_ACCOUNT as ACCOUNT,
  SSO_ENDPOINT as ENDPOINT,
  SSO_INSTANCE as INSTANCE,
  ssoError as awsError,
  type Assignment,
  type OperationStatus as Status,
  type SsoCall as Seen,
} from '../support/fake-sso-admin.js';

const SECRET = 'fake-secret-key-never-sent';
const CLIENT = awsClient(ENDPOINT, SECRET);

const PS_ADMIN = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-aaaaaaaaaaaaaaaa';
const PS_READ = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-bbbbbbbbbbbbbbbb';
const PS_HOSTILE = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-cccccccccccccccc';
const DAVE = '906739a2f1-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d';
const ERIN = 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6';
const HOSTILE_GRANT = `ops "admin"; --'`;

let sleeps: number[] = [];
const TIMING: Partial<Timing> = {
  firstDelayMs: 1,
  maxDelayMs: 4,
  timeoutMs: 50,
  conflictRetries: 2,
  sleep: async (ms) => {
    sleeps.push(ms);
  },
};

const provider = (timing: Partial<Timing> = TIMING): AwsIdentityCenterProvider =>
  new AwsIdentityCenterProvider({
    region: 'us-east-1',
    instanceArn: INSTANCE,
    accountId: ACCOUNT,
    permissionSets: { admin: PS_ADMIN, read: PS_READ, [HOSTILE_GRANT]: PS_HOSTILE },
    client: CLIENT,
    timing,
  });

const target = (principal: string, grants: string[]): GrantTarget => ({ requestId: 'req_abc234', principal, grants, expiresAt: new Date('2030-01-02T03:04:05Z') });

const tuple = (ps: string, principal = DAVE) => ({
  InstanceArn: INSTANCE,
  TargetId: ACCOUNT,
  TargetType: 'AWS_ACCOUNT',
  PermissionSetArn: ps,
  PrincipalType: 'USER',
  PrincipalId: principal,
});

const opStatus = (requestId: string, status: Status, ps = PS_ADMIN, principal = DAVE, reason?: string) =>
  operationStatus(requestId, status, { AccountId: ACCOUNT, PermissionSetArn: ps, PrincipalType: 'USER', PrincipalId: principal }, reason);

/** One-off interceptor for one operation; records what the SDK sent. */
function expectOp(scope: nock.Scope, op: string, status: number, reply: object, seen: Seen[]): nock.Scope {
  return scope
    .post('/')
    .matchHeader('x-amz-target', `SWBExternalService.${op}`)
    .reply(
      status,
      function (_uri, body) {
        seen.push({ op, body: JSON.parse(String(typeof body === 'string' ? body : JSON.stringify(body))) as Record<string, unknown>, headers: this.req.headers });
        return reply;
      },
      JSON_HEADERS,
    );
}

/** Assignments of others beside Dave's in every list: another user, and a group. */
const OTHERS: Assignment[] = [PS_ADMIN, PS_READ].flatMap((ps): Assignment[] => [
  { AccountId: ACCOUNT, PermissionSetArn: ps, PrincipalType: 'USER', PrincipalId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' },
  { AccountId: ACCOUNT, PermissionSetArn: ps, PrincipalType: 'GROUP', PrincipalId: '11111111-2222-3333-4444-555555555555' },
]);

useNock();
beforeEach(() => {
  sleeps = [];
});

describe('over HTTP against a stateful fake', () => {
  let fake: FakeIdentityCenter;
  useStatefulFake(() => {
    // Pages of one, so every lookup walks NextToken.
    fake = new FakeIdentityCenter({ pageSize: 1, directory: [DAVE] });
    fake.assignments.push(...OTHERS);
    return fake;
  });

  describeProviderContract('aws-sso', () => ({
    provider: provider(),
    principal: DAVE,
    grants: ['admin', 'read'],
    perGrantObjects: false,
    hostile: { principal: `d'Artagnan"; DROP TABLE x; --`, grant: 'admin' },
  }));

  it('refuses for good a user the directory does not have, with AWS reason', async () => {
    const error = await provider()
      .grant(target(ERIN, ['read']))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(/FAILED: Received a 404 status error: the USER assignee f81d4fae-.* was not found in directory/);
    expect(fake.assignments).toEqual(OTHERS);
  });
});

describe('wire shapes', () => {
  it('creates the assignment, then polls IN_PROGRESS → SUCCEEDED with growing, capped waits', async () => {
    const seen: Seen[] = [];
    const scope = nock(ENDPOINT);
    expectOp(scope, 'CreateAccountAssignment', 200, { AccountAssignmentCreationStatus: opStatus('c-1', 'IN_PROGRESS') }, seen);
    for (let i = 0; i < 3; i++) {
      expectOp(scope, 'DescribeAccountAssignmentCreationStatus', 200, { AccountAssignmentCreationStatus: opStatus('c-1', 'IN_PROGRESS') }, seen);
    }
    expectOp(scope, 'DescribeAccountAssignmentCreationStatus', 200, { AccountAssignmentCreationStatus: opStatus('c-1', 'SUCCEEDED') }, seen);
    await provider().grant(target(DAVE, ['admin']));
    scope.done();

    expect(seen[0]?.body).toEqual(tuple(PS_ADMIN));
    expect(seen[0]?.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(String(seen[0]?.headers['authorization'])).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/sso\/aws4_request/);
    expect(JSON.stringify(seen.map((s) => [s.body, s.headers]))).not.toContain(SECRET);
    for (const s of seen.slice(1)) expect(s.body).toEqual({ InstanceArn: INSTANCE, AccountAssignmentCreationRequestId: 'c-1' });
    expect(sleeps).toEqual([1, 2, 4, 4]);
  });

  it('refuses for good an assignment that ends FAILED and is not there, with AWS reason', async () => {
    const seen: Seen[] = [];
    const scope = nock(ENDPOINT);
    expectOp(scope, 'CreateAccountAssignment', 200, { AccountAssignmentCreationStatus: opStatus('c-2', 'IN_PROGRESS') }, seen);
    const reason = 'Maximum number of roles per account exceeded (1000)';
    expectOp(scope, 'DescribeAccountAssignmentCreationStatus', 200, { AccountAssignmentCreationStatus: opStatus('c-2', 'FAILED', PS_ADMIN, DAVE, reason) }, seen);
    expectOp(scope, 'ListAccountAssignments', 200, { AccountAssignments: [] }, seen);
    const error = await provider()
      .grant(target(DAVE, ['admin']))
      .catch((e: unknown) => e);
    scope.done();
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toBe(
      `cannot assign ${PS_ADMIN} to user ${DAVE} in account ${ACCOUNT}: AWS reports the assignment FAILED: ${reason}`,
    );
    expect(seen[2]?.body).toEqual({ InstanceArn: INSTANCE, AccountId: ACCOUNT, PermissionSetArn: PS_ADMIN, MaxResults: 100 });
  });

  it('takes a FAILED create of an assignment that exists as success (a repeated grant)', async () => {
    const seen: Seen[] = [];
    const scope = nock(ENDPOINT);
    expectOp(scope, 'CreateAccountAssignment', 200, { AccountAssignmentCreationStatus: opStatus('c-3', 'FAILED', PS_ADMIN, DAVE, 'already exists') }, seen);
    expectOp(scope, 'ListAccountAssignments', 200, { AccountAssignments: [{ AccountId: ACCOUNT, PermissionSetArn: PS_ADMIN, PrincipalType: 'USER', PrincipalId: DAVE }] }, seen);
    await provider().grant(target(DAVE, ['admin']));
    scope.done();
  });

  it('retries ConflictException, then succeeds', async () => {
    const seen: Seen[] = [];
    const scope = nock(ENDPOINT);
    const conflict = awsError('ConflictException', 'An operation on this assignment is in progress');
    expectOp(scope, 'CreateAccountAssignment', 400, conflict, seen);
    expectOp(scope, 'CreateAccountAssignment', 400, conflict, seen);
    expectOp(scope, 'CreateAccountAssignment', 200, { AccountAssignmentCreationStatus: opStatus('c-4', 'SUCCEEDED') }, seen);
    await provider().grant(target(DAVE, ['admin']));
    scope.done();
    expect(seen.map((s) => s.op)).toEqual(['CreateAccountAssignment', 'CreateAccountAssignment', 'CreateAccountAssignment']);
    expect(sleeps).toEqual([1, 2]);
  });

  it('leaves a ConflictException that outlasts its retries to the job, as retryable', async () => {
    const seen: Seen[] = [];
    const scope = nock(ENDPOINT);
    for (let i = 0; i < 3; i++) expectOp(scope, 'DeleteAccountAssignment', 400, awsError('ConflictException', 'in progress'), seen);
    const error = await provider()
      .revoke(target(DAVE, ['admin']))
      .catch((e: unknown) => e);
    scope.done();
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(/Conflict \(HTTP 400\): in progress/);
  });

  it('gives up polling after timeoutMs of waiting, as retryable', async () => {
    const seen: Seen[] = [];
    const scope = nock(ENDPOINT);
    expectOp(scope, 'CreateAccountAssignment', 200, { AccountAssignmentCreationStatus: opStatus('c-5', 'IN_PROGRESS') }, seen);
    // Waits 1, 2, 4, 4 (11 ms); the next 4 would pass 12.
    for (let i = 0; i < 4; i++) expectOp(scope, 'DescribeAccountAssignmentCreationStatus', 200, { AccountAssignmentCreationStatus: opStatus('c-5', 'IN_PROGRESS') }, seen);
    const error = await provider({ ...TIMING, timeoutMs: 12 })
      .grant(target(DAVE, ['admin']))
      .catch((e: unknown) => e);
    scope.done();
    expect(error).not.toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(/still IN_PROGRESS .*\(request c-5\); will try again/);
    expect(sleeps).toEqual([1, 2, 4, 4]);
  });

  it('deletes the assignment and polls the deletion status until SUCCEEDED', async () => {
    const seen: Seen[] = [];
    const scope = nock(ENDPOINT);
    expectOp(scope, 'DeleteAccountAssignment', 200, { AccountAssignmentDeletionStatus: opStatus('d-1', 'IN_PROGRESS', PS_READ) }, seen);
    expectOp(scope, 'DescribeAccountAssignmentDeletionStatus', 200, { AccountAssignmentDeletionStatus: opStatus('d-1', 'IN_PROGRESS', PS_READ) }, seen);
    expectOp(scope, 'DescribeAccountAssignmentDeletionStatus', 200, { AccountAssignmentDeletionStatus: opStatus('d-1', 'SUCCEEDED', PS_READ) }, seen);
    await provider().revoke(target(DAVE, ['read']));
    scope.done();
    expect(seen[0]?.body).toEqual(tuple(PS_READ));
    expect(seen[1]?.body).toEqual({ InstanceArn: INSTANCE, AccountAssignmentDeletionRequestId: 'd-1' });
  });

  it('takes the delete of a missing assignment as success, once the list confirms it is gone', async () => {
    const seen: Seen[] = [];
    const scope = nock(ENDPOINT);
    expectOp(scope, 'DeleteAccountAssignment', 400, awsError('ResourceNotFoundException', 'Assignment does not exist'), seen);
    expectOp(scope, 'ListAccountAssignments', 200, { AccountAssignments: [{ AccountId: ACCOUNT, PermissionSetArn: PS_ADMIN, PrincipalType: 'USER', PrincipalId: ERIN }], NextToken: 't1' }, seen);
    expectOp(scope, 'ListAccountAssignments', 200, { AccountAssignments: [] }, seen);
    // A deletion that ends FAILED while the list shows nothing is also success.
    expectOp(scope, 'DeleteAccountAssignment', 200, { AccountAssignmentDeletionStatus: opStatus('d-2', 'FAILED', PS_READ, DAVE, 'not found') }, seen);
    expectOp(scope, 'ListAccountAssignments', 200, { AccountAssignments: [] }, seen);
    await provider().revoke(target(DAVE, ['admin', 'read']));
    scope.done();
    expect(seen[2]?.body).toMatchObject({ NextToken: 't1' });
  });

  it('refuses for good a deletion that ends FAILED while the assignment is still there', async () => {
    const seen: Seen[] = [];
    const scope = nock(ENDPOINT);
    expectOp(scope, 'DeleteAccountAssignment', 200, { AccountAssignmentDeletionStatus: opStatus('d-3', 'IN_PROGRESS') }, seen);
    expectOp(scope, 'DescribeAccountAssignmentDeletionStatus', 200, { AccountAssignmentDeletionStatus: opStatus('d-3', 'FAILED', PS_ADMIN, DAVE, 'Internal failure while deprovisioning') }, seen);
    expectOp(scope, 'ListAccountAssignments', 200, { AccountAssignments: [{ AccountId: ACCOUNT, PermissionSetArn: PS_ADMIN, PrincipalType: 'USER', PrincipalId: DAVE }] }, seen);
    const error = await provider()
      .revoke(target(DAVE, ['admin']))
      .catch((e: unknown) => e);
    scope.done();
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(/deletion FAILED: Internal failure while deprovisioning/);
  });

  it('reports held grants from every page of ListAccountAssignments, direct USER assignments only', async () => {
    const seen: Seen[] = [];
    const scope = nock(ENDPOINT);
    // admin: only a group with Dave's id-looking principal and another user; read: Dave on page 2.
    expectOp(scope, 'ListAccountAssignments', 200, { AccountAssignments: [{ AccountId: ACCOUNT, PermissionSetArn: PS_ADMIN, PrincipalType: 'GROUP', PrincipalId: DAVE }] }, seen);
    expectOp(scope, 'ListAccountAssignments', 200, { AccountAssignments: [{ AccountId: ACCOUNT, PermissionSetArn: PS_READ, PrincipalType: 'USER', PrincipalId: ERIN }], NextToken: 'p2' }, seen);
    expectOp(scope, 'ListAccountAssignments', 200, { AccountAssignments: [{ AccountId: ACCOUNT, PermissionSetArn: PS_READ, PrincipalType: 'USER', PrincipalId: DAVE }] }, seen);
    expect(await provider().held(target(DAVE, ['admin', 'read']))).toEqual(['read']);
    scope.done();
    expect(seen.map((s) => [s.body['PermissionSetArn'], s.body['NextToken']])).toEqual([
      [PS_ADMIN, undefined],
      [PS_READ, undefined],
      [PS_READ, 'p2'],
    ]);
  });

  it.each([
    ['AccessDeniedException', 400, true],
    ['ServiceQuotaExceededException', 400, true],
    ['ThrottlingException', 400, false],
    ['InternalServerException', 500, false],
  ])('maps %s (%i) to permanent = %s', async (type, status, permanent) => {
    const seen: Seen[] = [];
    const scope = expectOp(nock(ENDPOINT), 'CreateAccountAssignment', status, awsError(type, 'nope'), seen);
    const error = await provider()
      .grant(target(DAVE, ['admin']))
      .catch((e: unknown) => e);
    scope.done();
    expect(error).toBeInstanceOf(Error);
    expect(error instanceof PermanentProviderError).toBe(permanent);
    expect((error as Error).message).toContain(`${type.replace(/Exception$/, '')} (HTTP ${status}): nope`);
    expect((error as Error).message).not.toContain(SECRET);
  });
});

describe('names', () => {
  it('refuses a principal that is not an Identity Center user id, before any request', async () => {
    for (const name of [`d'Artagnan"`, 'dave@example.com', 'dave', `${DAVE}"}`, '', `${DAVE.toUpperCase()}x`]) {
      await expect(provider().grant(target(name, ['admin']))).rejects.toThrow(/not an Identity Center user id; map the person .* under principals:/);
      await expect(provider().held(target(name, ['admin']))).rejects.toBeInstanceOf(PermanentProviderError);
      await expect(provider().revoke(target(name, ['admin']))).resolves.toBeUndefined();
    }
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('sends a hostile grant name nowhere: only its permission set ARN travels, as a JSON string', async () => {
    const seen: Seen[] = [];
    const scope = expectOp(nock(ENDPOINT), 'CreateAccountAssignment', 200, { AccountAssignmentCreationStatus: opStatus('c-6', 'SUCCEEDED', PS_HOSTILE) }, seen);
    await provider().grant(target(DAVE, [HOSTILE_GRANT]));
    scope.done();
    expect(seen[0]?.body).toEqual(tuple(PS_HOSTILE));
    expect(JSON.stringify(seen[0]?.body)).not.toContain('admin');
  });

  it('refuses an unknown grant; revoke still removes the known ones first', async () => {
    await expect(provider().grant(target(DAVE, ['admin', 'billing']))).rejects.toThrow(/no permission set "billing"/);
    const seen: Seen[] = [];
    const scope = expectOp(nock(ENDPOINT), 'DeleteAccountAssignment', 200, { AccountAssignmentDeletionStatus: opStatus('d-4', 'SUCCEEDED') }, seen);
    await expect(provider().revoke(target(DAVE, ['billing', 'admin']))).rejects.toBeInstanceOf(PermanentProviderError);
    scope.done();
    expect(seen[0]?.body).toEqual(tuple(PS_ADMIN));
  });
});

describe('settings', () => {
  const policyText = (settings: string): string => `version: 1
principals: { U0DAVE001: ${DAVE} }
resources:
  aws-sso:
    provider: aws-sso
${settings}
    roles:
      admin:
        grants: [admin]
        max_duration: 1h
        approvers: { users: [U0BOB0002] }
        channel: C0APPROVE1
`;
  const settings = (over: Record<string, string> = {}): string =>
    Object.entries({
      region: 'eu-west-1',
      instance_arn: INSTANCE,
      account_id: `"${ACCOUNT}"`,
      permission_sets: `\n      admin: ${PS_ADMIN}`,
      ...over,
    })
      .filter(([, v]) => v !== '')
      .map(([k, v]) => `    ${k}: ${v}`)
      .join('\n');

  it('reads the documented YAML and builds the provider from it', async () => {
    const parsed = parsePolicy(policyText(settings()), 'policy.yaml');
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
    if (!parsed.ok) return;
    const s = parsed.policy.resources['aws-sso']?.settings ?? {};
    expect(s).toEqual({ region: 'eu-west-1', instance_arn: INSTANCE, account_id: ACCOUNT, permission_sets: { admin: PS_ADMIN } });
    expect(parsed.policy.principals).toEqual({ U0DAVE001: DAVE });
    const built = awsIdentityCenterProvider.create(s, {}, 'resources.aws-sso');
    expect(built).toBeInstanceOf(AwsIdentityCenterProvider);
    await built.close();
  });

  it.each([
    ['an unquoted account id', { account_id: '012345678901' }, /write the account id in quotes/],
    ['a short account id', { account_id: '"1234"' }, /12-digit AWS account id/],
    ['no region', { region: '' }, /region: required/],
    ['a bad instance ARN', { instance_arn: 'arn:aws:sso:::instance/nope' }, /not an Identity Center instance ARN/],
    ['a bad permission set ARN', { permission_sets: '\n      admin: arn:aws:iam::aws:policy/AdministratorAccess' }, /not a permission set ARN/],
    ['no permission sets', { permission_sets: '{}' }, /list at least one permission set/],
  ])('refuses %s', (_what, over, says) => {
    const parsed = parsePolicy(policyText(settings(over)), 'policy.yaml');
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.errors.join('\n')).toMatch(says);
  });

  it('refuses permission sets of another instance when building the provider', () => {
    const other = 'arn:aws:sso:::permissionSet/ssoins-ffffffffffffffff/ps-aaaaaaaaaaaaaaaa';
    const s = { region: 'eu-west-1', instance_arn: INSTANCE, account_id: ACCOUNT, permission_sets: { admin: PS_ADMIN, read: other } };
    expect(() => awsIdentityCenterProvider.create(s, {}, 'resources.aws-sso')).toThrow(
      'resources.aws-sso.permission_sets: read belong to another instance than instance_arn (ssoins-1234567890abcdef)',
    );
  });
});
