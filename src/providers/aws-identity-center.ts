/**
 * AWS IAM Identity Center provider: a grant is an account assignment (permission set, user, account) on the
 * organization's Identity Center instance; revoke deletes it again.
 *
 * Principals are Identity Center user ids (`906739a2f1-…` or a bare GUID), never emails: map each Slack user
 * to their id under the policy's `principals:`. Looking an email up in the identity store would need
 * `@aws-sdk/client-identitystore`, which accessbot does not ship; a principal that is not an id is refused
 * as permanent, before anything reaches AWS.
 *
 * Both operations are asynchronous on AWS's side: Create/DeleteAccountAssignment return IN_PROGRESS and a
 * request id, which we poll (Describe…Status) with bounded exponential backoff until SUCCEEDED or FAILED.
 * FAILED is permanent and carries AWS's reason, unless the assignment turns out to be in the state we wanted
 * (a repeated create, a delete of what is gone), which is success. ConflictException (another operation on
 * the same tuple still running, e.g. a revoke right after a grant) is retried a few times, then left to the
 * job's own retry. Throttling and 5xx are retried by the SDK, then left to the job.
 *
 * No per-grant objects: the assignment tuple is shared by every grant of the same permission set to the
 * same person, so the use case never asks to revoke what another grant still covers. `held` sees direct
 * USER assignments only, what this provider changes; access through a group assignment is not counted.
 *
 * Drift: an assignment carries no name, tag or creator, so the bot's cannot be told from an admin's, and the
 * records know only users who asked. Drift is detected only where the operator states, with
 * `exclusive_user_assignments: true`, that accessbot alone assigns these permission sets to users directly in
 * this account; the assignments are then shared memberships (`requestId: null`) judged against the records.
 *
 * No native expiry, and no way to end sessions: an assignment lasts until our revoke deletes it, and a
 * session the user started before that (portal or CLI) keeps working until the permission set's session
 * duration ends. Keep that duration short (1 hour) on permission sets granted this way.
 *
 * Bot permissions (management or delegated-admin account): sso:CreateAccountAssignment,
 * sso:DeleteAccountAssignment, sso:DescribeAccountAssignmentCreationStatus,
 * sso:DescribeAccountAssignmentDeletionStatus, sso:ListAccountAssignments; provisioning the permission set
 * into the account also needs the iam:* actions AWS lists for CreateAccountAssignment.
 *
 * Where things are (src/providers/aws-identity-center/):
 * - provider.ts: the provider: held, grant and revoke
 * - assignments.ts: one account assignment created, deleted or looked up, waiting out AWS's asynchronous work
 * - drift.ts: `listGranted` (with `exclusive_user_assignments: true`), every USER assignment of the
 *   resource's permission sets in the account
 * - check.ts: the read-only `accessbot provider check`
 * - errors.ts: which Identity Center errors are permanent
 * - settings.ts: the `provider: aws-sso` settings and the provider definition
 */
export { AwsIdentityCenterProvider, type AwsIdentityCenterProviderOptions } from './aws-identity-center/provider.js';
export type { Timing } from './aws-identity-center/assignments.js';
export { awsIdentityCenterProvider } from './aws-identity-center/settings.js';
