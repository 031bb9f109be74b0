/**
 * `AzureRbacProvider.listGranted` through the real `@azure/arm-authorization` client against a nocked
 * `https://management.azure.com` (static token, nothing leaves the machine). The stateful fake of the role
 * assignment API in `test/support/fake-arm.ts` answers as ARM does (RoleAssignments_ListForScope,
 * api-version 2022-04-01): `$filter=atScope()` gives the assignments at or above the scope,
 * `$filter=principalId eq '…'` those of the principal at, above or below it; a list is
 * `{ value: [...], nextLink? }`, each item `{ id, name, type, properties: { scope, roleDefinitionId,
 * principalId, principalType, description } }`, and `nextLink` is the full URL of the next page. Then
 * `detectDrift` over the use-case fakes with this provider as the target.
 */
import { describe, expect, it } from 'vitest';
import { MINUTE } from '../../src/domain/duration.js';
import { assignmentName, AzureRbacProvider, type AzureRbacProviderOptions } from '../../src/providers/azure-rbac.js';
import { detectDrift } from '../../src/use-cases/detect-drift.js';
import { PermanentProviderError, type GrantTarget } from '../../src/use-cases/ports.js';
import { revokeGrant } from '../../src/use-cases/revoke-grant.js';
import { FakeProviderRegistry } from '../fakes/fake-provider.js';
import { armError, FakeArm, guidOf, useArmNock } from '../support/fake-arm.js';
import { ALICE, BOB, DAVE, active, createWorld, readRequest, type World } from '../use-cases/world.js';

const TOKEN = 'eyJfake.static-arm-token.drift-0123456789';
const SUB = '11111111-2222-3333-4444-555555555555';
const SCOPE = `/subscriptions/${SUB}/resourceGroups/rg-prod`;
const ASSIGNMENTS = `${SCOPE}/providers/Microsoft.Authorization/roleAssignments`;
const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const CONTRIBUTOR = 'b24988ac-6180-42a0-ab88-20f7382dd24c';
const OWNER = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635';
const roleId = (guid: string) => `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
/** ARM also answers in tenant form for built-in roles. */
const tenantRoleId = (guid: string) => `/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
const ALICE_ID = '0f7c3a52-9a4e-4c1b-8f39-2d5e6a7b8c90';
const DAVE_ID = '6d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';
const ERIN_ID = 'e0e0e0e0-1111-4222-8333-444455556666';
const ROLE_DEFINITIONS = { reader: READER, contributor: roleId(CONTRIBUTOR), owner: OWNER };

const { arm, credential } = useArmNock(TOKEN);

const provider = (options: Partial<AzureRbacProviderOptions> = {}) =>
  new AzureRbacProvider({ scope: SCOPE, roleDefinitions: ROLE_DEFINITIONS, credential, maxRetries: 0, ...options });

/** Role assignments everywhere under one subscription, listed at SCOPE (`pageSize` a page). */
class FakeArmHere extends FakeArm {
  constructor(pageSize = 2) {
    super({ arm, scope: SCOPE, pageSize });
  }

  /** An assignment as our grant writes it, for `requestId`. */
  ours(requestId: string, grant: keyof typeof ROLE_DEFINITIONS, principalId: string, scope = SCOPE, role = roleId(guidOf(ROLE_DEFINITIONS[grant]))): void {
    this.add({ name: assignmentName(requestId, grant), scope, roleDefinitionId: role, principalId, description: `accessbot ${requestId} until 2030-01-02T03:04:05.000Z` });
  }
}

