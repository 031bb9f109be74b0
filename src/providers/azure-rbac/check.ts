/** `accessbot provider check` for the azure provider: reads, never writes. */
import type { AuthorizationManagementClient } from '@azure/arm-authorization';
import type { ProviderCheck } from '../../use-cases/ports.js';
import { azureActionAllowed, CheckReport, listText, uniqueGrants } from '../check.js';
import { azureError, statusOf } from './errors.js';
import { roleGuid } from './naming.js';

/** What the check reads of the provider it runs for. */
export interface AzureRbacCheckContext {
  scope: string;
  sdkScope: string;
  roles: ReadonlyMap<string, string>;
  mode: 'assignment' | 'pim';
  connect(): Promise<AuthorizationManagementClient>;
}

/**
 * Read-only (`accessbot provider check`): the role assignments at the scope can be listed (which also
 * proves the credential), each grant's role definition resolves at the scope (GET), and, where Azure can
 * list the caller's own permissions (a resource group scope), the bot holds the actions grant and revoke
 * use. At a subscription or management group those cannot be listed, and the check says so.
 */
export async function checkAzureRbac(self: AzureRbacCheckContext, grants: string[]): Promise<ProviderCheck> {
  const report = new CheckReport();
  const roles = new Map<string, string[]>();
  for (const grant of uniqueGrants(grants)) {
    const role = self.roles.get(grant);
    if (role) roles.set(roleGuid(role), [...(roles.get(roleGuid(role)) ?? []), `"${grant}"`]);
    else report.fail(`grant "${grant}" is not listed in role_definitions (known: ${[...self.roles.keys()].join(', ')})`);
  }
  let client: AuthorizationManagementClient;
  try {
    client = await self.connect();
    await client.roleAssignments.listForScope(self.sdkScope, { filter: 'atScope()' }).byPage().next();
    report.ok(`may list the role assignments at ${self.scope}`);
  } catch (error) {
    return report.fail(azureError(error, `cannot list the role assignments at ${self.scope}, which held and revoke do`).message).result();
  }

  for (const [guid, names] of roles) {
    const label = `${names.join(', ')} (role definition ${guid})`;
    try {
      const definition = await client.roleDefinitions.get(self.sdkScope, guid);
      report.ok(`${names.join(', ')} is "${definition.roleName ?? guid}"`);
    } catch (error) {
      if (statusOf(error) === 404) report.fail(`${label} does not exist at ${self.scope}`);
      else report.fail(azureError(error, `cannot read ${label}`).message);
    }
  }

  const needed =
    self.mode === 'pim'
      ? ['Microsoft.Authorization/roleAssignmentScheduleRequests/write', 'Microsoft.Authorization/roleAssignments/read']
      : ['Microsoft.Authorization/roleAssignments/write', 'Microsoft.Authorization/roleAssignments/delete', 'Microsoft.Authorization/roleAssignments/read'];
  const group = /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)$/i.exec(self.scope)?.[1];
  if (group === undefined) {
    report.warn(`not verified: ${listText(needed)} at ${self.scope} (Azure lists a caller's own permissions for resource groups and resources only)`);
    return report.result();
  }
  try {
    const permissions: { actions?: string[]; notActions?: string[] }[] = [];
    for await (const p of client.permissions.listForResourceGroup(group)) permissions.push(p);
    const missing = needed.filter((action) => !azureActionAllowed(permissions, action));
    const held = needed.filter((action) => !missing.includes(action));
    if (held.length > 0) report.ok(`holds ${listText(held)} at ${self.scope}`);
    for (const action of missing) report.fail(`missing ${action} at ${self.scope}, which ${self.mode === 'pim' ? 'PIM requests need' : 'grant or revoke needs'}`);
  } catch (error) {
    report.warn(azureError(error, `could not list the bot's permissions at ${self.scope}`).message);
  }
  return report.result();
}
