/**
 * The AWS IAM managed-attachment provider with the real `@aws-sdk/client-iam` over HTTP, against nock (Query
 * protocol: form-encoded POSTs to https://iam.amazonaws.com/, XML answers, errors as `<ErrorResponse>`). A
 * the stateful IAM fake of `test/support/fake-iam.ts` (attachments and group memberships, lists paged one
 * item at a time) runs the shared contract; the tests below pin the wire shapes with one-off interceptors.
 */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { describeProviderContract } from './contract.js';
import { parsePolicy } from '../../src/policy/load.js';
import type { PrincipalType } from '../../src/providers/aws-iam.js';
import { AwsIamManagedProvider, awsIamManagedProvider, parseManagedGrant } from '../../src/providers/aws-iam-managed.js';
import { PermanentProviderError, type GrantTarget } from '../../src/use-cases/ports.js';
import {
  awsClient,
  capture,
  errorXml,
  IAM_ENDPOINT as ENDPOINT,
  okXml,
  useNock,
  useStatefulFake,
  XML_HEADERS as xml,
  type Captured,
  type XmlReply as Reply,
} from '../support/aws-nock.js';
import { FakeIam } from '../support/fake-iam.js';
import { expectIamErrorRetryable, expectIamRefusedForGood, expectNetworkFailureRetryable } from '../support/iam-errors.js';

const SECRET = 'fake-secret-key-never-sent';
const CLIENT = awsClient(ENDPOINT, SECRET);

const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
const PROD_READ = 'arn:aws:iam::123456789012:policy/jit/ProdRead';

const provider = (principalType: PrincipalType = 'user'): AwsIamManagedProvider =>
  new AwsIamManagedProvider({ region: 'us-east-1', principalType, client: CLIENT });

const EXPIRES = new Date('2030-01-02T03:04:05.000Z');
const target = (principal: string, grants: string[], requestId = 'req_abc234'): GrantTarget => ({ requestId, principal, grants, expiresAt: EXPIRES });

/** One reply for one request, recording its form parameters. */
function once(status: number, body: string, seen?: Record<string, string>[]): nock.Scope {
  return nock(ENDPOINT)
    .post('/')
    .reply((_uri, b): Reply => {
      seen?.push(capture(b, {}).params);
      return [status, body, xml];
    });
}

useNock();

describe('over HTTP against a stateful fake', () => {
  let fake: FakeIam;
  useStatefulFake(() => {
    fake = new FakeIam('User', { policies: [READ_ONLY, PROD_READ], groups: ['oncall', 'auditors'] });
    fake.principals.add('dave');
    return fake;
  });

  describeProviderContract('aws-iam-managed', () => ({
    provider: provider(),
    principal: 'dave',
    grants: [PROD_READ, 'group:oncall'],
    perGrantObjects: false,
    hostile: { principal: `d'Artagnan"; DROP TABLE x; --`, grant: PROD_READ },
  }));

  it('reads every page of attachments and memberships, and sees what others attached', async () => {
    fake.attached.set('dave', new Set([READ_ONLY, 'arn:aws:iam::aws:policy/Other', PROD_READ]));
    fake.members.set('dave', new Set(['auditors', 'oncall']));
    expect(await provider().held(target('dave', [PROD_READ, READ_ONLY, 'group:oncall', 'group:nope']))).toEqual([PROD_READ, READ_ONLY, 'group:oncall']);
    expect(fake.calls.filter((c) => c.params['Marker'] !== undefined).length).toBe(3);
  });

  it('leaves other attachments alone on revoke', async () => {
    fake.attached.set('dave', new Set([READ_ONLY]));
    const p = provider();
    await p.grant(target('dave', [PROD_READ]));
    await p.revoke(target('dave', [PROD_READ]));
    expect([...(fake.attached.get('dave') ?? [])]).toEqual([READ_ONLY]);
  });

  it('holds nothing for a user that does not exist, and refuses to attach to one for good', async () => {
    expect(await provider().held(target('ghost', [PROD_READ, 'group:oncall']))).toEqual([]);
    const error = await provider()
      .grant(target('ghost', [PROD_READ]))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(/NoSuchEntity \(HTTP 404\).*|does not exist/);
    await expect(provider().revoke(target('ghost', [PROD_READ, 'group:oncall']))).resolves.toBeUndefined();
  });
});

