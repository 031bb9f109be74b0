/**
 * A stateful fake of Azure Resource Manager's role assignment API over nock, as the azure provider reaches
 * it through the real `@azure/arm-authorization` client at `https://management.azure.com`. Every request
 * must carry `Authorization: Bearer <token>` of the static credential `useArmNock` hands out.
 *
 * Role assignments everywhere under the subscription, with Azure's rules:
 * - `PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01` with
 *   `{ properties: { roleDefinitionId, principalId, description? } }` creates it (201); a second assignment
 *   of the same (principal, role, scope) is `409 RoleAssignmentExists` (roles compared by GUID, so the
 *   subscription and tenant forms of a role definition id are the same role).
 * - `DELETE` of the same path answers 200 with the assignment, or 204 when there is none.
 * - `GET {scope}/…/roleAssignments?api-version=2022-04-01` (RoleAssignments_ListForScope) with
 *   `$filter=atScope()` lists the assignments at or above the scope, `pageSize` a page with a `nextLink`
 *   (the full URL of the next page); with `$filter=principalId eq '…'` those of the principal at, above or
 *   below the scope (GUIDs compared case-insensitively). Another filter or api-version is a 400.
 * - Object ids are kept (and listed) in lower case, whatever case they were assigned with.
 * - Items are `{ id, name, type, properties: { scope, roleDefinitionId, principalId, principalType,
 *   description } }`; errors `{ error: { code, message } }`.
 * - `withPim()`: PIM role assignment schedule requests (`PUT {scope}/…/roleAssignmentScheduleRequests/{guid}
 *   ?api-version=2020-10-01`): `AdminAssign` creates the tuple's assignment (`Provisioned`), `AdminRemove`
 *   deletes it (`Revoked`); an assign of a held tuple is `400 RoleAssignmentExists`, a remove of a missing
 *   one `400 RoleAssignmentDoesNotExist`.
 * Every list request is recorded in `lists` (`<filter>[ $skipToken=<n>]`).
 *
 * Left out: role definitions and the caller's permissions (the check's test answers those), PIM approval,
 * schedules and expiry (a PIM assignment lasts until removed), principal types other than User, conditions,
 * deny assignments, and ARM's eventual consistency.
 */
import nock from 'nock';
import { useNock } from './nock-scopes.js';

export const ARM = 'https://management.azure.com';
export const ARM_API_VERSION = '2022-04-01';

export const armError = (code: string, message: string) => ({ error: { code, message } });
/** The GUID a role definition id ends in, in lower case: the same role in subscription or tenant form. */
export const guidOf = (id: string) => id.split('/').pop()!.toLowerCase();
/** Whether `scope` is `ancestor` or below it (ARM compares scopes case-insensitively). */
export const at = (scope: string, ancestor: string) => {
  const s = scope.toLowerCase();
  const a = ancestor.toLowerCase();
  return s === a || s.startsWith(`${a}/`);
};

export interface StoredAssignment {
  id: string;
  name: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  description?: string;
}

export const wire = (a: StoredAssignment) => ({
  id: a.id,
  name: a.name,
  type: 'Microsoft.Authorization/roleAssignments',
  properties: { scope: a.scope, roleDefinitionId: a.roleDefinitionId, principalId: a.principalId, principalType: 'User', description: a.description },
});

/**
 * No network but 127.0.0.1 while the file runs; `arm()` is a nock scope of ARM that requires the bearer
 * token, and after each test every such scope is `done()` and no mock is pending.
 */
export function useArmNock(token: string) {
  const { track } = useNock();
  return {
    credential: { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) },
    arm: (): nock.Scope => track(nock(ARM, { reqheaders: { authorization: `Bearer ${token}` } })),
  };
}

export class FakeArm {
  readonly byId = new Map<string, StoredAssignment>();
  readonly lists: string[] = [];
  readonly #arm: () => nock.Scope;
  readonly #scope: string;
  readonly #assignments: string;

