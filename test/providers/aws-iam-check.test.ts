/**
 * `AwsIamProvider.check` with the real `@aws-sdk/client-iam` against nock: IAM's Query protocol (form POSTs
 * to https://iam.amazonaws.com/, XML answers). Every request is recorded, and every test asserts that only
 * the two reads the check may make were sent: GetUser and SimulatePrincipalPolicy, never a Put or Delete.
 */
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AwsIamProvider, type PolicyStatement, type PrincipalType } from '../../src/providers/aws-iam.js';

const ENDPOINT = 'https://iam.amazonaws.com';
const NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const SECRET = 'fake-secret-key-never-sent';
const CLIENT = { credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SECRET }, endpoint: ENDPOINT, maxAttempts: 1 };
const ACCOUNT = '123456789012';
const BOT_USER = `arn:aws:iam::${ACCOUNT}:user/accessbot`;
const READS = new Set(['GetUser', 'SimulatePrincipalPolicy']);

const POLICIES: Record<string, PolicyStatement[]> = {
  's3-read': [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::prod-data/*' }],
  'logs-read': [{ Effect: 'Allow', Action: 'logs:GetLogEvents', Resource: '*' }],
};

const xml = { 'content-type': 'text/xml' };
const ok = (action: string, result: string): string =>
  `<${action}Response xmlns="${NS}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></${action}Response>`;
const error = (code: string, message: string): string =>
  `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`;
const user = (arn: string) =>
  `<User><Path>/</Path><UserName>accessbot</UserName><UserId>AIDAEXAMPLE</UserId><Arn>${arn}</Arn><CreateDate>2020-01-01T00:00:00Z</CreateDate></User>`;
const simulation = (decisions: Record<string, string>, resource: string) =>
  `<IsTruncated>false</IsTruncated><EvaluationResults>${Object.entries(decisions)
    .map(([action, decision]) => `<member><EvalActionName>${action}</EvalActionName><EvalResourceName>${resource}</EvalResourceName><EvalDecision>${decision}</EvalDecision></member>`)
    .join('')}</EvaluationResults>`;

type Reply = [number, string];
let calls: Record<string, string>[] = [];
let scope: nock.Scope | undefined;

/** Answers each IAM action from `replies`; any other action (a write) fails the test. */
function iam(replies: Record<string, Reply>): void {
  scope = nock(ENDPOINT)
    .persist()
    .post('/')
    .reply((_uri, body) => {
      const params = Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : ''));
      calls.push(params);
      const reply = replies[params.Action ?? ''];
      return reply ? [reply[0], reply[1], xml] : [400, error('Unexpected', `unexpected action ${params.Action}`), xml];
    });
}

const provider = (principalType: PrincipalType = 'user', client: object = CLIENT, policies = POLICIES): AwsIamProvider =>
  new AwsIamProvider({ region: 'us-east-1', principalType, policies, client });

const text = (findings: { level: string; what: string }[]) => findings.map((f) => `${f.level} ${f.what}`);

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => {
  // The check reads and never writes.
  for (const call of calls) expect(READS.has(call.Action ?? '')).toBe(true);
  calls = [];
  scope?.persist(false);
  scope = undefined;
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
});

