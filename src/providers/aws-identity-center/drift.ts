/** Drift detection for the aws-sso provider: the USER assignments of the resource's permission sets in the account. */
import { ListAccountAssignmentsCommand, type SSOAdminClient } from '@aws-sdk/client-sso-admin';
import type { GrantedObject } from '../../use-cases/ports.js';
import { ssoError } from './errors.js';

/** Pages per permission set before giving up (100 assignments each: the API's maximum page). */
const MAX_PAGES = 1_000;

/** What drift detection reads of the provider it runs for. */
export interface AwsIdentityCenterDriftContext {
  client: SSOAdminClient;
  instanceArn: string;
  accountId: string;
  /** Grant name → permission set ARN. */
  permissionSets: ReadonlyMap<string, string>;
  /** Whether `revoke` would act on this principal id (it silently skips one Identity Center would refuse). */
  isPrincipal(id: string): boolean;
}

/**
 * Drift detection (read-only): every direct `USER` assignment, in the configured account, of the permission
 * set of each of `grants` (`ListAccountAssignments` per permission set, every page by `NextToken`). An
 * assignment is a tuple with no name, tag or creator of its own, so `requestId` is null: the use case weighs
 * it against the records (drift when no approved, active or revoking request of that user includes the
 * grant and none recorded it as held before), and `revoke` of that user and grant deletes the tuple.
 *
 * Identity Center cannot tell the bot's assignments from anyone else's, and the records only know users who
 * asked: an assignment made by hand to someone who never requested through the bot would look like drift.
 * So the provider offers this only with `exclusive_user_assignments: true`, the operator's statement that
 * direct user assignments of these permission sets in this account are made by accessbot alone (see
 * provider.ts). Access held before a request is recorded by that request and never taken.
 *
 * Never listed: GROUP assignments (the bot assigns users only), other accounts (the call names the account;
 * rows of another are dropped too), permission sets that are not the one of a grant in `grants`, a
 * permission set that two of `grants` both name (the records judge grant names, so access held under one name
 * would be taken as drift under the other), and principal ids `revoke` would skip. Grants not in
 * permission_sets are skipped: nothing of ours can carry them. Needs sso:ListAccountAssignments, which
 * `held` needs already.
 */
export async function listAwsIdentityCenterGranted(self: AwsIdentityCenterDriftContext, grants: string[]): Promise<GrantedObject[]> {
  const byArn = new Map<string, string[]>();
  for (const grant of new Set(grants)) {
    const arn = self.permissionSets.get(grant);
    if (arn) byArn.set(arn, [...(byArn.get(arn) ?? []), grant]);
  }
  const found: GrantedObject[] = [];
  for (const [arn, names] of byArn) {
    if (names.length !== 1) continue;
    const grant = names[0]!;
    const seen = new Set<string>();
    const context = `cannot list the assignments of ${arn} in account ${self.accountId}`;
    let token: string | undefined;
    let page = 0;
    do {
      if (++page > MAX_PAGES) throw new Error(`${context}: more than ${MAX_PAGES} pages`);
      let out;
      try {
        out = await self.client.send(
          new ListAccountAssignmentsCommand({ InstanceArn: self.instanceArn, AccountId: self.accountId, PermissionSetArn: arn, MaxResults: 100, NextToken: token }),
        );
      } catch (error) {
        throw ssoError(error, context);
      }
      for (const a of out.AccountAssignments ?? []) {
        const principal = a.PrincipalId ?? '';
        if (a.PrincipalType !== 'USER' || a.AccountId !== self.accountId || a.PermissionSetArn !== arn || !self.isPrincipal(principal)) continue;
        if (seen.has(principal)) continue;
        seen.add(principal);
        found.push({ principal, grant, requestId: null });
      }
      token = out.NextToken && out.NextToken !== token ? out.NextToken : undefined;
    } while (token !== undefined);
  }
  return found;
}
