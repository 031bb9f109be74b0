/**
 * `AzureRbacProvider.check` through the real `@azure/arm-authorization` client against a nocked
 * `https://management.azure.com`, with a fake `TokenCredential`. Every request is recorded, and every test
 * asserts that only GETs were sent: the check never creates or deletes an assignment.
 */
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AzureRbacProvider, type AzureRbacProviderOptions } from '../../src/providers/azure-rbac.js';

const ARM = 'https://management.azure.com';
const TOKEN = 'eyJfake.static-arm-token.check';
const SUB = '11111111-2222-3333-4444-555555555555';
const SCOPE = `/subscriptions/${SUB}/resourceGroups/rg-prod`;
const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const CONTRIBUTOR = 'b24988ac-6180-42a0-ab88-20f7382dd24c';
const MISSING_ROLE = '00000000-aaaa-bbbb-cccc-000000000000';
const roleId = (guid: string) => `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
const credential = { getToken: async () => ({ token: TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) };
const NAMES: Record<string, string> = { [READER]: 'Reader', [CONTRIBUTOR]: 'Contributor' };
const RBAC_ADMIN = { actions: ['Microsoft.Authorization/roleAssignments/write', 'Microsoft.Authorization/roleAssignments/delete', '*/read'], notActions: [] };
const CONTRIBUTOR_PERMISSIONS = { actions: ['*'], notActions: ['Microsoft.Authorization/*/Delete', 'Microsoft.Authorization/*/Write'] };

let calls: { method: string; path: string }[] = [];

/** ARM for this scope: assignments list, role definitions by GUID, the caller's permissions. */
function arm(options: { permissions?: object[]; listStatus?: number } = {}): void {
  const scope = nock(ARM, { reqheaders: { authorization: `Bearer ${TOKEN}` } }).persist();
  // Every method is intercepted, so a write would be recorded (and fail the afterEach), not slip through.
  for (const verb of ['GET', 'PUT', 'POST', 'PATCH', 'DELETE']) {
    scope.intercept(/.*/, verb).reply((path) => route(options, verb, path));
  }
}

function route(options: { permissions?: object[]; listStatus?: number }, method: string, path: string): [number, object] {
  calls.push({ method, path });
  const url = new URL(path, ARM);
  if (method !== 'GET') return [405, { error: { code: 'Unexpected', message: `unexpected ${method}` } }];
  if (url.pathname === `${SCOPE}/providers/Microsoft.Authorization/roleAssignments`) {
    if (!options.listStatus) return [200, { value: [] }];
    const message = 'The client does not have authorization to perform action Microsoft.Authorization/roleAssignments/read';
    return [options.listStatus, { error: { code: 'AuthorizationFailed', message } }];
  }
  const role = new RegExp(`^${SCOPE}/providers/Microsoft.Authorization/roleDefinitions/([0-9a-f-]+)$`, 'i').exec(url.pathname)?.[1];
  if (role) {
    const name = NAMES[role];
    if (!name) return [404, { error: { code: 'RoleDefinitionDoesNotExist', message: 'The specified role definition does not exist.' } }];
    return [200, { id: roleId(role), name: role, type: 'Microsoft.Authorization/roleDefinitions', properties: { roleName: name, type: 'BuiltInRole' } }];
  }
  if (url.pathname.toLowerCase() === `${SCOPE}/providers/Microsoft.Authorization/permissions`.toLowerCase()) {
    return [200, { value: options.permissions ?? [RBAC_ADMIN] }];
  }
  return [404, { error: { code: 'NotFound', message: `no route ${url.pathname}` } }];
}

const provider = (options: Partial<AzureRbacProviderOptions> = {}) =>
  new AzureRbacProvider({ scope: SCOPE, roleDefinitions: { reader: READER, contributor: roleId(CONTRIBUTOR), ghost: MISSING_ROLE }, credential, maxRetries: 0, ...options });
const text = (findings: { level: string; what: string }[]) => findings.map((f) => `${f.level} ${f.what}`);

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => {
  for (const call of calls) expect(call.method).toBe('GET');
  calls = [];
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
});

describe('AzureRbacProvider.check', () => {
  it('reports a healthy bot: assignments listable, roles resolvable, write and delete held at the resource group', async () => {
    arm();
    const result = await provider().check(['reader', 'contributor']);
    expect(text(result.findings)).toEqual([
      `ok may list the role assignments at ${SCOPE}`,
      'ok "reader" is "Reader"',
      'ok "contributor" is "Contributor"',
      `ok holds Microsoft.Authorization/roleAssignments/write, Microsoft.Authorization/roleAssignments/delete and Microsoft.Authorization/roleAssignments/read at ${SCOPE}`,
    ]);
    expect(result.ok).toBe(true);
    expect(calls.length).toBe(4);
  });

  it('reports a bot missing write and delete (a Contributor), a role that does not exist, and an unknown grant', async () => {
    arm({ permissions: [CONTRIBUTOR_PERMISSIONS] });
    const result = await provider().check(['reader', 'ghost', 'owner']);
    expect(result.ok).toBe(false);
    expect(text(result.findings)).toEqual([
      'fail grant "owner" is not listed in role_definitions (known: reader, contributor, ghost)',
      `ok may list the role assignments at ${SCOPE}`,
      'ok "reader" is "Reader"',
      `fail "ghost" (role definition ${MISSING_ROLE}) does not exist at ${SCOPE}`,
      `ok holds Microsoft.Authorization/roleAssignments/read at ${SCOPE}`,
      `fail missing Microsoft.Authorization/roleAssignments/write at ${SCOPE}, which grant or revoke needs`,
      `fail missing Microsoft.Authorization/roleAssignments/delete at ${SCOPE}, which grant or revoke needs`,
    ]);
  });

  it('in PIM mode asks for the schedule-request action instead', async () => {
    arm({ permissions: [RBAC_ADMIN] });
    const result = await provider({ mode: 'pim' }).check(['reader']);
    expect(text(result.findings).at(-1)).toBe(`fail missing Microsoft.Authorization/roleAssignmentScheduleRequests/write at ${SCOPE}, which PIM requests need`);
    expect(result.ok).toBe(false);
  });

  it('stops at a bot that cannot list assignments; at a subscription it says the write permissions are unverified', async () => {
    arm({ listStatus: 403 });
    const denied = await provider().check(['reader']);
    expect(denied).toEqual({
      ok: false,
      findings: [
        {
          level: 'fail',
          what: `cannot list the role assignments at ${SCOPE}, which held and revoke do: Azure answered 403 AuthorizationFailed: The client does not have authorization to perform action Microsoft.Authorization/roleAssignments/read`,
        },
      ],
    });
    calls = [];
    nock.cleanAll();

    const sub = `/subscriptions/${SUB}`;
    nock(ARM)
      .get(`${sub}/providers/Microsoft.Authorization/roleAssignments`)
      .query(true)
      .reply(200, { value: [] })
      .get(`${sub}/providers/Microsoft.Authorization/roleDefinitions/${READER}`)
      .query(true)
      .reply(200, { id: roleId(READER), name: READER, properties: { roleName: 'Reader' } });
    const atSubscription = await provider({ scope: sub }).check(['reader']);
    expect(text(atSubscription.findings)).toEqual([
      `ok may list the role assignments at ${sub}`,
      'ok "reader" is "Reader"',
      `warn not verified: Microsoft.Authorization/roleAssignments/write, Microsoft.Authorization/roleAssignments/delete and Microsoft.Authorization/roleAssignments/read at ${sub} (Azure lists a caller's own permissions for resource groups and resources only)`,
    ]);
    expect(atSubscription.ok).toBe(true);
  });
});
