/**
 * One account assignment (permission set, user, account) on the Identity Center instance: created, deleted,
 * or looked up. Create and delete are asynchronous on AWS's side: they return IN_PROGRESS and a request id,
 * which is polled with bounded exponential backoff; a ConflictException is retried a few times.
 */
import {
  CreateAccountAssignmentCommand,
  DeleteAccountAssignmentCommand,
  DescribeAccountAssignmentCreationStatusCommand,
  DescribeAccountAssignmentDeletionStatusCommand,
  ListAccountAssignmentsCommand,
  type AccountAssignmentOperationStatus,
  type SSOAdminClient,
} from '@aws-sdk/client-sso-admin';
import { PermanentProviderError } from '../../use-cases/ports.js';
import { awsErrorCode } from '../aws-iam/errors.js';
import { ssoError } from './errors.js';

const MAX_PAGES = 1_000;

/** How long to wait for AWS's asynchronous work, and how often to retry a ConflictException. */
export interface Timing {
  /** The first wait before polling; each next wait doubles, up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** Total waiting per operation; past it the attempt fails as retryable (the job tries again later). */
  timeoutMs: number;
  conflictRetries: number;
  sleep(ms: number): Promise<void>;
}

const DEFAULT_TIMING: Timing = {
  firstDelayMs: 500,
  maxDelayMs: 5_000,
  timeoutMs: 120_000,
  conflictRetries: 4,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** The account assignments of one instance and account, through one client. */
export class AccountAssignments {
  readonly #client: SSOAdminClient;
  readonly #instanceArn: string;
  readonly #accountId: string;
  readonly #timing: Timing;

  constructor(client: SSOAdminClient, instanceArn: string, accountId: string, timing: Partial<Timing> | undefined) {
    this.#client = client;
    this.#instanceArn = instanceArn;
    this.#accountId = accountId;
    this.#timing = { ...DEFAULT_TIMING, ...timing };
  }

  #tuple(principal: string, arn: string) {
    return {
      InstanceArn: this.#instanceArn,
      PermissionSetArn: arn,
      PrincipalType: 'USER' as const,
      PrincipalId: principal,
      TargetId: this.#accountId,
      TargetType: 'AWS_ACCOUNT' as const,
    };
  }

  async assign(principal: string, arn: string): Promise<void> {
    const context = `cannot assign ${arn} to user ${principal} in account ${this.#accountId}`;
    let final: AccountAssignmentOperationStatus;
    try {
      const created = await this.#retryConflicts(() => this.#client.send(new CreateAccountAssignmentCommand(this.#tuple(principal, arn))));
      final = await this.#settle(created.AccountAssignmentCreationStatus, context, async (id) => {
        const out = await this.#client.send(
          new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: this.#instanceArn, AccountAssignmentCreationRequestId: id }),
        );
        return out.AccountAssignmentCreationStatus;
      });
      if (final.Status === 'SUCCEEDED') return;
      // A repeated create may fail because the assignment exists: that is the state we wanted.
      if (await this.assigned(principal, arn)) return;
    } catch (error) {
      throw ssoError(error, context);
    }
    throw new PermanentProviderError(`${context}: AWS reports the assignment FAILED: ${final.FailureReason ?? 'no reason given'}`);
  }

  async unassign(principal: string, arn: string): Promise<void> {
    const context = `cannot remove the assignment of ${arn} from user ${principal} in account ${this.#accountId}`;
    let final: AccountAssignmentOperationStatus;
    try {
      let deleted;
      try {
        deleted = await this.#retryConflicts(() => this.#client.send(new DeleteAccountAssignmentCommand(this.#tuple(principal, arn))));
      } catch (error) {
        // "Does not exist" is success, once the list confirms it (the same code also means a wrong instance).
        if (awsErrorCode(error) === 'ResourceNotFound' && !(await this.assigned(principal, arn))) return;
        throw error;
      }
      final = await this.#settle(deleted.AccountAssignmentDeletionStatus, context, async (id) => {
        const out = await this.#client.send(
          new DescribeAccountAssignmentDeletionStatusCommand({ InstanceArn: this.#instanceArn, AccountAssignmentDeletionRequestId: id }),
        );
        return out.AccountAssignmentDeletionStatus;
      });
      if (final.Status === 'SUCCEEDED') return;
      if (!(await this.assigned(principal, arn))) return;
    } catch (error) {
      throw ssoError(error, context);
    }
    throw new PermanentProviderError(`${context}: AWS reports the deletion FAILED: ${final.FailureReason ?? 'no reason given'}`);
  }

  /** Polls an IN_PROGRESS operation until it ends; waiting longer than `timeoutMs` is a retryable failure. */
  async #settle(
    initial: AccountAssignmentOperationStatus | undefined,
    context: string,
    describe: (requestId: string) => Promise<AccountAssignmentOperationStatus | undefined>,
  ): Promise<AccountAssignmentOperationStatus> {
    const requestId = initial?.RequestId;
    let status = initial;
    let waited = 0;
    for (let attempt = 0; status?.Status === 'IN_PROGRESS'; attempt++) {
      if (!requestId) throw new Error(`${context}: AWS returned no request id to follow`);
      const delay = this.#delay(attempt);
      if (waited + delay > this.#timing.timeoutMs) {
        throw new Error(`${context}: still IN_PROGRESS after ${Math.round(waited / 1000)}s (request ${requestId}); will try again`);
      }
      await this.#timing.sleep(delay);
      waited += delay;
      status = await describe(requestId);
    }
    if (status?.Status !== 'SUCCEEDED' && status?.Status !== 'FAILED') {
      throw new Error(`${context}: unexpected operation status ${JSON.stringify(status?.Status ?? null)}`);
    }
    return status;
  }

  async #retryConflicts<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (awsErrorCode(error) !== 'Conflict' || attempt >= this.#timing.conflictRetries) throw error;
        await this.#timing.sleep(this.#delay(attempt));
      }
    }
  }

  #delay(attempt: number): number {
    return Math.min(this.#timing.firstDelayMs * 2 ** attempt, this.#timing.maxDelayMs);
  }

  /** Whether the user has a direct assignment of `arn` in the account (every page of ListAccountAssignments). */
  async assigned(principal: string, arn: string): Promise<boolean> {
    const id = principal.toLowerCase();
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await this.#client.send(
        new ListAccountAssignmentsCommand({
          InstanceArn: this.#instanceArn,
          AccountId: this.#accountId,
          PermissionSetArn: arn,
          MaxResults: 100,
          NextToken: token,
        }),
      );
      if ((out.AccountAssignments ?? []).some((a) => a.PrincipalType === 'USER' && a.PrincipalId?.toLowerCase() === id)) return true;
      if (!out.NextToken || out.NextToken === token) return false;
      token = out.NextToken;
    }
    throw new Error(`more than ${MAX_PAGES} pages of assignments for ${arn}`);
  }
}
