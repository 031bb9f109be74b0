/**
 * `AwsIdentityCenterProvider.listGranted` with the real `@aws-sdk/client-sso-admin` against nock. sso-admin
 * speaks awsJson1_1 (a JSON POST to https://sso.<region>.amazonaws.com/, the operation in `X-Amz-Target:
 * SWBExternalService.<Operation>`). The stateful fake of `test/support/fake-sso-admin.ts` answers ListAccountAssignments as the API reference
 * says: `{ InstanceArn, AccountId, PermissionSetArn, MaxResults (1-100), NextToken }` in, `{ AccountAssignments:
 * [{ AccountId, PermissionSetArn, PrincipalType: USER|GROUP, PrincipalId }], NextToken? }` out, for that
 * account and permission set only. Then `detectDrift` over the use-case fakes with this provider as the target.
 */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { MINUTE } from '../../src/domain/duration.js';
import { AwsIdentityCenterProvider, awsIdentityCenterProvider, type AwsIdentityCenterProviderOptions } from '../../src/providers/aws-identity-center.js';
import { detectDrift } from '../../src/use-cases/detect-drift.js';
import { PermanentProviderError } from '../../src/use-cases/ports.js';
import { revokeGrant } from '../../src/use-cases/revoke-grant.js';
import { FakeProviderRegistry } from '../fakes/fake-provider.js';
import { awsClient, JSON_HEADERS, useNock } from '../support/aws-nock.js';
import {
  FakeIdentityCenter,
  SSO_ACCOUNT as ACCOUNT,
  SSO_ENDPOINT as ENDPOINT,
  SSO_INSTANCE as INSTANCE,
  ssoError as awsError,
  type FakeIdentityCenterOptions,
} from '../support/fake-sso-admin.js';
import { ALICE, BOB, CAROL, DAVE, active, createWorld, readRequest, type World } from '../use-cases/world.js';

const SECRET = 'fake-secret-key-drift-never-sent';
const CLIENT = awsClient(ENDPOINT, SECRET);

const PS_ADMIN = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-aaaaaaaaaaaaaaaa';
const PS_READ = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-bbbbbbbbbbbbbbbb';
const PS_BILLING = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-cccccccccccccccc';
const OTHER_ACCOUNT = '210987654321';
const ALICE_ID = '906739a2f1-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d';
const DAVE_ID = '906739a2f1-1a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d';
const CAROL_ID = 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6';
const ERIN_ID = '906739a2f1-2a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d';
const GROUP_ID = '11111111-2222-3333-4444-555555555555';

const provider = (over: Partial<AwsIdentityCenterProviderOptions> = {}) =>
  new AwsIdentityCenterProvider({
    region: 'us-east-1',
    instanceArn: INSTANCE,
    accountId: ACCOUNT,
    permissionSets: { admin: PS_ADMIN, read: PS_READ, billing: PS_BILLING },
    client: CLIENT,
    timing: { firstDelayMs: 1, maxDelayMs: 1, timeoutMs: 50, conflictRetries: 1, sleep: async () => {} },
    exclusiveUserAssignments: true,
    ...over,
  });

/** Identity Center for this file: the account and another, and the people of the use-case world in its directory. */
const identityCenter = (options: FakeIdentityCenterOptions = {}) =>
  new FakeIdentityCenter({ accounts: [ACCOUNT, OTHER_ACCOUNT], directory: [ALICE_ID, DAVE_ID, CAROL_ID, ERIN_ID], ...options });

const { track } = useNock();
function intercept(fake: FakeIdentityCenter): FakeIdentityCenter {
  track(fake.intercept());
  return fake;
}

