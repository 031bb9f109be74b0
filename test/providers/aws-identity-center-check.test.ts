/**
 * `AwsIdentityCenterProvider.check` with the real `@aws-sdk/client-sso-admin` against nock (awsJson1_1: JSON
 * POSTs naming the operation in `X-Amz-Target`). Every request is recorded, and every test asserts that only
 * reads were sent: DescribePermissionSet and ListAccountAssignments, never a Create or Delete.
 */
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AwsIdentityCenterProvider } from '../../src/providers/aws-identity-center.js';

const ENDPOINT = 'https://sso.us-east-1.amazonaws.com';
const SECRET = 'fake-secret-key-never-sent';
const CLIENT = { credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SECRET }, endpoint: ENDPOINT, maxAttempts: 1 };
const JSON_HEADERS = { 'content-type': 'application/x-amz-json-1.1' };
const INSTANCE = 'arn:aws:sso:::instance/ssoins-1234567890abcdef';
const PS_ADMIN = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-aaaaaaaaaaaaaaaa';
const PS_READ = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-bbbbbbbbbbbbbbbb';
const ACCOUNT = '123456789012';
const READS = new Set(['DescribePermissionSet', 'ListAccountAssignments']);
const UNVERIFIED =
  'warn not verified: sso:CreateAccountAssignment, sso:DeleteAccountAssignment, their Describe…Status reads and the iam:* actions provisioning needs; only a real grant exercises them';

type Reply = (body: Record<string, unknown>) => [number, unknown];
let calls: { op: string; body: Record<string, unknown> }[] = [];
let scope: nock.Scope | undefined;

function sso(replies: Record<string, Reply>): void {
  scope = nock(ENDPOINT)
    .persist()
    .post('/')
    .reply(function (_uri, body) {
      const op = String(this.req.headers['x-amz-target'] ?? '').replace('SWBExternalService.', '');
      const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as Record<string, unknown>;
      calls.push({ op, body: parsed });
      const reply = replies[op];
      return reply ? [...reply(parsed), JSON_HEADERS] : [400, { __type: 'ValidationException', Message: `unexpected ${op}` }, JSON_HEADERS];
    });
}

const sets = { admin: PS_ADMIN, read: PS_READ, 'read-too': PS_READ };
const provider = (client: object = CLIENT) =>
  new AwsIdentityCenterProvider({ region: 'us-east-1', instanceArn: INSTANCE, accountId: ACCOUNT, permissionSets: sets, client });

const describePs = (names: Record<string, [string, string]>): Reply => (body) => {
  const found = names[String(body.PermissionSetArn)];
  if (!found) return [400, { __type: 'com.amazonaws.swbexternalservice#ResourceNotFoundException', Message: 'Could not find PermissionSet' }];
  return [200, { PermissionSet: { Name: found[0], PermissionSetArn: body.PermissionSetArn, SessionDuration: found[1] } }];
};
const listOk: Reply = () => [200, { AccountAssignments: [] }];

const text = (findings: { level: string; what: string }[]) => findings.map((f) => `${f.level} ${f.what}`);

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => {
  for (const call of calls) expect(READS.has(call.op)).toBe(true);
  calls = [];
  scope?.persist(false);
  scope = undefined;
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
});

describe('AwsIdentityCenterProvider.check', () => {
  it('reports a healthy bot: each permission set described once, assignments listable; writes stated as unverified', async () => {
    sso({ DescribePermissionSet: describePs({ [PS_ADMIN]: ['AdminAccess', 'PT1H'], [PS_READ]: ['ReadOnly', 'PT30M'] }), ListAccountAssignments: listOk });
    const result = await provider().check(['admin', 'read', 'read-too']);
    expect(text(result.findings)).toEqual([
      'ok permission set "admin" is "AdminAccess", sessions last PT1H',
      'ok permission set "read", "read-too" is "ReadOnly", sessions last PT30M',
      `ok may list the assignments in account ${ACCOUNT} (sso:ListAccountAssignments)`,
      UNVERIFIED,
    ]);
    expect(result.ok).toBe(true);
    expect(calls.map((c) => c.op)).toEqual(['DescribePermissionSet', 'DescribePermissionSet', 'ListAccountAssignments']);
    expect(calls[2]!.body).toEqual({ InstanceArn: INSTANCE, AccountId: ACCOUNT, PermissionSetArn: PS_ADMIN, MaxResults: 1 });
  });

  it('reports what is missing: a permission set gone, a long session, no ListAccountAssignments, an unknown grant', async () => {
    sso({
      DescribePermissionSet: describePs({ [PS_READ]: ['ReadOnly', 'PT12H'] }),
      ListAccountAssignments: () => [
        400,
        { __type: 'com.amazonaws.swbexternalservice#AccessDeniedException', Message: 'User is not authorized to perform: sso:ListAccountAssignments' },
      ],
    });
    const result = await provider().check(['admin', 'read', 'nope']);
    expect(result.ok).toBe(false);
    expect(text(result.findings)).toEqual([
      `fail no permission set "nope" in this resource's permission_sets: list it there or fix the role's grants`,
      `fail permission set "admin" (${PS_ADMIN}) does not exist in ${INSTANCE}`,
      'ok permission set "read" is "ReadOnly", sessions last PT12H',
      'warn permission set "read": a session started before a revoke keeps working for up to PT12H; PT1H or less is safer',
      `fail cannot list the assignments in account ${ACCOUNT}, which grant and revoke do: AccessDenied (HTTP 400): User is not authorized to perform: sso:ListAccountAssignments`,
      UNVERIFIED,
    ]);
  });

  it('fails at once when the credentials are refused, without printing them', async () => {
    sso({ DescribePermissionSet: () => [400, { __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' }] });
    const result = await provider().check(['admin', 'read']);
    expect(result).toEqual({
      ok: false,
      findings: [
        {
          level: 'fail',
          what: 'cannot use the AWS credentials or reach Identity Center: UnrecognizedClient (HTTP 400): The security token included in the request is invalid.',
        },
      ],
    });
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });
});