  /**
   * `arm`: a scope factory from `useArmNock`; `scope`: the scope the provider lists at; `pageSize`: how many
   * assignments one atScope() page holds before a `nextLink`.
   */
  constructor(options: { arm: () => nock.Scope; scope: string; pageSize?: number }) {
    const pageSize = options.pageSize ?? 2;
    this.#arm = options.arm;
    this.#scope = options.scope;
    this.#assignments = `${options.scope}/providers/Microsoft.Authorization/roleAssignments`;
    const path = /^(\/.+)\/providers\/Microsoft\.Authorization\/roleAssignments\/([^/?]+)$/;
    const api = this.#arm().persist();
    api
      .put((p) => path.test(p))
      .query({ 'api-version': ARM_API_VERSION })
      .optionally()
      .reply((uri, body) => {
        const [, scope, name] = path.exec(new URL(uri, ARM).pathname)!;
        const { properties } = body as { properties: Omit<StoredAssignment, 'id' | 'name' | 'scope'> };
        if (this.#holder(scope!, properties.principalId, properties.roleDefinitionId)) {
          return [409, armError('RoleAssignmentExists', 'The role assignment already exists.')];
        }
        this.add({ name: name!, scope: scope!, ...properties });
        return [201, wire(this.byId.get(`${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`.toLowerCase())!)];
      });
    api
      .delete((p) => path.test(p))
      .query({ 'api-version': ARM_API_VERSION })
      .optionally()
      .reply((uri) => {
        const key = new URL(uri, ARM).pathname.toLowerCase();
        const stored = this.byId.get(key);
        if (!stored) return [204, ''];
        this.byId.delete(key);
        return [200, wire(stored)];
      });
    api
      .get(this.#assignments)
      .query(true)
      .optionally()
      .reply((uri) => {
        const params = new URL(uri, ARM).searchParams;
        const filter = params.get('$filter') ?? '';
        this.lists.push(`${filter}${params.has('$skipToken') ? ` $skipToken=${params.get('$skipToken')}` : ''}`);
        if (params.get('api-version') !== ARM_API_VERSION) return [400, armError('InvalidApiVersionParameter', 'bad api-version')];
        const all = [...this.byId.values()];
        const principal = /^principalId eq '([0-9a-f-]+)'$/i.exec(filter)?.[1]?.toLowerCase();
        if (principal) {
          return [200, { value: all.filter((a) => a.principalId === principal && (at(a.scope, this.#scope) || at(this.#scope, a.scope))).map(wire) }];
        }
        if (filter !== 'atScope()') return [400, armError('InvalidFilter', 'bad filter')];
        const matching = all.filter((a) => at(this.#scope, a.scope));
        const start = Number(params.get('$skipToken') ?? '0');
        const next =
          start + pageSize < matching.length ? { nextLink: `${ARM}${this.#assignments}?$filter=atScope()&api-version=${ARM_API_VERSION}&$skipToken=${start + pageSize}` } : {};
        return [200, { value: matching.slice(start, start + pageSize).map(wire), ...next }];
      });
  }

  /** PIM schedule requests at the scope: AdminAssign creates the tuple's assignment, AdminRemove deletes it. */
  withPim(): this {
    const requests = `${this.#scope}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests`;
    this.#arm()
      .persist()
      .put(new RegExp(`^${requests}/[0-9a-f-]{36}\\?api-version=2020-10-01$`))
      .optionally()
      .reply((_uri, body) => {
        const { properties: p } = body as { properties: { principalId: string; roleDefinitionId: string; requestType: string } };
        const existing = this.#holder(this.#scope, p.principalId, p.roleDefinitionId);
        if (p.requestType === 'AdminAssign') {
          if (existing) return [400, armError('RoleAssignmentExists', 'The Role assignment already exists.')];
          this.add({ name: crypto.randomUUID(), scope: this.#scope, roleDefinitionId: p.roleDefinitionId, principalId: p.principalId });
          return [201, { properties: { ...p, status: 'Provisioned' } }];
        }
        if (!existing) return [400, armError('RoleAssignmentDoesNotExist', 'The Role assignment does not exist.')];
        this.byId.delete(existing.id.toLowerCase());
        return [201, { properties: { ...p, status: 'Revoked' } }];
      });
    return this;
  }

  /** An assignment made outside the provider (by hand, by another tool, or one of ours restored). */
  add(a: Omit<StoredAssignment, 'id'>): void {
    const id = `${a.scope}/providers/Microsoft.Authorization/roleAssignments/${a.name}`;
    this.byId.set(id.toLowerCase(), { id, ...a, principalId: a.principalId.toLowerCase() });
  }

  /** `<principal> <role guid> <scope>` of every assignment, sorted. */
  tuples(): string[] {
    return [...this.byId.values()].map((a) => `${a.principalId} ${guidOf(a.roleDefinitionId)} ${a.scope}`).sort();
  }

  /** The assignment that holds (principal, role, scope), if any. */
  #holder(scope: string, principalId: string, roleDefinitionId: string): StoredAssignment | undefined {
    return [...this.byId.values()].find(
      (a) => a.scope === scope && a.principalId === principalId.toLowerCase() && guidOf(a.roleDefinitionId) === guidOf(roleDefinitionId),
    );
  }
}