describe('AwsIamProvider.check', () => {
  it('reports a healthy bot: templates defined, credentials resolve, the three actions allowed on every user', async () => {
    iam({
      GetUser: [200, ok('GetUser', user(BOT_USER))],
      SimulatePrincipalPolicy: [
        200,
        ok('SimulatePrincipalPolicy', simulation({ 'iam:PutUserPolicy': 'allowed', 'iam:GetUserPolicy': 'allowed', 'iam:DeleteUserPolicy': 'allowed' }, `arn:aws:iam::${ACCOUNT}:user/*`)),
      ],
    });
    const result = await provider().check(['s3-read', 'logs-read', 's3-read']);
    expect(text(result.findings)).toEqual([
      'ok policy templates "s3-read", "logs-read" are defined',
      `ok AWS credentials resolve to ${BOT_USER}`,
      `ok iam:PutUserPolicy, iam:GetUserPolicy and iam:DeleteUserPolicy allowed on arn:aws:iam::${ACCOUNT}:user/* (IAM policy simulator)`,
    ]);
    expect(result.ok).toBe(true);
    expect(calls.map((c) => c.Action)).toEqual(['GetUser', 'SimulatePrincipalPolicy']);
    expect(calls[1]).toMatchObject({
      PolicySourceArn: BOT_USER,
      'ActionNames.member.1': 'iam:PutUserPolicy',
      'ActionNames.member.2': 'iam:GetUserPolicy',
      'ActionNames.member.3': 'iam:DeleteUserPolicy',
      'ResourceArns.member.1': `arn:aws:iam::${ACCOUNT}:user/*`,
    });
    expect(calls[0]!.UserName).toBeUndefined(); // the caller itself
  });

  it('reports a bot missing a permission (a warning: the simulation asks about every user) and an unknown template (a failure)', async () => {
    iam({
      GetUser: [200, ok('GetUser', user(BOT_USER))],
      SimulatePrincipalPolicy: [
        200,
        ok('SimulatePrincipalPolicy', simulation({ 'iam:PutUserPolicy': 'allowed', 'iam:GetUserPolicy': 'allowed', 'iam:DeleteUserPolicy': 'implicitDeny' }, `arn:aws:iam::${ACCOUNT}:user/*`)),
      ],
    });
    const result = await provider().check(['s3-read', 'no-such-template']);
    expect(result.ok).toBe(false);
    expect(text(result.findings)).toEqual([
      `fail no policy template "no-such-template" in this resource's policies: list it there or fix the role's grants`,
      'ok policy templates "s3-read" are defined',
      `ok AWS credentials resolve to ${BOT_USER}`,
      `warn iam:DeleteUserPolicy is not allowed on arn:aws:iam::${ACCOUNT}:user/* (implicitDeny): grant or revoke needs it on every principal of this resource; if the bot's policy names those users by path or name, check it covers them all`,
      `ok iam:PutUserPolicy and iam:GetUserPolicy allowed on arn:aws:iam::${ACCOUNT}:user/* (IAM policy simulator)`,
    ]);
  });

  it('for a role session, reads the caller from the AccessDenied and simulates its role; an unverifiable simulation is a warning', async () => {
    const session = `arn:aws:sts::${ACCOUNT}:assumed-role/accessbot-granter/i-0abc`;
    iam({
      GetUser: [403, error('AccessDenied', `User: ${session} is not authorized to perform: iam:GetUser on resource: user accessbot-granter`)],
      SimulatePrincipalPolicy: [403, error('AccessDenied', `User: ${session} is not authorized to perform: iam:SimulatePrincipalPolicy`)],
    });
    const result = await provider('role').check(['logs-read']);
    expect(text(result.findings)).toEqual([
      'ok policy templates "logs-read" are defined',
      `ok AWS credentials resolve to ${session} (iam:GetUser is not allowed; only this check uses it)`,
      `warn could not verify permissions (iam:PutRolePolicy, iam:GetRolePolicy and iam:DeleteRolePolicy): allow iam:SimulatePrincipalPolicy on arn:aws:iam::${ACCOUNT}:role/accessbot-granter for this check`,
    ]);
    expect(result.ok).toBe(true);
    expect(calls[1]!.PolicySourceArn).toBe(`arn:aws:iam::${ACCOUNT}:role/accessbot-granter`);
  });

  it('fails when IAM refuses the credentials, or none can be found, without printing them', async () => {
    iam({ GetUser: [403, error('InvalidClientTokenId', 'The security token included in the request is invalid.')] });
    const refused = await provider().check(['s3-read']);
    expect(refused.ok).toBe(false);
    expect(text(refused.findings).at(-1)).toBe(
      'fail cannot use the AWS credentials: InvalidClientTokenId (HTTP 403): The security token included in the request is invalid.',
    );
    expect(JSON.stringify(refused)).not.toContain(SECRET);

    const none = provider('user', {
      endpoint: ENDPOINT,
      maxAttempts: 1,
      credentials: async () => {
        throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
      },
    });
    const missing = await none.check(['s3-read']);
    expect(missing.ok).toBe(false);
    expect(text(missing.findings).at(-1)).toBe('fail cannot use the AWS credentials: CredentialsProviderError: Could not load credentials from any providers');
  });

  it('fails a template too large for the inline-policy quota', async () => {
    iam({ GetUser: [200, ok('GetUser', user(BOT_USER))], SimulatePrincipalPolicy: [200, ok('SimulatePrincipalPolicy', simulation({}, '*'))] });
    const huge: PolicyStatement[] = [{ Effect: 'Allow', Action: Array.from({ length: 200 }, (_, i) => `s3:Action${i}`), Resource: '*' }];
    const result = await provider('user', CLIENT, { huge }).check(['huge']);
    expect(result.ok).toBe(false);
    expect(text(result.findings)[0]).toMatch(/^fail policy template "huge" makes a \d+-character policy; IAM allows 2048 characters of inline policy per user$/);
  });
});
