/**
 * The azure provider itself: `held`, `grant` and `revoke` of role assignments, or through PIM in `mode: pim`
 * (see ../azure-rbac.ts for the model), and in `mode: assignment` `listGranted` for drift detection (drift.ts).
 */
import type { AuthorizationManagementClient, RoleAssignment } from '@azure/arm-authorization';
import type { TokenCredential } from '@azure/identity';
import { PermanentProviderError, type AccessProvider, type GrantedObject, type GrantTarget, type ProviderCheck } from '../../use-cases/ports.js';
import { checkAzureRbac } from './check.js';
import { listAzureGranted } from './drift.js';
import { azureError, errorCode, statusOf, throwFirst } from './errors.js';
import { assignmentName, isGuid, MARKER, normalScope, roleGuid } from './naming.js';
import { pimRequest } from './pim.js';

export interface AzureRbacProviderOptions {
  /** `/subscriptions/<id>[/resourceGroups/<rg>[/providers/…]]` or a management group. */
  scope: string;
  /** Grant name → role definition GUID or full role definition resource id. */
  roleDefinitions: Readonly<Record<string, string>>;
  mode?: 'assignment' | 'pim';
  /** Default: `DefaultAzureCredential`. */
  credential?: TokenCredential;
  /** The SDK's own retries of 429/5xx; the job queue retries too. Default 3. */
  maxRetries?: number;
}

export class AzureRbacProvider implements AccessProvider {
  /** Azure keeps one assignment per (principal, role, scope). */
  readonly perGrantObjects = false;
  readonly #scope: string;
  /** The SDK wants the scope without its leading slash: with it, `subscriptions` became the URL's host. */
  readonly #sdkScope: string;
  readonly #roles: Map<string, string>;
  readonly #mode: 'assignment' | 'pim';
  readonly #options: AzureRbacProviderOptions;
  #client: Promise<AuthorizationManagementClient> | undefined;
  /**
   * Drift detection (read-only, `mode: assignment` only): see `listAzureGranted`. Absent in `mode: pim`, so
   * drift detection skips the resource: a PIM assignment ends by itself at the window's end (its schedule's
   * expiration, the target's own second lock), so a leftover cannot outlive its window by more than that; and
   * the assignment PIM creates carries no marker of ours (our justification is on the schedule request, not
   * on the assignment), so ours could not be told from an admin's PIM assignment of the same role.
   */
  readonly listGranted?: (grants: string[]) => Promise<GrantedObject[]>;

  /** Object ids are GUIDs: ARM lists them in lower case whatever case they were assigned with. */
  principalKey(principal: string): string {
    return principal.toLowerCase();
  }

