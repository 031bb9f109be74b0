/**
 * The AWS IAM provider with the real `@aws-sdk/client-iam` over HTTP, against nock. IAM speaks the Query
 * protocol: a form-encoded POST to https://iam.amazonaws.com/ answered with XML, errors as `<ErrorResponse>`.
 * The stateful IAM fake of `test/support/fake-iam.ts` (principals and their inline policies) lets the shared
 * contract suite run end to end; the explicit tests below pin the wire shapes with one-off interceptors.
 */
import nock from 'nock';
import { beforeEach, describe, expect, it } from 'vitest';
import { describeProviderContract } from './contract.js';
import { parsePolicy } from '../../src/policy/load.js';
import { AwsIamProvider, awsIamProvider, type PolicyStatement, type PrincipalType } from '../../src/providers/aws-iam.js';
import { PermanentProviderError, type GrantTarget } from '../../src/use-cases/ports.js';
import { awsClient, capture, errorXml, IAM_ENDPOINT as ENDPOINT, okXml, useNock, useStatefulFake, XML_HEADERS as xml, type Captured } from '../support/aws-nock.js';
import { FakeIam } from '../support/fake-iam.js';
import { expectIamErrorRetryable, expectIamRefusedForGood, expectNetworkFailureRetryable } from '../support/iam-errors.js';

const SECRET = 'fake-secret-key-never-sent';
const CLIENT = awsClient(ENDPOINT, SECRET);

const POLICIES: Record<string, PolicyStatement[]> = {
  's3-read': [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: ['arn:aws:s3:::prod-data', 'arn:aws:s3:::prod-data/*'] }],
  'logs-read': [
    { Effect: 'Allow', Action: 'logs:GetLogEvents', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } },
    { Effect: 'Deny', Action: 'logs:DeleteLogGroup', Resource: '*' },
  ],
};

const provider = (principalType: PrincipalType = 'user'): AwsIamProvider =>
  new AwsIamProvider({ region: 'us-east-1', principalType, policies: POLICIES, client: CLIENT });

const EXPIRES = new Date('2030-01-02T03:04:05.000Z');
const target = (principal: string, grants: string[], requestId = 'req_abc234'): GrantTarget => ({ requestId, principal, grants, expiresAt: EXPIRES });

useNock();

describe('over HTTP against a stateful fake', () => {
  let fake: FakeIam;
  useStatefulFake(() => {
    fake = new FakeIam('User');
    fake.principals.add('dave');
    return fake;
  });

  describeProviderContract('aws-iam', () => ({
    provider: provider(),
    principal: 'dave',
    grants: ['s3-read', 'logs-read'],
    perGrantObjects: true,
    hostile: { principal: `d'Artagnan"; DROP TABLE x; --`, grant: 's3-read' },
  }));

  it('keeps each grant in its own policy and deletes only that one', async () => {
    const p = provider();
    await p.grant(target('dave', ['s3-read'], 'req_one'));
    await p.grant(target('dave', ['s3-read', 'logs-read'], 'req_two'));
    expect([...(fake.inline.get('dave')?.keys() ?? [])]).toEqual(['jit-req_one', 'jit-req_two']);
    await p.revoke(target('dave', ['s3-read'], 'req_two'));
    expect([...(fake.inline.get('dave')?.keys() ?? [])]).toEqual(['jit-req_one']);
    expect(await p.held(target('dave', ['s3-read', 'logs-read'], 'req_one'))).toEqual(['s3-read']);
  });
});