describe('AzureRbacProvider.listGranted', () => {
  it('lists the marked assignments at exactly the scope, of the given grants, on every page, as shared memberships', async () => {
    const fake = new FakeArmHere(2);
    fake.ours('req_a', 'reader', ALICE_ID);
    fake.ours('req_b', 'contributor', DAVE_ID, SCOPE, tenantRoleId(CONTRIBUTOR));
    // Not ours: unmarked (an admin's), or a description that only mentions us.
    fake.add({ name: 'a0000000-0000-4000-8000-000000000001', scope: SCOPE, roleDefinitionId: roleId(READER), principalId: ERIN_ID });
    fake.add({ name: 'a0000000-0000-4000-8000-000000000002', scope: SCOPE, roleDefinitionId: roleId(CONTRIBUTOR), principalId: ERIN_ID, description: 'granted by hand, not accessbot' });
    // Ours, but above the scope (our revoke deletes at this scope only), or of a role the grants do not name.
    fake.ours('req_c', 'reader', DAVE_ID, `/subscriptions/${SUB}`);
    fake.ours('req_d', 'owner', ALICE_ID);

    const found = await provider().listGranted!(['reader', 'contributor']);

    expect(found).toEqual([
      { principal: ALICE_ID, grant: 'reader', requestId: null },
      { principal: DAVE_ID, grant: 'contributor', requestId: null },
    ]);
    // Six assignments at or above the scope, two a page: three calls, the later ones by nextLink.
    expect(fake.lists).toEqual(['atScope()', 'atScope() $skipToken=2', 'atScope() $skipToken=4']);
  });

  it('never lists a role two of the grants name (the records judge grant names), nor grants it does not know', async () => {
    const fake = new FakeArmHere();
    fake.ours('req_a', 'reader', ALICE_ID);
    fake.ours('req_b', 'contributor', DAVE_ID);
    const p = provider({ roleDefinitions: { ...ROLE_DEFINITIONS, viewer: roleId(READER) } });
    expect(await p.listGranted!(['reader', 'viewer', 'contributor', 'no-such-grant'])).toEqual([{ principal: DAVE_ID, grant: 'contributor', requestId: null }]);
    expect(await p.listGranted!(['no-such-grant'])).toEqual([]);
    expect(fake.lists).toEqual(['atScope()']); // nothing to ask for the second
  });

  it('what it lists, revoke removes (whatever request id it is given), and nothing else', async () => {
    const fake = new FakeArmHere();
    fake.ours('req_a', 'reader', ALICE_ID);
    fake.add({ name: 'a0000000-0000-4000-8000-000000000003', scope: `/subscriptions/${SUB}`, roleDefinitionId: roleId(READER), principalId: ALICE_ID });
    const p = provider();
    const [object] = await p.listGranted!(['reader']);
    const target: GrantTarget = { requestId: 'drift', principal: object!.principal, grants: [object!.grant], expiresAt: new Date() };
    await p.revoke(target);
    expect(fake.tuples()).toEqual([`${ALICE_ID} ${READER} /subscriptions/${SUB}`]);
    expect(await p.listGranted!(['reader'])).toEqual([]);
  });

  it('a bot without roleAssignments/read gets a permanent error without the token', async () => {
    arm()
      .get(ASSIGNMENTS)
      .query({ 'api-version': '2022-04-01', $filter: 'atScope()' })
      .reply(403, armError('AuthorizationFailed', `The client '${ERIN_ID}' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read' over scope '${SCOPE}'.`));
    const error = await provider().listGranted!(['reader']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(/^cannot list the role assignments at \/subscriptions\/.*\/resourceGroups\/rg-prod: Azure answered 403 AuthorizationFailed/);
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it('is absent in pim mode: PIM assignments expire by themselves and carry no marker of ours', () => {
    expect(provider({ mode: 'pim' }).listGranted).toBeUndefined();
    expect(provider().listGranted).toBeTypeOf('function');
  });
});

describe('detectDrift with the azure provider', () => {
  function world(p: AzureRbacProvider): World {
    const w = createWorld();
    w.policy.admins.push(BOB);
    w.policy.principals[ALICE] = ALICE_ID;
    w.policy.principals[DAVE] = DAVE_ID;
    const roles = w.policy.resources['prod-db']!.roles;
    roles.read!.grants = ['reader'];
    roles.write!.grants = ['reader', 'contributor'];
    roles.admin!.grants = ['contributor'];
    w.deps.providers = new FakeProviderRegistry({ 'prod-db': p });
    return w;
  }

  it('revokes the assignment of a request that is over, leaves an active one and what is not ours', async () => {
    const fake = new FakeArmHere();
    const p = provider();
    const w = world(p);
    const current = await active(w); // alice: reader, assigned by the bot
    const input = readRequest({ requesterId: DAVE, role: 'admin', durationMs: 10 * MINUTE });
    const over = await active(w, input);
    w.clock.advance(input.durationMs);
    expect(await revokeGrant(w.deps, over, 'expired')).toEqual({ kind: 'revoked' });
    // Dave's assignment came back after his request was over (restored, re-created by hand with our marker)…
    fake.ours(over, 'contributor', DAVE_ID);
    // …beside an admin's own assignment of the same role, which is never ours to judge.
    fake.add({ name: 'a0000000-0000-4000-8000-000000000004', scope: SCOPE, roleDefinitionId: roleId(CONTRIBUTOR), principalId: ERIN_ID });
    expect(fake.tuples()).toEqual([`${ALICE_ID} ${READER} ${SCOPE}`, `${DAVE_ID} ${CONTRIBUTOR} ${SCOPE}`, `${ERIN_ID} ${CONTRIBUTOR} ${SCOPE}`].sort());

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 1, revoked: 1, failed: 0 });

    expect(fake.tuples()).toEqual([`${ALICE_ID} ${READER} ${SCOPE}`, `${ERIN_ID} ${CONTRIBUTOR} ${SCOPE}`].sort());
    expect(w.store.auditLog(null).map((a) => [a.action, a.details])).toEqual([
      ['drift.revoked', { resource: 'prod-db', principal: DAVE_ID, grant: 'contributor', requestId: null }],
    ]);
    expect(w.notifier.adminAlerts).toHaveLength(1);
    expect(w.store.request(current).status).toBe('active');
    // A second run finds nothing.
    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 0, revoked: 0, failed: 0 });
  });

  it('an object id the policy writes in upper case is the same principal as the lower-case one ARM lists: no drift', async () => {
    const fake = new FakeArmHere();
    const p = provider();
    const w = world(p);
    w.policy.principals[ALICE] = ALICE_ID.toUpperCase();
    const current = await active(w);
    expect(w.store.request(current).principal).toBe(ALICE_ID.toUpperCase());
    expect(fake.tuples()).toEqual([`${ALICE_ID} ${READER} ${SCOPE}`]);

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 0, revoked: 0, failed: 0 });
    expect(fake.tuples()).toEqual([`${ALICE_ID} ${READER} ${SCOPE}`]);
    expect(w.notifier.adminAlerts).toEqual([]);
  });

  it('leaves an assignment that an overlapping active request holds, though it is named after one that is over', async () => {
    const fake = new FakeArmHere();
    const p = provider();
    const w = world(p);
    const first = await active(w, readRequest({ durationMs: 10 * MINUTE })); // creates alice's reader assignment
    const second = await active(w, readRequest({ durationMs: 60 * MINUTE })); // RoleAssignmentExists: shares it
    w.clock.advance(10 * MINUTE);
    expect(await revokeGrant(w.deps, first, 'expired')).toEqual({ kind: 'revoked' }); // left for the second
    expect(fake.tuples()).toEqual([`${ALICE_ID} ${READER} ${SCOPE}`]);
    expect([...fake.byId.values()][0]?.description).toContain(first);

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 0, revoked: 0, failed: 0 });
    expect(fake.tuples()).toEqual([`${ALICE_ID} ${READER} ${SCOPE}`]);
    expect(w.store.request(second).status).toBe('active');
  });
});
