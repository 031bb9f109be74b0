/**
 * The Google Cloud IAM provider through the real `@googleapis/cloudresourcemanager` client and the real
 * google-auth-library: a throw-away service-account key signs a JWT for a nocked token endpoint, and a small
 * stateful fake of the Resource Manager v3 API (an in-memory policy whose etag changes on every write) stands
 * in for Google. Nothing leaves the machine: `nock.disableNetConnect()`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import nock from 'nock';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { describeProviderContract } from './contract.js';
import { GcpIamProvider, gcpProvider, memberOf, type GcpIamProviderOptions } from '../../src/providers/gcp-iam.js';
import { PermanentProviderError, type GrantTarget } from '../../src/use-cases/ports.js';
import { useNock } from '../support/nock-scopes.js';

const CRM = 'https://cloudresourcemanager.googleapis.com';
const OAUTH = 'https://oauth2.googleapis.com';
const PROJECT = 'jit-test-project';
const GET = `/v3/projects/${PROJECT}:getIamPolicy`;
const SET = `/v3/projects/${PROJECT}:setIamPolicy`;
const TOKEN = 'ya29.fake-access-token-0123456789';
const KEY_ID = 'f00dfeedsecretkeyid0123456789abcdef';
const { privateKey: PRIVATE_KEY } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const KEY = {
  type: 'service_account',
  project_id: PROJECT,
  private_key_id: KEY_ID,
  private_key: PRIVATE_KEY,
  client_email: `accessbot@${PROJECT}.iam.gserviceaccount.com`,
  client_id: '100000000000000000001',
  token_uri: `${OAUTH}/token`,
};
const KEY_JSON = JSON.stringify(KEY);
/** A line from the middle of the PEM body: no error text may carry any part of the key. */
const KEY_FRAGMENT = PRIVATE_KEY.split('\n')[5]!;

interface Binding {
  role: string;
  members: string[];
  condition?: { title: string; description?: string; expression: string };
}
interface SetBody {
  policy: { version?: number; etag?: string; bindings?: Binding[] };
}

const OWNER: Binding = { role: 'roles/owner', members: ['user:root@example.com'] };
const cond = (requestId: string, iso: string) => ({
  title: `jit-${requestId}`,
  description: `accessbot ${requestId}`,
  expression: `request.time < timestamp("${iso}")`,
});

const { track } = useNock();

/** The token endpoint, once: the JWT client caches the token for the provider's lifetime. */
function tokenEndpoint(): nock.Scope {
  return track(
    nock(OAUTH)
      .post('/token', (body: Record<string, string>) => body.grant_type === 'urn:ietf:params:oauth:grant-type:jwt-bearer' && typeof body.assertion === 'string')
      .reply(200, { access_token: TOKEN, expires_in: 3600, token_type: 'Bearer' }),
  );
}

/** The API, with the bearer token the token endpoint handed out. */
function api(): nock.Scope {
  return track(nock(CRM, { reqheaders: { authorization: `Bearer ${TOKEN}` } }));
}

function provider(options: Partial<GcpIamProviderOptions> = {}): GcpIamProvider {
  tokenEndpoint();
  return new GcpIamProvider({ project: PROJECT, credentials: KEY, retryDelayMs: 1, ...options });
}

function googleError(code: number, status: string, message: string) {
  return { error: { code, message, status } };
}

const VALID_ROLE = /^(roles\/[A-Za-z0-9_.]+|projects\/[a-z0-9-]+\/roles\/[A-Za-z0-9_.]+)$/;
const VALID_MEMBER = /^(user|group|serviceAccount):[^\s@]+@[^\s@]+\.[a-z]+$/;

/**
 * Resource Manager v3, as far as this provider uses it: getIamPolicy answers the stored policy (version 3 when
 * it holds a condition and 3 was asked for, else the version 1 view without conditions), setIamPolicy refuses a stale etag (409 ABORTED), a conditional
 * binding without version 3 and unknown roles or malformed members (400 INVALID_ARGUMENT), then stores the
 * bindings under a new etag.
 */
class FakeIam {
  bindings: Binding[];
  etag = 'BwYAAAAAAAE=';
  #writes = 1;
  readonly sets: SetBody[] = [];

  constructor(bindings: Binding[] = [OWNER]) {
    this.bindings = structuredClone(bindings);
  }

  policy(requested: number | undefined): [number, object] {
    const conditional = this.bindings.some((b) => b.condition);
    if (conditional && requested !== 3) {
      // What IAM does for an older reader: conditions dropped, their roles renamed `<role>_withcond_<hash>`.
      const bindings = this.bindings.map(({ role, members, condition }) => ({ role: condition ? `${role}_withcond_0123abcd` : role, members: [...members] }));
      return [200, { version: 1, etag: this.etag, bindings }];
    }
    return [200, { version: conditional ? 3 : 1, etag: this.etag, bindings: structuredClone(this.bindings) }];
  }

