/** Drift detection for the azure provider (`mode: assignment`): the role assignments of ours still at the scope. */
import type { AuthorizationManagementClient } from '@azure/arm-authorization';
import type { GrantedObject } from '../../use-cases/ports.js';
import { azureError } from './errors.js';
import { isGuid, MARKER, normalScope, roleGuid } from './naming.js';

/** What drift detection reads of the provider it runs for. */
export interface AzureDriftContext {
  /** `/subscriptions/…`, as the provider writes its assignments. */
  scope: string;
  /** The same without its leading slash, as the SDK wants it. */
  sdkScope: string;
  /** Grant name → role definition id. */
  roles: ReadonlyMap<string, string>;
  connect(): Promise<AuthorizationManagementClient>;
}

/**
 * Drift detection (read-only): every assignment at exactly this scope whose description carries our marker
 * (`accessbot <request id> until …`, which only our grant writes) and whose role is one of `grants`: what
 * `revoke` of that principal and grant removes (it deletes every marked assignment of the tuple at this
 * scope). One `listForScope` with `$filter=atScope()` (the assignments at or above the scope; ours are at
 * it), every page (`nextLink`). Needs roleAssignments/read, which `held` needs already.
 *
 * `requestId` is null although the description names a request: Azure keeps one assignment per (principal,
 * role, scope), so the assignment one request created is also what an overlapping request of the same
 * principal and role holds (its own grant answered `RoleAssignmentExists`), and the first request's revoke
 * leaves it for the second. Judged by the request it is named after, it would be taken from the request
 * still active; judged as a shared membership (no approved, active or revoking request of that principal
 * includes the grant, none recorded it as held before), it is not.
 *
 * Never listed: unmarked assignments (an admin's, another tool's, PIM's), assignments above or below this
 * scope, roles that are not the role of one of `grants`, and a role that two of `grants` both name (the
 * records judge grant names, so access held under one name would be taken as drift under the other).
 * Grants not in role_definitions are skipped: nothing of ours can carry them.
 */
export async function listAzureGranted(self: AzureDriftContext, grants: string[]): Promise<GrantedObject[]> {
  const byRole = new Map<string, string[]>();
  for (const grant of new Set(grants)) {
    const role = self.roles.get(grant);
    if (role) byRole.set(roleGuid(role), [...(byRole.get(roleGuid(role)) ?? []), grant]);
  }
  if (byRole.size === 0) return [];
  const here = self.scope.toLowerCase();
  const found: GrantedObject[] = [];
  try {
    const client = await self.connect();
    for await (const a of client.roleAssignments.listForScope(self.sdkScope, { filter: 'atScope()' })) {
      const names = byRole.get(roleGuid(a.roleDefinitionId));
      const principal = a.principalId ?? '';
      if (names?.length !== 1 || normalScope(a.scope) !== here || !a.name || !isGuid(principal)) continue;
      if (a.description?.startsWith(MARKER) !== true || found.some((o) => o.principal === principal && o.grant === names[0])) continue;
      found.push({ principal, grant: names[0]!, requestId: null });
    }
  } catch (error) {
    throw azureError(error, `cannot list the role assignments at ${self.scope}`);
  }
  return found;
}
