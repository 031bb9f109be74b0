/**
 * The Azure RBAC provider through the real `@azure/arm-authorization` client against a nocked
 * `https://management.azure.com`, with a fake `TokenCredential` handing out a static token. The stateful
 * fake of the role assignment API in `test/support/fake-arm.ts` keeps Azure's own rule: at most one assignment per (principal, role,
 * scope), a second one answers 409 `RoleAssignmentExists`. Nothing leaves the machine.
 */
import { describe, expect, it } from 'vitest';
import { describeProviderContract } from './contract.js';
import { assignmentName, AzureRbacProvider, azureProvider, uuidV5, type AzureRbacProviderOptions } from '../../src/providers/azure-rbac.js';
import { PermanentProviderError, type GrantTarget } from '../../src/use-cases/ports.js';
import { armError, FakeArm, useArmNock } from '../support/fake-arm.js';

const TOKEN = 'eyJfake.static-arm-token.0123456789';
const SUB = '11111111-2222-3333-4444-555555555555';
const SCOPE = `/subscriptions/${SUB}/resourceGroups/rg-prod`;
const ASSIGNMENTS = `${SCOPE}/providers/Microsoft.Authorization/roleAssignments`;
const PIM_REQUESTS = `${SCOPE}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests`;
const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const CONTRIBUTOR = 'b24988ac-6180-42a0-ab88-20f7382dd24c';
const roleId = (guid: string) => `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
const ALICE = '0f7c3a52-9a4e-4c1b-8f39-2d5e6a7b8c90';
const ROLE_DEFINITIONS = { reader: READER, contributor: roleId(CONTRIBUTOR) };

const { arm, credential } = useArmNock(TOKEN);

function provider(options: Partial<AzureRbacProviderOptions> = {}): AzureRbacProvider {
  return new AzureRbacProvider({ scope: SCOPE, roleDefinitions: ROLE_DEFINITIONS, credential, maxRetries: 0, ...options });
}

let n = 0;
const target = (grants: string[], principal = ALICE): GrantTarget => ({
  requestId: `req_azure${(n++).toString(36)}`,
  principal,
  grants,
  expiresAt: new Date('2030-01-02T03:04:05.000Z'),
});

/** The role assignment API as this provider uses it, with Azure's one-assignment-per-tuple rule. */
const fakeArm = () => new FakeArm({ arm, scope: SCOPE });

describeProviderContract('azure (assignment mode)', () => {
  fakeArm();
  return {
    provider: provider(),
    principal: ALICE,
    grants: ['reader', 'contributor'],
    // Azure keeps one assignment per (principal, role, scope): a second grant of a held role adds nothing.
    perGrantObjects: false,
    hostile: { principal: `x'; DROP --"`, grant: `rôle'"; --` },
  };
});

describeProviderContract('azure (pim mode)', () => {
  fakeArm().withPim();
  return {
    provider: provider({ mode: 'pim' }),
    principal: ALICE,
    grants: ['reader', 'contributor'],
    perGrantObjects: false,
    hostile: { principal: `x'; DROP --"`, grant: `rôle'"; --` },
  };
});