describe('wire shapes', () => {
  it('attaches with UserName and PolicyArn as form parameters, signed for us-east-1/iam', async () => {
    let call: Captured | undefined;
    const scope = nock(ENDPOINT)
      .post('/')
      .reply(function (_uri, body) {
        call = capture(body, this.req.headers);
        return [200, okXml('AttachUserPolicy'), xml];
      });
    await provider().grant(target('dave', [PROD_READ]));
    scope.done();
    expect(call?.params).toEqual({ Action: 'AttachUserPolicy', Version: '2010-05-08', UserName: 'dave', PolicyArn: PROD_READ });
    expect(call?.raw).toContain('PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fjit%2FProdRead');
    expect(String(call?.headers['authorization'])).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/iam\/aws4_request/);
    expect(call?.raw + JSON.stringify(call?.headers)).not.toContain(SECRET);
  });

  it('treats NoSuchEntity (404) on detaching an unattached policy as already revoked', async () => {
    const seen: Record<string, string>[] = [];
    const scope = once(404, errorXml('NoSuchEntity', `Policy ${PROD_READ} was not found.`), seen);
    await expect(provider().revoke(target('dave', [PROD_READ]))).resolves.toBeUndefined();
    scope.done();
    expect(seen).toEqual([{ Action: 'DetachUserPolicy', Version: '2010-05-08', UserName: 'dave', PolicyArn: PROD_READ }]);
  });

  it('adds to and removes from a group with UserName and GroupName; not a member is success', async () => {
    const seen: Record<string, string>[] = [];
    const scope = nock(ENDPOINT)
      .post('/')
      .reply((_u, b): Reply => (seen.push(capture(b, {}).params), [200, okXml('AddUserToGroup'), xml]))
      .post('/')
      .reply((_u, b): Reply => (seen.push(capture(b, {}).params), [200, okXml('RemoveUserFromGroup'), xml]))
      .post('/')
      .reply((_u, b): Reply => (seen.push(capture(b, {}).params), [404, errorXml('NoSuchEntity', 'User dave is not in group oncall.'), xml]));
    const p = provider();
    await p.grant(target('dave', ['group:oncall']));
    await p.revoke(target('dave', ['group:oncall']));
    await p.revoke(target('dave', ['group:oncall']));
    scope.done();
    expect(seen.map((s) => [s['Action'], s['UserName'], s['GroupName']])).toEqual([
      ['AddUserToGroup', 'dave', 'oncall'],
      ['RemoveUserFromGroup', 'dave', 'oncall'],
      ['RemoveUserFromGroup', 'dave', 'oncall'],
    ]);
  });

  it('uses the Role operations for principal_type role', async () => {
    const seen: Record<string, string>[] = [];
    const list = `<ListAttachedRolePoliciesResult><AttachedPolicies><member><PolicyName>ProdRead</PolicyName><PolicyArn>${PROD_READ}</PolicyArn></member></AttachedPolicies><IsTruncated>false</IsTruncated></ListAttachedRolePoliciesResult>`;
    const scope = nock(ENDPOINT)
      .post('/')
      .reply((_u, b): Reply => (seen.push(capture(b, {}).params), [200, okXml('AttachRolePolicy'), xml]))
      .post('/')
      .reply((_u, b): Reply => (seen.push(capture(b, {}).params), [200, okXml('ListAttachedRolePolicies', list), xml]))
      .post('/')
      .reply((_u, b): Reply => (seen.push(capture(b, {}).params), [200, okXml('DetachRolePolicy'), xml]));
    const p = provider('role');
    await p.grant(target('ops-admin', [PROD_READ]));
    expect(await p.held(target('ops-admin', [PROD_READ, READ_ONLY]))).toEqual([PROD_READ]);
    await p.revoke(target('ops-admin', [PROD_READ]));
    scope.done();
    expect(seen.map((s) => [s['Action'], s['RoleName'], s['PolicyArn'], s['UserName']])).toEqual([
      ['AttachRolePolicy', 'ops-admin', PROD_READ, undefined],
      ['ListAttachedRolePolicies', 'ops-admin', undefined, undefined],
      ['DetachRolePolicy', 'ops-admin', PROD_READ, undefined],
    ]);
  });

  it.each([
    ['AccessDenied', 403, 'User: arn:aws:sts::123456789012:assumed-role/accessbot/x is not authorized to perform: iam:AttachUserPolicy'],
    ['NoSuchEntity', 404, `Policy ${PROD_READ} does not exist or is not attachable.`],
    ['LimitExceeded', 409, 'Cannot exceed quota for PoliciesPerUser: 10'],
  ])('refuses for good on %s (%i) when attaching', async (code, status, message) => {
    await expectIamRefusedForGood(() => provider().grant(target('dave', [PROD_READ])), once(status, errorXml(code, message)), {
      code,
      status,
      mentions: PROD_READ,
      secret: SECRET,
      says: code === 'LimitExceeded' ? /10 managed policies per user/ : undefined,
    });
  });

  it('says how many groups a user may join on LimitExceeded from AddUserToGroup', async () => {
    const scope = once(409, errorXml('LimitExceeded', 'Cannot exceed quota for GroupsPerUser: 10'));
    const error = await provider()
      .grant(target('dave', ['group:oncall']))
      .catch((e: unknown) => e);
    scope.done();
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(/at most 10 groups/);
  });

  it.each([
    ['Throttling', 400, 'Sender', 'Rate exceeded'],
    ['ServiceFailure', 500, 'Receiver', 'The request processing has failed because of an unknown error.'],
  ])('keeps %s (%i) retryable, on grant, revoke and held', async (code, status, type, message) => {
    await expectIamErrorRetryable(
      [() => provider().grant(target('dave', [PROD_READ])), () => provider().revoke(target('dave', ['group:oncall'])), () => provider().held(target('dave', [PROD_READ]))],
      { code, status, type, message },
    );
  });

  it('keeps a network failure retryable', async () => {
    await expectNetworkFailureRetryable(() => provider().grant(target('dave', [PROD_READ])));
  });
});