describe('wire shapes', () => {
  it('puts one policy jit-<requestId> whose every statement ends at the exact expiresAt', async () => {
    let call: Captured | undefined;
    const scope = nock(ENDPOINT)
      .post('/')
      .reply(function (_uri, body) {
        call = capture(body, this.req.headers);
        return [200, okXml('PutUserPolicy'), xml];
      });
    await provider().grant(target('dave', ['s3-read', 'logs-read']));
    scope.done();

    const params = call?.params ?? {};
    expect(params).toMatchObject({ Action: 'PutUserPolicy', Version: '2010-05-08', UserName: 'dave', PolicyName: 'jit-req_abc234' });
    // Form-encoded: the JSON document travels percent-encoded, and decodes to exactly what was sent.
    expect(call?.raw).toContain('PolicyDocument=%7B%22Version%22%3A%222012-10-17%22');
    const doc = JSON.parse(params['PolicyDocument'] ?? '') as { Version: string; Statement: Record<string, unknown>[] };
    expect(doc.Version).toBe('2012-10-17');
    expect(doc.Statement).toHaveLength(3);
    for (const statement of doc.Statement) {
      expect(statement['Condition']).toMatchObject({ DateLessThan: { 'aws:CurrentTime': '2030-01-02T03:04:05Z' } });
      expect(statement['Sid']).toMatch(/^Jit[0-9a-f]+S\d+$/);
    }
    expect(doc.Statement[0]).toEqual({
      Sid: 'Jit73332d72656164S0',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:ListBucket'],
      Resource: ['arn:aws:s3:::prod-data', 'arn:aws:s3:::prod-data/*'],
      Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-02T03:04:05Z' } },
    });
    // A template's own conditions are kept beside the end.
    expect(doc.Statement[1]?.['Condition']).toEqual({
      Bool: { 'aws:SecureTransport': 'true' },
      DateLessThan: { 'aws:CurrentTime': '2030-01-02T03:04:05Z' },
    });
    expect(doc.Statement[2]).toMatchObject({ Effect: 'Deny', Action: 'logs:DeleteLogGroup' });

    // Signed with SigV4 for us-east-1/iam; the secret key itself never travels.
    expect(String(call?.headers['authorization'])).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/iam\/aws4_request/);
    expect(call?.raw + JSON.stringify(call?.headers)).not.toContain(SECRET);
  });

  it('rounds an end with milliseconds down to the second, never later', async () => {
    let doc = '';
    const scope = nock(ENDPOINT)
      .post('/')
      .reply((_uri, body) => {
        doc = capture(body, {}).params['PolicyDocument'] ?? '';
        return [200, okXml('PutUserPolicy'), xml];
      });
    await provider().grant({ ...target('dave', ['s3-read']), expiresAt: new Date('2030-01-02T03:04:05.999Z') });
    scope.done();
    expect(doc).toContain('"aws:CurrentTime":"2030-01-02T03:04:05Z"');
  });

  it('uses the Role operations for principal_type role', async () => {
    const seen: Record<string, string>[] = [];
    const reply = (action: string, status = 200) =>
      function (_uri: string, body: unknown): [number, string, Record<string, string>] {
        seen.push(capture(body, {}).params);
        return status === 200 ? [200, okXml(action), xml] : [status, errorXml('NoSuchEntity', 'The role policy with name jit-req_abc234 cannot be found.'), xml];
      };
    const scope = nock(ENDPOINT).post('/').reply(reply('PutRolePolicy')).post('/').reply(reply('DeleteRolePolicy')).post('/').reply(reply('GetRolePolicy', 404));
    const p = provider('role');
    await p.grant(target('ops-admin', ['s3-read']));
    await p.revoke(target('ops-admin', ['s3-read']));
    expect(await p.held(target('ops-admin', ['s3-read']))).toEqual([]);
    scope.done();
    expect(seen.map((s) => [s['Action'], s['RoleName'], s['PolicyName'], s['UserName']])).toEqual([
      ['PutRolePolicy', 'ops-admin', 'jit-req_abc234', undefined],
      ['DeleteRolePolicy', 'ops-admin', 'jit-req_abc234', undefined],
      ['GetRolePolicy', 'ops-admin', 'jit-req_abc234', undefined],
    ]);
  });

  it('reads held grants from the URL-encoded document GetUserPolicy returns, by our Sids only', async () => {
    const doc = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Jit6c6f67732d72656164S0', Effect: 'Allow', Action: 'logs:GetLogEvents', Resource: '*' },
        { Sid: 'Jit6c6f67732d72656164S1', Effect: 'Deny', Action: 'logs:DeleteLogGroup', Resource: '*' },
        { Sid: 'SomeoneElse', Effect: 'Allow', Action: 's3:*', Resource: '*' },
      ],
    });
    let params: Record<string, string> = {};
    const scope = nock(ENDPOINT)
      .post('/')
      .reply((_uri, body) => {
        params = capture(body, {}).params;
        const result = `<GetUserPolicyResult><UserName>dave</UserName><PolicyName>jit-req_abc234</PolicyName><PolicyDocument>${encodeURIComponent(doc)}</PolicyDocument></GetUserPolicyResult>`;
        return [200, okXml('GetUserPolicy', result), xml];
      });
    expect(await provider().held(target('dave', ['s3-read', 'logs-read']))).toEqual(['logs-read']);
    scope.done();
    expect(params).toEqual({ Action: 'GetUserPolicy', Version: '2010-05-08', UserName: 'dave', PolicyName: 'jit-req_abc234' });
  });

  it('holds nothing when the policy or the user does not exist (NoSuchEntity)', async () => {
    const scope = nock(ENDPOINT).post('/').reply(404, errorXml('NoSuchEntity', 'The user with name ghost cannot be found.'), xml);
    expect(await provider().held(target('ghost', ['s3-read']))).toEqual([]);
    scope.done();
  });

  it('treats NoSuchEntity (404) on delete as already revoked', async () => {
    let params: Record<string, string> = {};
    const scope = nock(ENDPOINT)
      .post('/')
      .reply((_uri, body) => {
        params = capture(body, {}).params;
        return [404, errorXml('NoSuchEntity', 'The user policy with name jit-req_abc234 cannot be found.'), xml];
      });
    await expect(provider().revoke(target('dave', ['s3-read']))).resolves.toBeUndefined();
    scope.done();
    expect(params).toEqual({ Action: 'DeleteUserPolicy', Version: '2010-05-08', UserName: 'dave', PolicyName: 'jit-req_abc234' });
  });

  it.each([
    ['AccessDenied', 403, 'User: arn:aws:sts::123456789012:assumed-role/accessbot/x is not authorized to perform: iam:PutUserPolicy'],
    ['NoSuchEntity', 404, 'The user with name ghost cannot be found.'],
    ['MalformedPolicyDocument', 400, 'Syntax errors in policy.'],
    ['LimitExceeded', 409, 'Maximum policy size of 2048 bytes exceeded for user dave'],
  ])('refuses for good on %s (%i) when putting the policy', async (code, status, message) => {
    await expectIamRefusedForGood(() => provider().grant(target('dave', ['s3-read'])), nock(ENDPOINT).post('/').reply(status, errorXml(code, message), xml), {
      code,
      status,
      mentions: 'jit-req_abc234',
      secret: SECRET,
      says: code === 'LimitExceeded' ? /2,048 characters of inline policy per user/ : undefined,
    });
  });

  it.each([
    ['Throttling', 400, 'Sender', 'Rate exceeded'],
    ['ServiceFailure', 500, 'Receiver', 'The request processing has failed because of an unknown error.'],
  ])('keeps %s (%i) retryable, on grant and on revoke', async (code, status, type, message) => {
    await expectIamErrorRetryable([() => provider().grant(target('dave', ['s3-read'])), () => provider().revoke(target('dave', ['s3-read']))], { code, status, type, message });
  });

  it('keeps a network failure retryable', async () => {
    await expectNetworkFailureRetryable(() => provider().revoke(target('dave', ['s3-read'])));
  });
});