  set(body: SetBody): [number, object] {
    this.sets.push(structuredClone(body));
    const { policy } = body;
    if (policy.etag !== this.etag) return [409, googleError(409, 'ABORTED', 'There were concurrent policy changes.')];
    const bindings = policy.bindings ?? [];
    if (bindings.some((b) => b.condition) && policy.version !== 3) {
      return [400, googleError(400, 'INVALID_ARGUMENT', 'Conditional bindings need policy version 3')];
    }
    const badRole = bindings.find((b) => !VALID_ROLE.test(b.role));
    if (badRole) return [400, googleError(400, 'INVALID_ARGUMENT', `Role (${badRole.role}) does not exist in the resource's hierarchy.`)];
    if (bindings.some((b) => b.members.length === 0 || b.members.some((m) => !VALID_MEMBER.test(m)))) {
      return [400, googleError(400, 'INVALID_ARGUMENT', 'Invalid member.')];
    }
    this.bindings = structuredClone(bindings);
    this.etag = `BwYAAAAAA${(++this.#writes).toString().padStart(2, '0')}=`;
    return this.policy(3);
  }

  /** Persistent interceptors that answer every call from the in-memory policy. */
  serve(): this {
    api()
      .persist()
      .post(GET)
      .reply((_uri, body) => this.policy((body as { options?: { requestedPolicyVersion?: number } }).options?.requestedPolicyVersion))
      .post(SET)
      .reply((_uri, body) => this.set(body as SetBody));
    return this;
  }
}

describeProviderContract('gcp', () => {
  new FakeIam().serve();
  return {
    provider: provider(),
    principal: 'dave@example.com',
    grants: ['roles/viewer', `projects/${PROJECT}/roles/jitReader`],
    perGrantObjects: true,
    // Names are JSON data here, never code: a quoted principal is taken literally; the fake refuses the role.
    hostile: { principal: `o'brien";--@example.com`, grant: 'roles/viewer"); DROP --' },
  };
});

const target = (over: Partial<GrantTarget> = {}): GrantTarget => ({
  requestId: 'req_wire1',
  principal: 'alice@example.com',
  grants: ['roles/viewer'],
  expiresAt: new Date('2026-12-01T10:00:00Z'),
  ...over,
});

