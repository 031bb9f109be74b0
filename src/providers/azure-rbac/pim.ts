/**
 * `mode: pim`: grant and revoke as Privileged Identity Management schedule requests (`AdminAssign` that
 * expires at the window's end, `AdminRemove` to end it early), each attempt under a fresh request name.
 */
import { randomUUID } from 'node:crypto';
import type { AuthorizationManagementClient } from '@azure/arm-authorization';
import { PermanentProviderError, type GrantTarget } from '../../use-cases/ports.js';
import { azureError, errorCode } from './errors.js';
import { MARKER } from './naming.js';

/** PIM request states after which the request will not provide (or remove) the assignment. */
const PIM_PERMANENT_FAILURES = new Set(['Denied', 'AdminDenied', 'Failed', 'Invalid', 'Canceled']);
const PIM_RETRYABLE_FAILURES = new Set(['TimedOut', 'FailedAsResourceIsLocked']);
const PIM_AWAITS_APPROVAL = new Set(['PendingApproval', 'PendingApprovalProvisioning', 'PendingAdminDecision']);

/** One PIM schedule request; "already assigned" and "nothing to remove" are successes. */
export async function pimRequest(
  client: AuthorizationManagementClient,
  sdkScope: string,
  requestType: 'AdminAssign' | 'AdminRemove',
  target: GrantTarget,
  roleDefinitionId: string,
  context: string,
): Promise<void> {
  let status: string;
  try {
    const response = await client.roleAssignmentScheduleRequests.create(sdkScope, randomUUID(), {
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
