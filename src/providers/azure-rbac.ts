/**
 * Azure RBAC provider: gives an Entra principal (user, group or service principal, by object id) an Azure
 * role at one scope, and takes it back.
 *
 * The principal is an Entra object id (a GUID), never an email: map chat users to object ids with
 * `principals` in the policy. Anything else is refused before a request is made.
 *
 * `mode: assignment` (default) PUTs a role assignment named by a deterministic UUID of (request id, grant),
 * with a description marking it as ours. Azure keeps at most one assignment per (principal, role, scope), so
 * a second grant of a held tuple answers 409 `RoleAssignmentExists` (a success, matched by `error.code`:
 * ARM has reworded the message before) and adds no object of its own. The tuple, not the request, is what
 * we hold: revoke deletes our named assignment and any other accessbot-marked assignment of the tuple at
 * exactly this scope (the one an overlapping request of ours created), never an unmarked one. No native
 * expiry: our revoke job and sweeper are the only lock.
 *
 * `mode: pim` asks Privileged Identity Management instead: an `AdminAssign` schedule request that expires at
 * the window's end (the target's own second lock), `AdminRemove` to end it early. Requests are actions, not
 * the assignment, so each attempt gets a fresh name; idempotency comes from the (principal, role, scope) key
 * (`RoleAssignmentExists`, `RoleAssignmentDoesNotExist`). Needs Entra ID P2; shapes follow the REST
 * reference, not reproduced against a tenant.
 *
 * Credentials: `DefaultAzureCredential` (workload identity, managed identity, or AZURE_* variables, read by
 * the SDK); tests inject a `TokenCredential`. The bot needs roleAssignments read/write/delete on the scope
 * (e.g. "Role Based Access Control Administrator" constrained to the grantable roles); for PIM,
 * roleAssignmentScheduleRequests/write plus roleAssignments/read. The SDKs load on first use: they are slow
 * to import.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { AuthorizationManagementClient, RoleAssignment } from '@azure/arm-authorization';
import type { TokenCredential } from '@azure/identity';
import { z } from 'zod';
import { PermanentProviderError, type AccessProvider, type GrantTarget, type ProviderCheck } from '../use-cases/ports.js';
import { azureActionAllowed, CheckReport, listText, uniqueGrants } from './check.js';
import type { ProviderDefinition } from './definition.js';

/** Marks an assignment as ours in its description; revoke deletes no assignment without it. */
const MARKER = 'accessbot ';
/** PIM request states after which the request will not provide (or remove) the assignment. */
const PIM_PERMANENT_FAILURES = new Set(['Denied', 'AdminDenied', 'Failed', 'Invalid', 'Canceled']);
const PIM_RETRYABLE_FAILURES = new Set(['TimedOut', 'FailedAsResourceIsLocked']);
const PIM_AWAITS_APPROVAL = new Set(['PendingApproval', 'PendingApprovalProvisioning', 'PendingAdminDecision']);

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
        await this.#pim(client, 'AdminAssign', target, roles[i] ?? '', context);
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
        await this.#pim(client, 'AdminRemove', target, roles[i] ?? '', context).catch((error: Error) => failures.push(error));
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

  /**
   * Read-only (`accessbot provider check`): the role assignments at the scope can be listed (which also
   * proves the credential), each grant's role definition resolves at the scope (GET), and, where Azure can
   * list the caller's own permissions (a resource group scope), the bot holds the actions grant and revoke
   * use. At a subscription or management group those cannot be listed, and the check says so.
   */
  async check(grants: string[]): Promise<ProviderCheck> {
    const report = new CheckReport();
    const roles = new Map<string, string[]>();
    for (const grant of uniqueGrants(grants)) {
      const role = this.#roles.get(grant);
      if (role) roles.set(roleGuid(role), [...(roles.get(roleGuid(role)) ?? []), `"${grant}"`]);
      else report.fail(`grant "${grant}" is not listed in role_definitions (known: ${[...this.#roles.keys()].join(', ')})`);
    }
    let client: AuthorizationManagementClient;
    try {
      client = await this.#connect();
      await client.roleAssignments.listForScope(this.#sdkScope, { filter: 'atScope()' }).byPage().next();
      report.ok(`may list the role assignments at ${this.#scope}`);
    } catch (error) {
      return report.fail(azureError(error, `cannot list the role assignments at ${this.#scope}, which held and revoke do`).message).result();
    }

    for (const [guid, names] of roles) {
      const label = `${names.join(', ')} (role definition ${guid})`;
      try {
        const definition = await client.roleDefinitions.get(this.#sdkScope, guid);
        report.ok(`${names.join(', ')} is "${definition.roleName ?? guid}"`);
      } catch (error) {
        if (statusOf(error) === 404) report.fail(`${label} does not exist at ${this.#scope}`);
        else report.fail(azureError(error, `cannot read ${label}`).message);
      }
    }

    const needed =
      this.#mode === 'pim'
        ? ['Microsoft.Authorization/roleAssignmentScheduleRequests/write', 'Microsoft.Authorization/roleAssignments/read']
        : ['Microsoft.Authorization/roleAssignments/write', 'Microsoft.Authorization/roleAssignments/delete', 'Microsoft.Authorization/roleAssignments/read'];
    const group = /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)$/i.exec(this.#scope)?.[1];
    if (group === undefined) {
      report.warn(`not verified: ${listText(needed)} at ${this.#scope} (Azure lists a caller's own permissions for resource groups and resources only)`);
      return report.result();
    }
    try {
      const permissions: { actions?: string[]; notActions?: string[] }[] = [];
      for await (const p of client.permissions.listForResourceGroup(group)) permissions.push(p);
      const missing = needed.filter((action) => !azureActionAllowed(permissions, action));
      const held = needed.filter((action) => !missing.includes(action));
      if (held.length > 0) report.ok(`holds ${listText(held)} at ${this.#scope}`);
      for (const action of missing) report.fail(`missing ${action} at ${this.#scope}, which ${this.#mode === 'pim' ? 'PIM requests need' : 'grant or revoke needs'}`);
    } catch (error) {
      report.warn(azureError(error, `could not list the bot's permissions at ${this.#scope}`).message);
    }
    return report.result();
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

  /** One PIM schedule request; "already assigned" and "nothing to remove" are successes. */
  async #pim(
    client: AuthorizationManagementClient,
    requestType: 'AdminAssign' | 'AdminRemove',
    target: GrantTarget,
    roleDefinitionId: string,
    context: string,
  ): Promise<void> {
    let status: string;
    try {
      const response = await client.roleAssignmentScheduleRequests.create(this.#sdkScope, randomUUID(), {
        principalId: target.principal,
        roleDefinitionId,
        requestType,
        justification: `${MARKER}${target.requestId}`,
        ...(requestType === 'AdminAssign'
          ? { scheduleInfo: { startDateTime: new Date(), expiration: { type: 'AfterDateTime', endDateTime: target.expiresAt } } }
          : {}),
      });
      status = response.status ?? '';
    } catch (error) {
      if (errorCode(error) === (requestType === 'AdminAssign' ? 'RoleAssignmentExists' : 'RoleAssignmentDoesNotExist')) return;
      throw azureError(error, context);
    }
    if (PIM_AWAITS_APPROVAL.has(status)) {
      throw new PermanentProviderError(`${context}: PIM holds the ${requestType} request for approval; the role's PIM settings must let admins assign without approval`);
    }
    if (PIM_PERMANENT_FAILURES.has(status)) throw new PermanentProviderError(`${context}: PIM answered the ${requestType} request with status ${status}`);
    if (PIM_RETRYABLE_FAILURES.has(status)) throw new Error(`${context}: PIM answered the ${requestType} request with status ${status}`);
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

/**
 * A name-based (version 5, SHA-1) UUID as in RFC 9562 §5.5: the same name in the same namespace always
 * gives the same UUID. Written here rather than adding a package for twenty lines.
 */
export function uuidV5(name: string, namespace: string): string {
  const bytes = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** accessbot's own namespace for assignment names (a fixed random UUID: never change it). */
const ASSIGNMENT_NAMESPACE = '5b0c1e4e-3f8a-4d7c-9a51-6c2f0d8e7b13';

/** The role assignment name of one grant of one request: the same on every retry, different for any other. */
export function assignmentName(requestId: string, grant: string): string {
  return uuidV5(JSON.stringify([requestId, grant]), ASSIGNMENT_NAMESPACE);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ROLE_DEFINITION_ID = /^(\/[^/?#%\s'"]+)*\/providers\/Microsoft\.Authorization\/roleDefinitions\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** A RestError of the Azure SDK, recognised by shape (its package is not one of ours to import). */
interface RestErrorLike {
  name: 'RestError';
  statusCode?: number;
  code?: string;
  message: string;
}

function asRestError(error: unknown): RestErrorLike | undefined {
  return error instanceof Error && error.name === 'RestError' ? (error as unknown as RestErrorLike) : undefined;
}

function statusOf(error: unknown): number | undefined {
  return asRestError(error)?.statusCode;
}

/** ARM's `error.code` from the response body, e.g. `RoleAssignmentExists`, `AuthorizationFailed`. */
function errorCode(error: unknown): string | undefined {
  return asRestError(error)?.code;
}

/** What retrying cannot fix: a bad request, a missing scope or role, a bot without the right. */
const PERMANENT_STATUSES = new Set([400, 401, 403, 404, 405, 422]);
const MAX_MESSAGE = 300;

/**
 * A safe error: ARM's status, code and message (they name ids and scopes, never credentials). Network and
 * credential errors keep only their code or name: their text can carry hosts, tenant details or tokens.
 * The SDK error is never passed on as `cause`: it holds the request, headers included.
 */
function azureError(error: unknown, context: string): Error {
  if (error instanceof PermanentProviderError) return error;
  const rest = asRestError(error);
  if (rest?.statusCode !== undefined) {
    const text = rest.message.length > MAX_MESSAGE ? `${rest.message.slice(0, MAX_MESSAGE)}…` : rest.message;
    const message = `${context}: Azure answered ${rest.statusCode}${rest.code ? ` ${rest.code}` : ''}: ${text}`;
    return PERMANENT_STATUSES.has(rest.statusCode) ? new PermanentProviderError(message) : new Error(message);
  }
  if (rest?.code && /^[A-Z_]+$/.test(rest.code)) return new Error(`${context}: network error ${rest.code}`);
  return new Error(`${context}: ${error instanceof Error ? error.name : typeof error} (no answer from Azure)`);
}

/** A retryable failure wins: the retry redoes everything, and all of it is idempotent. */
function throwFirst(failures: Error[]): void {
  const failure = failures.find((f) => !(f instanceof PermanentProviderError)) ?? failures[0];
  if (failure) throw failure;
}

function normalScope(scope: string | undefined): string {
  return (scope ?? '').replace(/\/+$/, '').toLowerCase();
}

/** Role definition ids come back in subscription or tenant form; the GUID at the end identifies the role. */
function roleGuid(id: string | undefined): string {
  return (id ?? '').split('/').pop()?.toLowerCase() ?? '';
}

const SCOPE_MESSAGE = 'must be an Azure scope like /subscriptions/<id>/resourceGroups/<group>';
const scopeSetting = z
  .string()
  .regex(/^\/?([^/?#%\s'"]+\/)*[^/?#%\s'"]+\/?$/, { error: SCOPE_MESSAGE })
  .refine((scope) => !scope.split('/').some((segment) => segment === '.' || segment === '..'), { error: SCOPE_MESSAGE });
const roleDefinition = z.string().refine((id) => isGuid(id) || ROLE_DEFINITION_ID.test(id), {
  error: 'must be a role definition id (a GUID) or its full resource id (…/providers/Microsoft.Authorization/roleDefinitions/<GUID>)',
});

/**
 * `provider: azure`: `scope`, `role_definitions: { <grant>: <role definition id> }` (the roles' `grants`
 * name its keys), optional `mode: assignment | pim`. No secrets: the credential comes from the environment
 * through `DefaultAzureCredential`.
 */
const settingsSchema = z.object({
  scope: scopeSetting,
  role_definitions: z.record(z.string().min(1), roleDefinition).refine((r) => Object.keys(r).length > 0, {
    error: 'list at least one grant name and its role definition id',
  }),
  mode: z.enum(['assignment', 'pim'], { error: 'must be assignment (a plain role assignment) or pim (a PIM assignment that expires)' }).default('assignment'),
});

export const azureProvider: ProviderDefinition = {
  name: 'azure',
  shape: settingsSchema.shape,
  envNames: () => [],
  create(settings) {
    const { scope, role_definitions, mode } = settingsSchema.parse(settings);
    return new AzureRbacProvider({ scope, roleDefinitions: role_definitions, mode });
  },
};
