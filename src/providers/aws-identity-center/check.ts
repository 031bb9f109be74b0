/** `accessbot provider check` for the aws-sso provider: reads, never writes. */
import { DescribePermissionSetCommand, ListAccountAssignmentsCommand, type SSOAdminClient } from '@aws-sdk/client-sso-admin';
import type { ProviderCheck } from '../../use-cases/ports.js';
import { AWS_CREDENTIAL_ERRORS, CheckReport, isoDurationSeconds, uniqueGrants } from '../check.js';
import { awsErrorCode, describeAwsError } from '../aws-iam/errors.js';

/** What the check reads of the provider it runs for. */
export interface AwsIdentityCenterCheckContext {
  client: SSOAdminClient;
  instanceArn: string;
  accountId: string;
  permissionSets: ReadonlyMap<string, string>;
}

/**
 * Read-only (`accessbot provider check`): every grant names a configured permission set that exists in the
 * instance (`sso:DescribePermissionSet`, which only this check uses; its session duration is how long a
 * session outlives a revoke), and `sso:ListAccountAssignments` answers for the account. Creating and
 * deleting assignments cannot be tested without doing it, so the check says they are unverified.
 */
export async function checkAwsIdentityCenter(self: AwsIdentityCenterCheckContext, grants: string[]): Promise<ProviderCheck> {
  const report = new CheckReport();
  const byArn = new Map<string, string[]>();
  for (const grant of uniqueGrants(grants)) {
    const arn = self.permissionSets.get(grant);
    if (arn) byArn.set(arn, [...(byArn.get(arn) ?? []), `"${grant}"`]);
    else report.fail(`no permission set "${grant}" in this resource's permission_sets: list it there or fix the role's grants`);
  }
  for (const [arn, names] of byArn) {
    const label = `${names.join(', ')} (${arn})`;
    try {
      const out = await self.client.send(new DescribePermissionSetCommand({ InstanceArn: self.instanceArn, PermissionSetArn: arn }));
      const duration = out.PermissionSet?.SessionDuration;
      report.ok(`permission set ${names.join(', ')} is "${out.PermissionSet?.Name ?? '?'}"${duration ? `, sessions last ${duration}` : ''}`);
      if (duration && (isoDurationSeconds(duration) ?? 0) > 3_600) {
        report.warn(`permission set ${names.join(', ')}: a session started before a revoke keeps working for up to ${duration}; PT1H or less is safer`);
      }
    } catch (error) {
      const code = awsErrorCode(error);
      if (code === 'ResourceNotFound') report.fail(`permission set ${label} does not exist in ${self.instanceArn}`);
      else if (code === 'AccessDenied') report.warn(`cannot describe permission set ${label}: sso:DescribePermissionSet is not allowed (only this check uses it)`);
      else if (code === undefined || AWS_CREDENTIAL_ERRORS.has(code)) {
        return report.fail(`cannot use the AWS credentials or reach Identity Center: ${describeAwsError(error)}`).result();
      } else report.fail(`cannot describe permission set ${label}: ${describeAwsError(error)}`);
    }
  }
  const probe = byArn.keys().next().value ?? self.permissionSets.values().next().value;
  if (probe !== undefined) {
    try {
      await self.client.send(
        new ListAccountAssignmentsCommand({ InstanceArn: self.instanceArn, AccountId: self.accountId, PermissionSetArn: probe, MaxResults: 1 }),
      );
      report.ok(`may list the assignments in account ${self.accountId} (sso:ListAccountAssignments)`);
    } catch (error) {
      report.fail(`cannot list the assignments in account ${self.accountId}, which grant and revoke do: ${describeAwsError(error)}`);
    }
  }
  report.warn(
    'not verified: sso:CreateAccountAssignment, sso:DeleteAccountAssignment, their Describe…Status reads and the iam:* actions provisioning needs; only a real grant exercises them',
  );
  return report.result();
}