describe('AwsIdentityCenterProvider.listGranted', () => {
  it('lists the USER assignments of the given grants’ permission sets in the account, on every page, as shared memberships', async () => {
    const fake = intercept(
      identityCenter({ pageSize: 2 })
        .user(PS_ADMIN, ALICE_ID)
        .group(PS_ADMIN, GROUP_ID) // a group: the bot assigns users only
        .user(PS_ADMIN, DAVE_ID)
        .user(PS_ADMIN, ERIN_ID, OTHER_ACCOUNT) // another account
        .user(PS_READ, DAVE_ID)
        .user(PS_BILLING, ALICE_ID), // a permission set no grant of this resource names
    );

    expect(await provider().listGranted!(['admin', 'read'])).toEqual([
      { principal: ALICE_ID, grant: 'admin', requestId: null },
      { principal: DAVE_ID, grant: 'admin', requestId: null },
      { principal: DAVE_ID, grant: 'read', requestId: null },
    ]);
    const token = Buffer.from('page-2').toString('base64');
    expect(fake.lists).toEqual([
      { PermissionSetArn: PS_ADMIN, AccountId: ACCOUNT, MaxResults: 100 },
      { PermissionSetArn: PS_ADMIN, AccountId: ACCOUNT, MaxResults: 100, NextToken: token },
      { PermissionSetArn: PS_READ, AccountId: ACCOUNT, MaxResults: 100 },
    ]);
  });

  it('never lists a permission set two of the grants name, grants it does not know, or ids revoke would skip', async () => {
    const fake = intercept(identityCenter().user(PS_ADMIN, ALICE_ID).user(PS_READ, DAVE_ID).user(PS_READ, 'not-a-user-id'));
    const p = provider({ permissionSets: { admin: PS_ADMIN, superuser: PS_ADMIN, read: PS_READ } });
    expect(await p.listGranted!(['admin', 'superuser', 'read', 'no-such-grant'])).toEqual([{ principal: DAVE_ID, grant: 'read', requestId: null }]);
    expect(fake.lists.map((l) => l.PermissionSetArn)).toEqual([PS_READ]);
  });

  it('what it lists, revoke removes (whatever request id it is given)', async () => {
    const fake = intercept(identityCenter().user(PS_ADMIN, ALICE_ID).group(PS_ADMIN, GROUP_ID));
    const p = provider();
    const [object] = await p.listGranted!(['admin']);
    await p.revoke({ requestId: 'drift', principal: object!.principal, grants: [object!.grant], expiresAt: new Date() });
    expect(fake.users()).toEqual([]);
    expect(fake.assignments).toEqual([{ AccountId: ACCOUNT, PermissionSetArn: PS_ADMIN, PrincipalType: 'GROUP', PrincipalId: GROUP_ID }]);
    expect(await p.listGranted!(['admin'])).toEqual([]);
  });

  it('a bot without sso:ListAccountAssignments gets a permanent error without the secret', async () => {
    const scope = nock(ENDPOINT)
      .post('/')
      .matchHeader('x-amz-target', 'SWBExternalService.ListAccountAssignments')
      .reply(400, awsError('AccessDeniedException', 'User: arn:aws:sts::123456789012:assumed-role/accessbot/bot is not authorized to perform: sso:ListAccountAssignments'), JSON_HEADERS);
    track(scope);
    const error = await provider().listGranted!(['admin']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toMatch(new RegExp(`^cannot list the assignments of ${PS_ADMIN} in account ${ACCOUNT}: AccessDenied \\(HTTP 400\\): User: .* not authorized to perform: sso:ListAccountAssignments`));
    expect((error as Error).message).not.toContain(SECRET);
  });

  it('is offered only when the policy states that accessbot alone assigns these permission sets to users', async () => {
    expect(provider({ exclusiveUserAssignments: undefined }).listGranted).toBeUndefined();
    const settings = { region: 'eu-west-1', instance_arn: INSTANCE, account_id: ACCOUNT, permission_sets: { admin: PS_ADMIN } };
    const plain = awsIdentityCenterProvider.create(settings, {}, 'resources.aws-sso');
    const exclusive = awsIdentityCenterProvider.create({ ...settings, exclusive_user_assignments: true }, {}, 'resources.aws-sso');
    expect(plain.listGranted).toBeUndefined();
    expect(exclusive.listGranted).toBeTypeOf('function');
    await plain.close();
    await exclusive.close();
    expect(() => awsIdentityCenterProvider.create({ ...settings, exclusive_user_assignments: 'yes' }, {}, 'resources.aws-sso')).toThrow(/must be true or false/);
  });
});

describe('detectDrift with the aws-sso provider', () => {
  function world(p: AwsIdentityCenterProvider): World {
    const w = createWorld();
    w.policy.admins.push(BOB);
    w.policy.principals[ALICE] = ALICE_ID;
    w.policy.principals[DAVE] = DAVE_ID;
    w.policy.principals[CAROL] = CAROL_ID;
    const roles = w.policy.resources['prod-db']!.roles;
    roles.read!.grants = ['read'];
    roles.write!.grants = ['read', 'admin'];
    roles.admin!.grants = ['admin'];
    w.deps.providers = new FakeProviderRegistry({ 'prod-db': p });
    return w;
  }

  it('revokes the assignment of a request that is over, leaves an active one, one held before, and what is not listed', async () => {
    const fake = intercept(identityCenter({ pageSize: 1 }));
    const p = provider();
    const w = world(p);
    const current = await active(w); // alice: read, assigned by the bot
    // Carol held read before she asked: her request records it, and its end leaves it.
    fake.user(PS_READ, CAROL_ID);
    const carols = readRequest({ requesterId: CAROL, durationMs: 10 * MINUTE });
    const held = await active(w, carols);
    const input = readRequest({ requesterId: DAVE, role: 'admin', durationMs: 10 * MINUTE });
    const over = await active(w, input);
    w.clock.advance(10 * MINUTE);
    expect(await revokeGrant(w.deps, over, 'expired')).toEqual({ kind: 'revoked' });
    expect(await revokeGrant(w.deps, held, 'expired')).toEqual({ kind: 'revoked' });
    // Dave's assignment came back after his request was over (re-created by hand, replayed)…
    fake.user(PS_ADMIN, DAVE_ID);
    // …beside a group's assignment, another account's and another permission set's, which are never listed.
    fake.group(PS_ADMIN, GROUP_ID).user(PS_ADMIN, ERIN_ID, OTHER_ACCOUNT).user(PS_BILLING, DAVE_ID);
    expect(fake.users()).toEqual([`${ALICE_ID} ps-bbbbbbbbbbbbbbbb`, `${CAROL_ID} ps-bbbbbbbbbbbbbbbb`, `${DAVE_ID} ps-aaaaaaaaaaaaaaaa`, `${DAVE_ID} ps-cccccccccccccccc`].sort());

    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 1, revoked: 1, failed: 0 });

    expect(fake.users()).toEqual([`${ALICE_ID} ps-bbbbbbbbbbbbbbbb`, `${CAROL_ID} ps-bbbbbbbbbbbbbbbb`, `${DAVE_ID} ps-cccccccccccccccc`].sort());
    expect(fake.users(OTHER_ACCOUNT)).toEqual([`${ERIN_ID} ps-aaaaaaaaaaaaaaaa`]);
    expect(fake.assignments.filter((a) => a.PrincipalType === 'GROUP')).toHaveLength(1);
    expect(w.store.auditLog(null).map((a) => [a.action, a.details])).toEqual([
      ['drift.revoked', { resource: 'prod-db', principal: DAVE_ID, grant: 'admin', requestId: null }],
    ]);
    expect(w.notifier.adminAlerts).toHaveLength(1);
    expect(w.store.request(current).status).toBe('active');
    expect(await detectDrift(w.deps)).toEqual({ checked: 1, drift: 0, revoked: 0, failed: 0 });
  });

  it('does not check a resource whose policy does not state exclusive user assignments', async () => {
    // No interceptor: any call would fail as network, and count as failed.
    const w = world(provider({ exclusiveUserAssignments: false }));
    expect(await detectDrift(w.deps)).toEqual({ checked: 0, drift: 0, revoked: 0, failed: 0 });
  });
});