describe('names and grants', () => {
  it('refuses a hostile principal name before any request, and has nothing to revoke for it', async () => {
    // No interceptor: a request would fail as a (retryable) NetConnectNotAllowedError, not as permanent.
    for (const name of [`d'Artagnan`, 'a"b', 'x; DROP', 'rôle', '', 'a'.repeat(65), 'a&Action=DeleteUser']) {
      await expect(provider().grant(target(name, [PROD_READ]))).rejects.toBeInstanceOf(PermanentProviderError);
      await expect(provider().held(target(name, ['group:oncall']))).rejects.toBeInstanceOf(PermanentProviderError);
      await expect(provider().revoke(target(name, [PROD_READ]))).resolves.toBeUndefined();
    }
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('refuses hostile or malformed grants before any request', async () => {
    for (const grant of [
      'ReadOnlyAccess',
      'arn:aws:iam::aws:policy/Read"Only',
      'arn:aws:iam::12345:policy/X',
      'arn:aws:s3:::bucket',
      'arn:aws:iam::123456789012:role/Admin',
      'arn:aws:iam::aws:policy/X&Action=DeleteUser',
      'group:',
      'group:on call',
      `group:x'; DROP`,
    ]) {
      await expect(provider().grant(target('dave', [grant]))).rejects.toBeInstanceOf(PermanentProviderError);
      await expect(provider().held(target('dave', [grant]))).rejects.toBeInstanceOf(PermanentProviderError);
      await expect(provider().revoke(target('dave', [grant]))).resolves.toBeUndefined();
    }
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('refuses a group for a role as permanent, before any request', async () => {
    const error = await provider('role')
      .grant(target('ops-admin', [PROD_READ, 'group:oncall']))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(/an IAM role cannot be a group member/);
    await expect(provider('role').revoke(target('ops-admin', ['group:oncall']))).resolves.toBeUndefined();
  });

  it('accepts the ARN forms IAM uses', () => {
    for (const arn of [READ_ONLY, PROD_READ, 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole', 'arn:aws-us-gov:iam::123456789012:policy/X']) {
      expect(parseManagedGrant(arn, 'role')).toEqual({ kind: 'policy', arn });
    }
    expect(parseManagedGrant('group:ops+admins@x', 'user')).toEqual({ kind: 'group', name: 'ops+admins@x' });
  });
});

describe('check', () => {
  it('reads each policy and group, sends nothing that writes, and warns that attaching is not verified', async () => {
    const seen: Record<string, string>[] = [];
    const policy = (arn: string, attachable: boolean): string =>
      `<GetPolicyResult><Policy><PolicyName>x</PolicyName><Arn>${arn}</Arn><IsAttachable>${attachable}</IsAttachable><AttachmentCount>0</AttachmentCount></Policy></GetPolicyResult>`;
    const group = `<GetGroupResult><Group><Path>/</Path><GroupName>oncall</GroupName><GroupId>AGPA1</GroupId><Arn>arn:aws:iam::123456789012:group/oncall</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate></Group><Users></Users><IsTruncated>false</IsTruncated></GetGroupResult>`;
    const scope = nock(ENDPOINT)
      .post('/')
      .reply((_u, b): Reply => (seen.push(capture(b, {}).params), [200, okXml('GetPolicy', policy(PROD_READ, true)), xml]))
      .post('/')
      .reply((_u, b): Reply => (seen.push(capture(b, {}).params), [200, okXml('GetPolicy', policy(READ_ONLY, false)), xml]))
      .post('/')
      .reply((_u, b): Reply => (seen.push(capture(b, {}).params), [200, okXml('GetGroup', group), xml]))
      .post('/')
      .reply((_u, b): Reply => (seen.push(capture(b, {}).params), [404, errorXml('NoSuchEntity', 'The group with name ghosts cannot be found.'), xml]));
    const result = await provider().check([PROD_READ, READ_ONLY, 'group:oncall', 'group:ghosts', 'nonsense']);
    scope.done();
    expect(seen.map((s) => s['Action'])).toEqual(['GetPolicy', 'GetPolicy', 'GetGroup', 'GetGroup']);
    expect(result.ok).toBe(false);
    const text = result.findings.map((f) => `${f.level}: ${f.what}`);
    expect(text).toContain(`ok: ${PROD_READ} and group oncall exist`);
    expect(text).toContain(`fail: managed policy ${READ_ONLY} exists but IAM says it cannot be attached`);
    expect(text).toContain(`fail: IAM group ghosts does not exist: create it or fix the role's grants`);
    expect(text.some((t) => t.startsWith('fail: "nonsense" is neither'))).toBe(true);
    expect(text.some((t) => t.startsWith('warn: not verified: iam:AttachUserPolicy') && t.includes('only simulated'))).toBe(true);
  });

  it('fails on refused credentials', async () => {
    const scope = once(403, errorXml('InvalidClientTokenId', 'The security token included in the request is invalid.'));
    const result = await provider().check([PROD_READ, READ_ONLY]);
    scope.done();
    expect(result.ok).toBe(false);
    expect(result.findings).toEqual([{ level: 'fail', what: expect.stringMatching(/^cannot use the AWS credentials: InvalidClientTokenId/) }]);
  });
});

describe('settings', () => {
  const policyText = (settings: string, grants = `[${READ_ONLY}, "group:oncall"]`): string => `version: 1
principals: { U0DAVE001: dave }
resources:
  aws-prod:
    provider: aws-iam-managed
${settings}
    roles:
      read:
        grants: ${grants}
        max_duration: 4h
        approvers: { users: [U0BOB0002] }
        channel: C0APPROVE1
`;

  it('reads the documented YAML and builds the provider from it', async () => {
    const parsed = parsePolicy(policyText('    region: eu-west-1\n    principal_type: role', `[${READ_ONLY}]`), 'policy.yaml');
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
    if (!parsed.ok) return;
    const settings = parsed.policy.resources['aws-prod']?.settings ?? {};
    expect(settings).toEqual({ region: 'eu-west-1', principal_type: 'role' });
    expect(awsIamManagedProvider.envNames(settings)).toEqual([]);
    const built = awsIamManagedProvider.create(settings, {}, 'resources.aws-prod');
    expect(built).toBeInstanceOf(AwsIamManagedProvider);
    expect(built.perGrantObjects).toBe(false);
    await built.close();
  });

  it('defaults region to us-east-1 and principal_type to user', () => {
    const parsed = parsePolicy(policyText(''), 'policy.yaml');
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
    expect(parsed.ok && parsed.policy.resources['aws-prod']?.settings).toEqual({ region: 'us-east-1', principal_type: 'user' });
  });

  it.each([
    ['a bad region', '    region: Frankfurt', /"Frankfurt" is not an AWS region/],
    ['a bad principal_type', '    principal_type: group', /must be user or role/],
    ['inline policies', '    policies: {}', /policies/],
  ])('refuses %s', (_what, settings, says) => {
    const parsed = parsePolicy(policyText(settings), 'policy.yaml');
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.errors.join('\n')).toMatch(says);
  });
});
