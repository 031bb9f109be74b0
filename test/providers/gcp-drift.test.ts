/**
 * `GcpIamProvider.listGranted` through the real client and auth library against a nocked token endpoint and
 * Resource Manager: one `getIamPolicy` (version 3), and every member of every `jit-<requestId>` binding.
 */
import { generateKeyPairSync } from 'node:crypto';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GcpIamProvider } from '../../src/providers/gcp-iam.js';

const CRM = 'https://cloudresourcemanager.googleapis.com';
const OAUTH = 'https://oauth2.googleapis.com';
const PROJECT = 'jit-drift-project';
const TOKEN = 'ya29.fake-access-token-drift';
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const KEY = {
  type: 'service_account',
  project_id: PROJECT,
  private_key_id: 'drift0123456789',
  private_key: privateKey,
  client_email: `accessbot@${PROJECT}.iam.gserviceaccount.com`,
  client_id: '100000000000000000002',
  token_uri: `${OAUTH}/token`,
};

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  try {
    expect(nock.pendingMocks()).toEqual([]);
  } finally {
    nock.cleanAll();
  }
});
afterAll(() => nock.enableNetConnect());

const jit = (requestId: string) => ({ title: `jit-${requestId}`, description: `accessbot ${requestId}`, expression: 'request.time < timestamp("2030-01-01T00:00:00.000Z")' });

describe('GcpIamProvider.listGranted', () => {
  it('lists each member of each binding titled jit-<request>, with that request, and nothing else', async () => {
    nock(OAUTH).post('/token').reply(200, { access_token: TOKEN, expires_in: 3600, token_type: 'Bearer' });
    nock(CRM, { reqheaders: { authorization: `Bearer ${TOKEN}`, 'x-goog-request-reason': 'accessbot drift-check' } })
      .post(`/v3/projects/${PROJECT}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } })
      .reply(200, {
        version: 3,
        etag: 'BwYdrift=',
        bindings: [
          { role: 'roles/owner', members: ['user:root@example.com'] },
          { role: 'roles/cloudsql.client', members: ['user:alice@example.com'] }, // held before: unconditional
          { role: 'roles/cloudsql.client', members: ['user:alice@example.com', 'deleted:user:gone@example.com?uid=123'], condition: jit('req_abc2345678') },
          { role: 'roles/bigquery.dataViewer', members: ['group:oncall@example.com'], condition: jit('req_def2345678') },
          { role: 'roles/viewer', members: ['user:bob@example.com'], condition: { title: 'office-hours', expression: 'true' } },
        ],
      });

    expect(await new GcpIamProvider({ project: PROJECT, credentials: KEY }).listGranted()).toEqual([
      { principal: 'user:alice@example.com', grant: 'roles/cloudsql.client', requestId: 'req_abc2345678' },
      { principal: 'group:oncall@example.com', grant: 'roles/bigquery.dataViewer', requestId: 'req_def2345678' },
    ]);
  });
});
