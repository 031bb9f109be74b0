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
 * expiry: our revoke job and sweeper are the only lock. Drift detection lists the marked assignments at exactly
 * this scope as shared memberships (`requestId: null`: the tuple, not the request, is what is held); `mode: pim`
 * is not checked (a PIM assignment expires by itself and carries no marker of ours).
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
 *
 * Where things are (src/providers/azure-rbac/):
 * - provider.ts: the provider: held, grant and revoke (plain role assignments)
 * - pim.ts: the PIM schedule requests of `mode: pim`
 * - drift.ts: `listGranted` (`mode: assignment`), every marked assignment of ours still at the scope
 * - naming.ts: the assignment name derived from a request, the marker of ours, role and scope ids
 * - check.ts: the read-only `accessbot provider check`
 * - errors.ts: Azure SDK errors as safe text, permanent or retryable
 * - settings.ts: the `provider: azure` settings and the provider definition
 */
export { AzureRbacProvider, type AzureRbacProviderOptions } from './azure-rbac/provider.js';
export { assignmentName, uuidV5 } from './azure-rbac/naming.js';
export { azureProvider } from './azure-rbac/settings.js';
