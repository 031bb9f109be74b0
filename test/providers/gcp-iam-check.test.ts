/**
 * `GcpIamProvider.check` through the real `@googleapis/cloudresourcemanager` client and google-auth-library,
 * against nock: a throw-away service-account key signs a JWT for the nocked token endpoint. Every request
 * to Resource Manager is recorded, and every test asserts that only the read-style POSTs were sent
 * (`:getIamPolicy`, `:testIamPermissions`), never `:setIamPolicy`.
 */
import { generateKeyPairSync } from 'node:crypto';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GcpIamProvider } from '../../src/providers/gcp-iam.js';

const CRM = 'https://cloudresourcemanager.googleapis.com';
const OAUTH = 'https://oauth2.googleapis.com';
const PROJECT = 'jit-check-project';
const TOKEN = 'ya29.fake-access-token-check';
const { privateKey: PRIVATE_KEY } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const KEY = {
  type: 'service_account',
  project_id: PROJECT,
  private_key_id: 'f00dfeedcheckkeyid',
  private_key: PRIVATE_KEY,
  client_email: `accessbot@${PROJECT}.iam.gserviceaccount.com`,
  token_uri: `${OAUTH}/token`,
};
const KEY_FRAGMENT = PRIVATE_KEY.split('\n')[5]!;
const GET = 'resourcemanager.projects.getIamPolicy';
const SET = 'resourcemanager.projects.setIamPolicy';
const READS = new Set([`/v3/projects/${PROJECT}:getIamPolicy`, `/v3/projects/${PROJECT}:testIamPermissions`]);

let calls: { path: string; body: unknown }[] = [];

/** Resource Manager: answers the two reads from `replies`; anything else (a write) is recorded and refused. */
function crm(replies: { policy?: [number, object]; permissions?: [number, object] }): void {
  nock(OAUTH).post('/token').reply(200, { access_token: TOKEN, expires_in: 3600, token_type: 'Bearer' });
  nock(CRM, { reqheaders: { authorization: `Bearer ${TOKEN}` } })
    .persist()
    .post(/.*/)
    .reply((path, body) => {
      calls.push({ path, body });
      if (path.endsWith(':getIamPolicy') && replies.policy) return replies.policy;
      if (path.endsWith(':testIamPermissions') && replies.permissions) return replies.permissions;
      return [500, { error: { code: 500, status: 'INTERNAL', message: `unexpected ${path}` } }];
    });
}

const provider = () => new GcpIamProvider({ project: PROJECT, credentials: KEY, retryDelayMs: 1 });
const text = (findings: { level: string; what: string }[]) => findings.map((f) => `${f.level} ${f.what}`);
const POLICY = {
  version: 3,
  etag: 'BwYAAAAAAAE=',
  bindings: [
    { role: 'roles/owner', members: ['user:root@example.com'] },
    { role: 'roles/cloudsql.client', members: ['user:a@example.com'], condition: { title: 'jit-req_1', expression: 'request.time < timestamp("2030-01-01T00:00:00Z")' } },
  ],
};

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => {
  for (const call of calls) expect(READS.has(call.path)).toBe(true);
  calls = [];
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
});

describe('GcpIamProvider.check', () => {
  it('reports a healthy bot: the policy is readable and testIamPermissions grants both permissions', async () => {
    crm({ policy: [200, POLICY], permissions: [200, { permissions: [GET, SET] }] });
    const result = await provider().check(['roles/cloudsql.client', `projects/${PROJECT}/roles/jitReader`]);
    expect(text(result.findings)).toEqual([
      `ok may read the IAM policy of project "${PROJECT}" (2 bindings, 1 with a condition)`,
      `ok holds ${GET}`,
      `ok holds ${SET}`,
    ]);
    expect(result.ok).toBe(true);
    expect(calls).toEqual([
      { path: `/v3/projects/${PROJECT}:getIamPolicy`, body: { options: { requestedPolicyVersion: 3 } } },
      { path: `/v3/projects/${PROJECT}:testIamPermissions`, body: { permissions: [GET, SET] } },
    ]);
  });

  it('reports a bot that may read the policy but not write it, a grant that is no role name, and a basic role', async () => {
    crm({ policy: [200, POLICY], permissions: [200, { permissions: [GET] }] });
    const result = await provider().check(['roles/cloudsql.client', 'viewer', 'roles/viewer']);
    expect(result.ok).toBe(false);
    expect(text(result.findings)).toEqual([
      'fail "viewer" is not an IAM role name (roles/…, projects/<project>/roles/… or organizations/<id>/roles/…)',
      'fail "roles/viewer" is a basic role: Google refuses a condition on it, so it cannot be granted for a window; use a predefined or custom role',
      `ok may read the IAM policy of project "${PROJECT}" (2 bindings, 1 with a condition)`,
      `ok holds ${GET}`,
      `fail missing ${SET} on project "${PROJECT}": grant and revoke read and write the project's IAM policy (roles/resourcemanager.projectIamAdmin, with a condition limiting the roles it may grant)`,
    ]);
  });

  it('warns when the policy nears the 100 conditional bindings Google advises', async () => {
    const many = Array.from({ length: 95 }, (_, i) => ({
      role: 'roles/cloudsql.client',
      members: [`user:u${i}@example.com`],
      condition: { title: `jit-req_${i}`, expression: 'request.time < timestamp("2030-01-01T00:00:00Z")' },
    }));
    crm({ policy: [200, { ...POLICY, bindings: many }], permissions: [200, { permissions: [GET, SET] }] });
    const result = await provider().check(['roles/cloudsql.client']);
    expect(text(result.findings)).toContain('warn 95 conditional bindings: Google advises at most 100 per policy; each open grant adds one per role until its revoke');
    expect(result.ok).toBe(true);
  });

  it('reports a bot that cannot even read the policy, and stops there; no key material in the text', async () => {
    crm({ policy: [403, { error: { code: 403, status: 'PERMISSION_DENIED', message: `The caller does not have permission` } }] });
    const result = await provider().check(['roles/cloudsql.client']);
    expect(result).toEqual({
      ok: false,
      findings: [{ level: 'fail', what: `cannot read the IAM policy of project "${PROJECT}": HTTP 403 PERMISSION_DENIED: The caller does not have permission` }],
    });
    expect(JSON.stringify(result)).not.toContain(KEY_FRAGMENT);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });
});
