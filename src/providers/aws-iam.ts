/**
 * AWS IAM provider: each grant is one inline policy, `jit-<requestId>`, on an IAM user (or role) we manage,
 * holding the statements of the policy templates the role names, each carrying its own end:
 *
 *   Condition: { DateLessThan: { "aws:CurrentTime": "<expiresAt>" } }
 *
 * so the Allow lapses at the end of the window even if our revoke never runs (the second lock); the revoke
 * job then deletes the inert policy. IAM evaluates policies on every request, so deleting it also cuts
 * sessions that are already open (existing STS sessions of a role included), after IAM's propagation delay.
 *
 * The model: `grants` are names of policy templates declared in the resource's settings (`policies`), never
 * raw actions or ARNs from a request. Statements are tagged with `Sid: Jit<hex of the template name>S<n>`,
 * which is how `held` reads back which templates a grant's policy holds. `held` sees only that policy: what
 * the principal may do through other policies is not ours to know (nor to take back).
 *
 * Per-grant objects: the policy is this request's alone, so `revoke` deletes it whole whatever `grants`
 * lists; another grant of the same template keeps its own policy, so nothing it covers is lost.
 *
 * Credentials come from the SDK's default chain (environment, web identity, container, instance profile);
 * nothing about them is in the policy file. Bot permissions: iam:PutUserPolicy, iam:GetUserPolicy,
 * iam:DeleteUserPolicy (or the Role ones) on the managed principals only, plus a permissions boundary or SCP
 * so the bot cannot grant itself anything.
 *
 * Left out on purpose: managed policy attachment and group membership (neither carries a per-grant expiry),
 * and session revocation of a role (`AWSRevokeOlderSessions`), which would cut every holder of the role.
 *
 * Where things are (src/providers/aws-iam/):
 * - provider.ts: the provider: held, grant and revoke
 * - policy-document.ts: the names and the inline policy derived from a request, and reading it back
 * - check.ts: the read-only `accessbot provider check`
 * - errors.ts: AWS SDK errors (shared with aws-iam-managed and the Identity Center provider)
 * - settings.ts: the `provider: aws-iam` settings and the provider definition
 */
export { AwsIamProvider, type AwsIamProviderOptions } from './aws-iam/provider.js';
export { iamTime, policyDocument, policyName, type PolicyStatement, type PrincipalType } from './aws-iam/policy-document.js';
export { awsErrorCode, describeAwsError, isTransientAwsError } from './aws-iam/errors.js';
export { awsIamProvider, awsRegion } from './aws-iam/settings.js';