  constructor(options: AzureRbacProviderOptions) {
    this.#options = options;
    this.#scope = `/${options.scope.replace(/^\/+|\/+$/g, '')}`;
    this.#sdkScope = this.#scope.slice(1);
    this.#mode = options.mode ?? 'assignment';
    const subscription = /^\/subscriptions\/[^/]+/i.exec(this.#scope)?.[0] ?? '';
    this.#roles = new Map(
      Object.entries(options.roleDefinitions).map(([grant, id]) => [
        grant,
        isGuid(id) ? `${subscription}/providers/Microsoft.Authorization/roleDefinitions/${id.toLowerCase()}` : id,
      ]),
    );
    if (this.#mode === 'assignment') {
      this.listGranted = (grants) =>
        listAzureGranted({ scope: this.#scope, sdkScope: this.#sdkScope, roles: this.#roles, connect: () => this.#connect() }, grants);
    }
  }

  /**
   * Held: an assignment of the role to the principal itself at this scope or a path ancestor (a parent
   * resource group or subscription). Access through a group or a management group is not seen; we then add
   * our own assignment, which our revoke removes again, so nothing held before is ever taken.
   */
  async held({ principal, grants }: GrantTarget): Promise<string[]> {
    const roles = this.#check(principal, grants);
    if (grants.length === 0) return [];
    const assignments = await this.#assignmentsOf(principal, `cannot read the role assignments of ${principal}`);
    const heldRoles = new Set(assignments.filter((a) => this.#appliesHere(a.scope)).map((a) => roleGuid(a.roleDefinitionId)));
    return grants.filter((_, i) => heldRoles.has(roleGuid(roles[i])));
  }

  async grant(target: GrantTarget): Promise<void> {
    const roles = this.#check(target.principal, target.grants);
    if (target.grants.length === 0) return;
    const client = await this.#connect();
    // One at a time: a failure stops here, and the use case revokes what was attempted.
    for (const [i, grant] of target.grants.entries()) {
      const context = `cannot grant "${grant}" to ${target.principal} at ${this.#scope}`;
      if (this.#mode === 'pim') {
        await pimRequest(client, this.#sdkScope, 'AdminAssign', target, roles[i] ?? '', context);
        continue;
      }
      try {
        await client.roleAssignments.create(this.#sdkScope, assignmentName(target.requestId, grant), {
          roleDefinitionId: roles[i] ?? '',
          principalId: target.principal,
          description: `${MARKER}${target.requestId} until ${target.expiresAt.toISOString()}`,
        });
      } catch (error) {
        // The tuple is held already: by an earlier attempt, an overlapping request of ours, or someone else.
        if (errorCode(error) !== 'RoleAssignmentExists') throw azureError(error, context);
      }
    }
  }

  async revoke(target: GrantTarget): Promise<void> {
    const roles = this.#check(target.principal, target.grants);
    if (target.grants.length === 0) return;
    const client = await this.#connect();
    const failures: Error[] = [];
    for (const [i, grant] of target.grants.entries()) {
      const context = `cannot revoke "${grant}" from ${target.principal} at ${this.#scope}`;
      if (this.#mode === 'pim') {
        await pimRequest(client, this.#sdkScope, 'AdminRemove', target, roles[i] ?? '', context).catch((error: Error) => failures.push(error));
        continue;
      }
      try {
        await client.roleAssignments.delete(this.#sdkScope, assignmentName(target.requestId, grant));
      } catch (error) {
        // 204 is the usual answer for a missing assignment; 404 counts as gone too.
        if (statusOf(error) !== 404) failures.push(azureError(error, context));
      }
    }
    if (this.#mode === 'assignment') await this.#revokeOverlapping(client, target, roles, failures);
    throwFirst(failures);
  }

  /** Read-only (`accessbot provider check`): see `checkAzureRbac`. Nothing is written. */
  async check(grants: string[]): Promise<ProviderCheck> {
    return checkAzureRbac({ scope: this.#scope, sdkScope: this.#sdkScope, roles: this.#roles, mode: this.#mode, connect: () => this.#connect() }, grants);
  }

  async close(): Promise<void> {}

  /** The assignment an overlapping request of ours created holds the same tuple: it goes too. */
  async #revokeOverlapping(client: AuthorizationManagementClient, target: GrantTarget, roles: string[], failures: Error[]) {
    const wanted = new Set(roles.map(roleGuid));
    let assignments: RoleAssignment[];
    try {
      assignments = await this.#assignmentsOf(target.principal, `cannot list the role assignments of ${target.principal}`);
    } catch (error) {
      failures.push(error as Error);
      return;
    }
    for (const a of assignments) {
      const ours = a.description?.startsWith(MARKER) === true;
      if (!ours || !a.name || !this.#isThisScope(a.scope) || !wanted.has(roleGuid(a.roleDefinitionId))) continue;
      try {
        // By scope and name: `deleteById` with the id's leading slash made `subscriptions` the URL's host.
        await client.roleAssignments.delete(this.#sdkScope, a.name);
      } catch (error) {
        if (statusOf(error) !== 404) failures.push(azureError(error, `cannot delete role assignment ${a.name} at ${this.#scope}`));
      }
    }
  }

  /** Every assignment of the principal itself at, above or below the scope (all pages). */
  async #assignmentsOf(principal: string, context: string): Promise<RoleAssignment[]> {
    const client = await this.#connect();
    const all: RoleAssignment[] = [];
    try {
      for await (const a of client.roleAssignments.listForScope(this.#sdkScope, { filter: `principalId eq '${principal}'` })) {
        all.push(a);
      }
    } catch (error) {
      throw azureError(error, context);
    }
    return all.filter((a) => a.principalId?.toLowerCase() === principal.toLowerCase());
  }

  #isThisScope(scope: string | undefined): boolean {
    return normalScope(scope) === this.#scope.toLowerCase();
  }

  #appliesHere(scope: string | undefined): boolean {
    const s = normalScope(scope);
    const here = this.#scope.toLowerCase();
    return s === here || s === '' || here.startsWith(`${s}/`);
  }

  /** Validates before any request: the principal (it goes into an OData filter) and every grant's role. */
  #check(principal: string, grants: string[]): string[] {
    if (!isGuid(principal)) {
      throw new PermanentProviderError(
        `principal "${principal}" is not an Entra object id (a GUID); map chat users to object ids with "principals" in the policy`,
      );
    }
    return grants.map((grant) => {
      const role = this.#roles.get(grant);
      if (!role) throw new PermanentProviderError(`grant "${grant}" is not listed in role_definitions (known: ${[...this.#roles.keys()].join(', ')})`);
      return role;
    });
  }

  #connect(): Promise<AuthorizationManagementClient> {
    this.#client ??= (async () => {
      const { AuthorizationManagementClient } = await import('@azure/arm-authorization');
      const credential = this.#options.credential ?? new (await import('@azure/identity')).DefaultAzureCredential();
      // Scope-based operations never use the subscription id, but the client requires one.
      const subscription = /^\/subscriptions\/([^/]+)/i.exec(this.#scope)?.[1] ?? '00000000-0000-0000-0000-000000000000';
      return new AuthorizationManagementClient(credential, subscription, { retryOptions: { maxRetries: this.#options.maxRetries ?? 3 } });
    })();
    // A failed load is not remembered: the next attempt tries again.
    this.#client.catch(() => (this.#client = undefined));
    return this.#client;
  }
}