describe('gcp provider on the wire', () => {
  it('reads with version 3, then writes version 3 with the etag read and one conditional binding per role', async () => {
    const p = provider();
    let getBody: unknown;
    let setBody: SetBody | undefined;
    api()
      .matchHeader('x-goog-request-reason', 'accessbot req_wire1')
      .post(GET, (body) => ((getBody = body), true))
      .reply(200, { version: 1, etag: 'BwYETAG1', bindings: [OWNER] })
      .post(SET, (body) => ((setBody = body as SetBody), true))
      .reply(200, { version: 3, etag: 'BwYETAG2', bindings: [] });

    await p.grant(target({ grants: ['roles/viewer', `projects/${PROJECT}/roles/custom`] }));

    expect(getBody).toEqual({ options: { requestedPolicyVersion: 3 } });
    const condition = {
      title: 'jit-req_wire1',
      description: 'accessbot req_wire1',
      expression: 'request.time < timestamp("2026-12-01T10:00:00.000Z")',
    };
    expect(setBody).toEqual({
      policy: {
        version: 3,
        etag: 'BwYETAG1',
        bindings: [
          OWNER,
          { role: 'roles/viewer', members: ['user:alice@example.com'], condition },
          { role: `projects/${PROJECT}/roles/custom`, members: ['user:alice@example.com'], condition },
        ],
      },
    });
  });

  it('keeps group:, serviceAccount: and user: members as they are and prefixes a bare email with user:', () => {
    expect(memberOf('alice@example.com')).toBe('user:alice@example.com');
    expect(memberOf('user:alice@example.com')).toBe('user:alice@example.com');
    expect(memberOf('group:ops@example.com')).toBe('group:ops@example.com');
    expect(memberOf('serviceAccount:ci@p.iam.gserviceaccount.com')).toBe('serviceAccount:ci@p.iam.gserviceaccount.com');
    expect(() => memberOf(' ')).toThrow(PermanentProviderError);
  });

  it.each([
    [409, 'ABORTED'],
    [412, 'FAILED_PRECONDITION'],
  ])('retries an etag conflict (%i %s) with a fresh read, keeping the concurrent change', async (status, name) => {
    const p = provider();
    const concurrent: Binding = { role: 'roles/editor', members: ['user:bob@example.com'] };
    const etags: string[] = [];
    api()
      .post(GET)
      .reply(200, { version: 1, etag: 'BwYOLD', bindings: [OWNER] })
      .post(SET, (body: SetBody) => (etags.push(body.policy.etag ?? ''), true))
      .reply(status, googleError(status, name, 'There were concurrent policy changes.'))
      .post(GET)
      .reply(200, { version: 1, etag: 'BwYNEW', bindings: [OWNER, concurrent] })
      .post(SET, (body: SetBody) => {
        etags.push(body.policy.etag ?? '');
        expect(body.policy.bindings).toEqual([OWNER, concurrent, expect.objectContaining({ role: 'roles/viewer', members: ['user:alice@example.com'] })]);
        return true;
      })
      .reply(200, { version: 3, etag: 'BwYNEWER', bindings: [] });

    await p.grant(target());
    expect(etags).toEqual(['BwYOLD', 'BwYNEW']);
  });

  it('gives up on conflicts after the attempts allowed, as a retryable error', async () => {
    const p = provider({ maxAttempts: 2 });
    api()
      .post(GET)
      .times(2)
      .reply(200, { version: 1, etag: 'BwYX', bindings: [OWNER] })
      .post(SET)
      .times(2)
      .reply(409, googleError(409, 'ABORTED', 'There were concurrent policy changes.'));
    const error = await p.grant(target()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(/kept changing/);
  });

  it('revokes only this request’s titled binding and only our member, leaving pre-existing and other access', async () => {
    const ours = cond('req_rev1', '2026-12-01T10:00:00.000Z');
    const before: Binding[] = [
      OWNER,
      // Pre-existing access of the same role and member: never ours to take.
      { role: 'roles/viewer', members: ['user:alice@example.com', 'user:bob@example.com'] },
      // Ours, with a member somebody else added by hand: only alice leaves.
      { role: 'roles/viewer', members: ['user:alice@example.com', 'user:carol@example.com'], condition: ours },
      { role: `projects/${PROJECT}/roles/custom`, members: ['user:alice@example.com'], condition: ours },
      // Another request's grant of the same role to the same member.
      { role: 'roles/viewer', members: ['user:alice@example.com'], condition: cond('req_other', '2026-12-02T10:00:00.000Z') },
    ];
    const fake = new FakeIam(before).serve();
    const p = provider();
    const t = target({ requestId: 'req_rev1', grants: ['roles/viewer', `projects/${PROJECT}/roles/custom`] });

    expect(await p.held(t)).toEqual(['roles/viewer', `projects/${PROJECT}/roles/custom`]);
    await p.revoke(t);

    expect(fake.sets).toHaveLength(1);
    expect(fake.sets[0]!.policy.version).toBe(3);
    expect(fake.bindings).toEqual([
      before[0],
      before[1],
      { role: 'roles/viewer', members: ['user:carol@example.com'], condition: ours },
      before[4],
    ]);
    expect(await p.held(t)).toEqual([]);
    // Held only counts this request's binding: the pre-existing and the other request's access are not ours.
    expect(await p.held({ ...t, requestId: 'req_other' })).toEqual(['roles/viewer']);
  });

  it('revoking what is gone reads the policy and writes nothing', async () => {
    const p = provider();
    api().post(GET).reply(200, { version: 1, etag: 'BwYQ', bindings: [OWNER] });
    await p.revoke(target({ requestId: 'req_gone' }));
  });

  it('replaces its own binding from an earlier attempt that asked for another end, instead of adding a second', async () => {
    const fake = new FakeIam([OWNER, { role: 'roles/viewer', members: ['user:alice@example.com'], condition: cond('req_again', '2026-12-01T09:00:00.000Z') }]).serve();
    const p = provider();
    await p.grant(target({ requestId: 'req_again' }));
    expect(fake.bindings).toEqual([OWNER, { role: 'roles/viewer', members: ['user:alice@example.com'], condition: cond('req_again', '2026-12-01T10:00:00.000Z') }]);
  });

  it('refuses as permanent what Google refuses for good: 403 PERMISSION_DENIED, 400 INVALID_ARGUMENT', async () => {
    const p = provider();
    api()
      .post(GET)
      .reply(403, googleError(403, 'PERMISSION_DENIED', "The caller does not have permission"))
      .post(GET)
      .reply(200, { version: 1, etag: 'BwYB', bindings: [OWNER] })
      .post(SET)
      .reply(400, googleError(400, 'INVALID_ARGUMENT', 'Role (roles/nope) does not exist in the resource\'s hierarchy.'));

    const denied = await p.grant(target()).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermanentProviderError);
    expect((denied as Error).message).toBe(
      `cannot grant "roles/viewer" to "user:alice@example.com" on project "${PROJECT}": HTTP 403 PERMISSION_DENIED: The caller does not have permission`,
    );
    const invalid = await p.grant(target({ grants: ['roles/nope'] })).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(PermanentProviderError);
    expect((invalid as Error).message).toMatch(/HTTP 400 INVALID_ARGUMENT: Role \(roles\/nope\)/);
  });

  it('leaves 429 and 5xx retryable', async () => {
    const p = provider();
    api()
      .post(GET)
      .reply(429, googleError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded'))
      .post(GET)
      .reply(503, googleError(503, 'UNAVAILABLE', 'The service is currently unavailable.'));
    for (const status of [429, 503]) {
      const error = await p.held(target()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(PermanentProviderError);
      expect((error as Error).message).toContain(`HTTP ${status}`);
    }
  });
});

describe('gcp provider definition and secrets', () => {
  const settings = { project: PROJECT, credentials: { env: 'GCP_KEY' } };
  const secretsIn = (value: unknown): string[] => {
    const text = `${String(value)}\n${inspect(value, { depth: 20, showHidden: true })}\n${JSON.stringify(value)}`;
    return [KEY_JSON, KEY_FRAGMENT, KEY_ID, TOKEN].filter((secret) => text.includes(secret));
  };

  it('validates the settings and names the variable', () => {
    const schema = z.object(gcpProvider.shape);
    expect(schema.safeParse(settings).success).toBe(true);
    expect(schema.safeParse({ project: PROJECT }).success).toBe(true);
    expect(schema.safeParse({ project: 'Bad Project/..' }).success).toBe(false);
    expect(schema.safeParse({ project: PROJECT, credentials: { env: KEY_JSON } }).success).toBe(false);
    expect(schema.safeParse({ project: PROJECT, credentials: KEY_JSON }).error?.issues[0]?.message).not.toContain(KEY_FRAGMENT);
    expect(gcpProvider.envNames(settings)).toEqual([{ setting: 'credentials.env', variable: 'GCP_KEY' }]);
    expect(gcpProvider.envNames({ project: PROJECT })).toEqual([]);
    // Application Default Credentials: nothing is read or fetched until the first call.
    expect(gcpProvider.create({ project: PROJECT }, {}, 'resources.gcp')).toBeInstanceOf(GcpIamProvider);
  });

  it('refuses a bad key at creation without quoting it', () => {
    const create = (value: string | undefined) => {
      try {
        gcpProvider.create(settings, { GCP_KEY: value }, 'resources.gcp');
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const cases: [string | undefined, RegExp][] = [
      [undefined, /GCP_KEY is not set/],
      [`${KEY_JSON.slice(0, -1)}`, /does not hold valid JSON/],
      [JSON.stringify([KEY]), /does not hold a JSON object/],
      [JSON.stringify({ ...KEY, private_key: undefined }), /without "client_email" or "private_key"/],
      [JSON.stringify({ ...KEY, private_key: `-----BEGIN PRIVATE KEY-----\n${KEY_FRAGMENT}\n-----END PRIVATE KEY-----\n` }), /not a valid PEM private key/],
    ];
    for (const [value, message] of cases) {
      const error = create(value);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/^resources\.gcp\.credentials\.env: environment variable GCP_KEY /);
      expect((error as Error).message).toMatch(message);
      expect(secretsIn(error)).toEqual([]);
    }
  });

  it('never puts the key or the token in an error, from the API or from the token endpoint', async () => {
    tokenEndpoint();
    const fromEnv = gcpProvider.create(settings, { GCP_KEY: KEY_JSON }, 'resources.gcp');
    api().post(GET).reply(403, googleError(403, 'PERMISSION_DENIED', 'Policy update access denied.'));
    const denied = await fromEnv.held(target()).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermanentProviderError);
    expect(secretsIn(denied)).toEqual([]);

    // A revoked or wrong key: the token endpoint refuses the signed assertion.
    track(nock(OAUTH).post('/token').reply(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }));
    const badKey = gcpProvider.create(settings, { GCP_KEY: KEY_JSON }, 'resources.gcp');
    const refused = await badKey.grant(target()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PermanentProviderError);
    expect((refused as Error).message).toContain('HTTP 400 invalid_grant: Invalid JWT Signature.');
    expect(secretsIn(refused)).toEqual([]);
  });
});