describe('assignment names', () => {
  it('are RFC 9562 version 5 UUIDs', () => {
    // The RFC's own example: "www.example.com" in the DNS namespace.
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('are the same for the same request and grant, and differ otherwise', () => {
    const name = assignmentName('req_a', 'reader');
    expect(name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(assignmentName('req_a', 'reader')).toBe(name);
    expect(new Set([name, assignmentName('req_b', 'reader'), assignmentName('req_a', 'contributor'), assignmentName('req_', 'areader')]).size).toBe(4);
  });
});

describe('azure provider on the wire', () => {
  it('PUTs the deterministic assignment with api-version, role definition, principal and our marker', async () => {
    const t = target(['reader']);
    let sent: unknown;
    const scope = arm()
      .put(`${ASSIGNMENTS}/${assignmentName(t.requestId, 'reader')}`)
      .query({ 'api-version': '2022-04-01' })
      .reply(201, (_uri, body) => {
        sent = body;
        return { id: 'x', name: 'x', properties: {} };
      });
    await provider().grant(t);
    expect(sent).toEqual({
      properties: {
        roleDefinitionId: roleId(READER),
        principalId: ALICE,
        description: `accessbot ${t.requestId} until 2030-01-02T03:04:05.000Z`,
      },
    });
    scope.done();
  });

  it('treats 409 RoleAssignmentExists as granted, matched by code and not by message', async () => {
    const t = target(['reader']);
    const scope = arm()
      .put(`${ASSIGNMENTS}/${assignmentName(t.requestId, 'reader')}`)
      .query(true)
      .reply(409, armError('RoleAssignmentExists', 'A reworded message that says nothing about existing.'));
    await provider().grant(t);
    scope.done();
  });

  it('does not treat another 409 as granted, even when its message says "already exists"', async () => {
    const t = target(['reader']);
    const scope = arm()
      .put(`${ASSIGNMENTS}/${assignmentName(t.requestId, 'reader')}`)
      .query(true)
      .reply(409, armError('Conflict', 'The role assignment already exists.'));
    const error = await provider().grant(t).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toContain('409 Conflict');
    scope.done();
  });

  it('refuses 403 AuthorizationFailed and 400 as permanent, without the token in the message', async () => {
    const t = target(['reader']);
    const scope = arm()
      .put(`${ASSIGNMENTS}/${assignmentName(t.requestId, 'reader')}`)
      .query(true)
      .reply(403, armError('AuthorizationFailed', 'The client does not have authorization to perform action roleAssignments/write.'))
      .put(`${ASSIGNMENTS}/${assignmentName(t.requestId, 'reader')}`)
      .query(true)
      .reply(400, armError('InvalidPrincipalId', 'A valid principal ID must be provided.'));
    for (const code of ['AuthorizationFailed', 'InvalidPrincipalId']) {
      const error = await provider().grant(t).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentProviderError);
      expect((error as Error).message).toContain(code);
      expect((error as Error).message).not.toContain(TOKEN);
    }
    scope.done();
  });

  it('retries 429 and 5xx', async () => {
    const t = target(['reader']);
    const scope = arm()
      .put(`${ASSIGNMENTS}/${assignmentName(t.requestId, 'reader')}`)
      .query(true)
      .reply(429, armError('TooManyRequests', 'slow down'))
      .put(`${ASSIGNMENTS}/${assignmentName(t.requestId, 'reader')}`)
      .query(true)
      .reply(503, armError('ServiceUnavailable', 'try later'));
    for (let i = 0; i < 2; i++) {
      const error = await provider().grant(t).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(PermanentProviderError);
    }
    scope.done();
  });

  it('treats 404 on delete as revoked', async () => {
    const t = target(['reader']);
    const scope = arm()
      .delete(`${ASSIGNMENTS}/${assignmentName(t.requestId, 'reader')}`)
      .query({ 'api-version': '2022-04-01' })
      .reply(404, armError('RoleAssignmentNotFound', 'gone'))
      .get(ASSIGNMENTS)
      .query({ 'api-version': '2022-04-01', $filter: `principalId eq '${ALICE}'` })
      .reply(200, { value: [] });
    await provider().revoke(t);
    scope.done();
  });

  it('revoke also removes the assignment an overlapping request of ours made, never an unmarked one', async () => {
    const fake = fakeArm();
    const p = provider();
    const first = target(['reader']);
    const second = target(['reader']);
    await p.grant(first);
    await p.grant(second); // 409: the tuple is held by the first request's assignment
    expect(fake.byId.size).toBe(1);
    // The use case skipped the first revoke while the second covered the role; the second's revoke ends it.
    await p.revoke(second);
    expect(fake.byId.size).toBe(0);

    const preExisting = { name: '9d3e1f0a-0000-4000-8000-000000000001', scope: SCOPE, roleDefinitionId: roleId(CONTRIBUTOR), principalId: ALICE };
    fake.add(preExisting);
    await p.revoke(target(['contributor']));
    expect([...fake.byId.values()].map((a) => a.name)).toEqual([preExisting.name]);
  });

  it('counts assignments at this scope or above as held, not below, elsewhere or of another role', async () => {
    const fake = fakeArm();
    const above = { scope: `/subscriptions/${SUB}`, principalId: ALICE };
    fake.add({ ...above, name: 'a1', roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${READER}` });
    fake.add({ name: 'a2', scope: `${SCOPE}/providers/Microsoft.Storage/storageAccounts/s1`, roleDefinitionId: roleId(CONTRIBUTOR), principalId: ALICE });
    fake.add({ name: 'a3', scope: `/subscriptions/${SUB}/resourceGroups/rg-prod-2`, roleDefinitionId: roleId(CONTRIBUTOR), principalId: ALICE });
    expect(await provider().held(target(['reader', 'contributor']))).toEqual(['reader']);
  });

  it('refuses a principal that is not an object id, and an unknown grant, before any request', async () => {
    await expect(provider().grant(target(['reader'], 'alice@example.com'))).rejects.toThrow(/Entra object id.*principals/);
    await expect(provider().grant(target(['owner']))).rejects.toBeInstanceOf(PermanentProviderError);
  });
});

describe('azure provider in pim mode', () => {
  it('asks PIM for an AdminAssign that expires at the end of the window, and AdminRemove to end it', async () => {
    const t = target(['reader']);
    const bodies: { properties: Record<string, unknown> }[] = [];
    const scope = arm()
      .put(new RegExp(`^${PIM_REQUESTS}/[0-9a-f-]{36}\\?api-version=2020-10-01$`))
      .times(2)
      .reply(201, (_uri, body) => {
        bodies.push(body as (typeof bodies)[number]);
        return { name: 'r', properties: { status: bodies.length === 1 ? 'Provisioned' : 'Revoked' } };
      });
    const p = provider({ mode: 'pim' });
    await p.grant(t);
    await p.revoke(t);
    expect(bodies[0]?.properties).toMatchObject({
      principalId: ALICE,
      roleDefinitionId: roleId(READER),
      requestType: 'AdminAssign',
      justification: `accessbot ${t.requestId}`,
      scheduleInfo: { expiration: { type: 'AfterDateTime', endDateTime: '2030-01-02T03:04:05.000Z' } },
    });
    expect(bodies[1]?.properties).toMatchObject({ principalId: ALICE, roleDefinitionId: roleId(READER), requestType: 'AdminRemove' });
    expect(bodies[1]?.properties).not.toHaveProperty('scheduleInfo');
    scope.done();
  });

  it('treats RoleAssignmentExists on assign and RoleAssignmentDoesNotExist on remove as done', async () => {
    const t = target(['reader']);
    const scope = arm()
      .put(new RegExp(`^${PIM_REQUESTS}/`))
      .reply(400, armError('RoleAssignmentExists', 'The Role assignment already exists.'))
      .put(new RegExp(`^${PIM_REQUESTS}/`))
      .reply(400, armError('RoleAssignmentDoesNotExist', 'The Role assignment does not exist.'));
    const p = provider({ mode: 'pim' });
    await p.grant(t);
    await p.revoke(t);
    scope.done();
  });

  it('refuses a request PIM holds for approval, or denies, as permanent', async () => {
    const scope = arm()
      .put(new RegExp(`^${PIM_REQUESTS}/`))
      .reply(201, { properties: { status: 'PendingApproval' } })
      .put(new RegExp(`^${PIM_REQUESTS}/`))
      .reply(201, { properties: { status: 'Denied' } });
    const p = provider({ mode: 'pim' });
    await expect(p.grant(target(['reader']))).rejects.toThrow(/approval/);
    await expect(p.grant(target(['reader']))).rejects.toBeInstanceOf(PermanentProviderError);
    scope.done();
  });

  it('retries a removal PIM could not finish, and says why', async () => {
    const scope = arm()
      .put(new RegExp(`^${PIM_REQUESTS}/`))
      .reply(201, { properties: { status: 'FailedAsResourceIsLocked' } });
    const error = await provider({ mode: 'pim' }).revoke(target(['reader'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(/cannot revoke "reader" .* AdminRemove request with status FailedAsResourceIsLocked/);
    scope.done();
  });
});

describe('azure provider definition', () => {
  it('builds a provider from the policy settings without connecting, and names no variable', async () => {
    const settings = { scope: SCOPE, role_definitions: ROLE_DEFINITIONS, mode: 'pim' };
    expect(azureProvider.envNames(settings)).toEqual([]);
    const built = azureProvider.create(settings, {}, 'resources.azure-prod');
    await built.close();
  });

  it('refuses a scope or a role definition that is not one', async () => {
    const { z } = await import('zod');
    const schema = z.object(azureProvider.shape);
    expect(schema.safeParse({ scope: SCOPE, role_definitions: ROLE_DEFINITIONS }).success).toBe(true);
    expect(schema.safeParse({ scope: 'subscriptions/x/../y', role_definitions: ROLE_DEFINITIONS }).success).toBe(false);
    expect(schema.safeParse({ scope: '/subscriptions/x?y=1', role_definitions: ROLE_DEFINITIONS }).success).toBe(false);
    expect(schema.safeParse({ scope: SCOPE, role_definitions: { reader: 'Reader' } }).success).toBe(false);
    expect(schema.safeParse({ scope: SCOPE, role_definitions: {} }).success).toBe(false);
    expect(schema.safeParse({ scope: SCOPE, role_definitions: ROLE_DEFINITIONS, mode: 'eligible' }).success).toBe(false);
  });
});