describe('names', () => {
  it('sends an odd but legal IAM name only as a percent-encoded form parameter', async () => {
    const odd = 'ops+dave=x,y.z@example-co_1';
    let call: Captured | undefined;
    const scope = nock(ENDPOINT)
      .post('/')
      .reply(function (_uri, body) {
        call = capture(body, this.req.headers);
        return [200, okXml('PutUserPolicy'), xml];
      });
    await provider().grant(target(odd, ['s3-read']));
    scope.done();
    expect(call?.raw).toContain('UserName=ops%2Bdave%3Dx%2Cy.z%40example-co_1&');
    expect(call?.params['UserName']).toBe(odd);
  });

  it('refuses a name IAM would refuse, before any request, and has nothing to revoke for it', async () => {
    // No interceptor: a request would fail as a (retryable) NetConnectNotAllowedError, not as permanent.
    for (const name of [`d'Artagnan`, 'a"b', 'x; DROP', 'rôle', '', 'a'.repeat(65), 'a&Action=DeleteUser']) {
      await expect(provider().grant(target(name, ['s3-read']))).rejects.toBeInstanceOf(PermanentProviderError);
      await expect(provider().held(target(name, ['s3-read']))).rejects.toBeInstanceOf(PermanentProviderError);
      await expect(provider().revoke(target(name, ['s3-read']))).resolves.toBeUndefined();
    }
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('refuses a grant that names no template, and sends nothing for no grants', async () => {
    await expect(provider().grant(target('dave', ['s3-read', 'admin']))).rejects.toThrow(/no policy template "admin"/);
    await expect(provider().grant(target('dave', ['admin']))).rejects.toBeInstanceOf(PermanentProviderError);
    await expect(provider().grant(target('dave', []))).resolves.toBeUndefined();
    expect(await provider().held(target('dave', []))).toEqual([]);
  });
});

describe('settings', () => {
  const policyText = (settings: string): string => `version: 1
principals: { U0DAVE001: dave }
resources:
  aws-prod:
    provider: aws-iam
${settings}
    roles:
      read:
        grants: [s3-read]
        max_duration: 4h
        approvers: { users: [U0BOB0002] }
        channel: C0APPROVE1
`;
  const GOOD = `    region: eu-west-1
    principal_type: role
    policies:
      s3-read:
        - Effect: Allow
          Action: [s3:GetObject, s3:ListBucket]
          Resource: [arn:aws:s3:::prod-data, arn:aws:s3:::prod-data/*]`;

  it('reads the documented YAML and builds the provider from it', async () => {
    const parsed = parsePolicy(policyText(GOOD), 'policy.yaml');
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
    if (!parsed.ok) return;
    const settings = parsed.policy.resources['aws-prod']?.settings ?? {};
    expect(settings).toEqual({
      region: 'eu-west-1',
      principal_type: 'role',
      policies: { 's3-read': [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: ['arn:aws:s3:::prod-data', 'arn:aws:s3:::prod-data/*'] }] },
    });
    expect(awsIamProvider.envNames(settings)).toEqual([]);
    const built = awsIamProvider.create(settings, {}, 'resources.aws-prod');
    expect(built).toBeInstanceOf(AwsIamProvider);
    await built.close();
  });

  it('defaults region to us-east-1 and principal_type to user', () => {
    const parsed = parsePolicy(policyText(`    policies:\n      s3-read: [{ Effect: Allow, Action: s3:GetObject, Resource: "*" }]`), 'policy.yaml');
    expect(parsed.ok && parsed.policy.resources['aws-prod']?.settings).toMatchObject({ region: 'us-east-1', principal_type: 'user' });
  });

  it.each([
    ['a Sid', `    policies:\n      s3-read: [{ Sid: Mine, Effect: Allow, Action: s3:GetObject, Resource: "*" }]`, /Sid is set by accessbot/],
    ['a Principal', `    policies:\n      s3-read: [{ Principal: "*", Effect: Allow, Action: s3:GetObject, Resource: "*" }]`, /Principal does not belong/],
    ['its own end', `    policies:\n      s3-read: [{ Effect: Allow, Action: s3:GetObject, Resource: "*", Condition: { DateLessThan: { "aws:CurrentTime": "2031-01-01T00:00:00Z" } } }]`, /sets DateLessThan aws:CurrentTime itself/],
    ['no Action', `    policies:\n      s3-read: [{ Effect: Allow, Resource: "*" }]`, /exactly one of Action and NotAction/],
    ['a bad Effect', `    policies:\n      s3-read: [{ Effect: allow, Action: s3:GetObject, Resource: "*" }]`, /must be Allow or Deny/],
    ['no policies', `    region: us-east-1`, /policies: required/],
    ['a bad name', `    policies:\n      "s3 read!": [{ Effect: Allow, Action: s3:GetObject, Resource: "*" }]`, /"s3 read!" is not a valid template name/],
    ['a bad region', `    region: Frankfurt\n    policies:\n      s3-read: [{ Effect: Allow, Action: s3:GetObject, Resource: "*" }]`, /"Frankfurt" is not an AWS region/],
    ['a bad principal_type', `    principal_type: group\n    policies:\n      s3-read: [{ Effect: Allow, Action: s3:GetObject, Resource: "*" }]`, /must be user or role/],
  ])('refuses a template with %s', (_what, settings, says) => {
    const parsed = parsePolicy(policyText(settings), 'policy.yaml');
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.errors.join('\n')).toMatch(says);
  });
});
