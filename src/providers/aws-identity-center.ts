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
 * No native expiry, and no way to end sessions: an assignment lasts until our revoke deletes it, and a
 * session the user started before that (portal or CLI) keeps working until the permission set's session
 * duration ends. Keep that duration short (1 hour) on permission sets granted this way.
 *
 * Bot permissions (management or delegated-admin account): sso:CreateAccountAssignment,
 * sso:DeleteAccountAssignment, sso:DescribeAccountAssignmentCreationStatus,
 * sso:DescribeAccountAssignmentDeletionStatus, sso:ListAccountAssignments; provisioning the permission set
 * into the account also needs the iam:* actions AWS lists for CreateAccountAssignment.
 */
import {
  CreateAccountAssignmentCommand,
  DeleteAccountAssignmentCommand,
  DescribeAccountAssignmentCreationStatusCommand,
  DescribeAccountAssignmentDeletionStatusCommand,
  DescribePermissionSetCommand,
  ListAccountAssignmentsCommand,
  SSOAdminClient,
  type AccountAssignmentOperationStatus,
  type SSOAdminClientConfig,
} from '@aws-sdk/client-sso-admin';
import { z } from 'zod';
import { PermanentProviderError, type AccessProvider, type GrantTarget, type ProviderCheck } from '../use-cases/ports.js';
import { AWS_CREDENTIAL_ERRORS, CheckReport, isoDurationSeconds, uniqueGrants } from './check.js';
import { awsErrorCode, describeAwsError, isTransientAwsError } from './aws-iam.js';
import type { ProviderDefinition } from './definition.js';

/** Patterns from the Identity Center API reference. */
const PRINCIPAL_ID = /^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$/;
const INSTANCE_ARN = /^arn:aws(-[a-z]{1,5}){0,3}:sso:::instance\/((sso)?ins-[a-zA-Z0-9-.]{16})$/;
const PERMISSION_SET_ARN = /^arn:aws(-[a-z]{1,5}){0,3}:sso:::permissionSet\/((sso)?ins-[a-zA-Z0-9-.]{16})\/ps-[a-zA-Z0-9-./]{16}$/;
const ACCOUNT_ID = /^\d{12}$/;

const SSO_PERMANENT = new Set(['AccessDenied', 'Validation', 'ServiceQuotaExceeded', 'ResourceNotFound']);
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

export interface AwsIdentityCenterProviderOptions {
  /** The region of the Identity Center instance. */
  region: string;
  instanceArn: string;
  /** The AWS account the assignments give access to. */
  accountId: string;
  /** Grant name → permission set ARN. */
  permissionSets: Readonly<Record<string, string>>;
  /** Extra SDK client settings: tests pass fake credentials, an endpoint and `maxAttempts`. */
  client?: Omit<SSOAdminClientConfig, 'region'>;
  timing?: Partial<Timing>;
}

export class AwsIdentityCenterProvider implements AccessProvider {
  /** An account assignment is shared by every grant of the same tuple. */
  readonly perGrantObjects = false;
  readonly #client: SSOAdminClient;
  readonly #instanceArn: string;
  readonly #accountId: string;
  readonly #permissionSets: ReadonlyMap<string, string>;
  readonly #timing: Timing;

  constructor(options: AwsIdentityCenterProviderOptions) {
    this.#client = new SSOAdminClient({ ...options.client, region: options.region });
    this.#instanceArn = options.instanceArn;
    this.#accountId = options.accountId;
    this.#permissionSets = new Map(Object.entries(options.permissionSets));
    this.#timing = { ...DEFAULT_TIMING, ...options.timing };
  }

  async held({ principal, grants }: GrantTarget): Promise<string[]> {
    checkPrincipal(principal);
    const arns = this.#arns(grants);
    const held = new Set<string>();
    for (const arn of new Set(arns.map(([, a]) => a))) {
      try {
        if (await this.#assigned(principal, arn)) held.add(arn);
      } catch (error) {
        throw ssoError(error, `cannot list the assignments of ${arn}`);
      }
    }
    return arns.filter(([, arn]) => held.has(arn)).map(([grant]) => grant);
  }

  /** One assignment per permission set, in order; a failure leaves the earlier ones (the use case cleans up). */
  async grant({ principal, grants }: GrantTarget): Promise<void> {
    checkPrincipal(principal);
    for (const arn of new Set(this.#arns(grants).map(([, a]) => a))) await this.#assign(principal, arn);
  }

  /** Each permission set on its own, so one failure never keeps the others assigned; a retryable failure wins. */
  async revoke({ principal, grants }: GrantTarget): Promise<void> {
    // An id Identity Center would refuse cannot hold an assignment.
    if (!PRINCIPAL_ID.test(principal)) return;
    const failures: Error[] = [];
    const arns = new Set<string>();
    for (const grant of grants) {
      const arn = this.#permissionSets.get(grant);
      if (arn) arns.add(arn);
      else failures.push(unknownGrant(grant));
    }
    for (const arn of arns) {
      try {
        await this.#unassign(principal, arn);
      } catch (error) {
        failures.push(error instanceof Error ? error : new Error(String(error)));
      }
    }
    const failure = failures.find((f) => !(f instanceof PermanentProviderError)) ?? failures[0];
    if (failure) throw failure;
  }

  /**
   * Read-only (`accessbot provider check`): every grant names a configured permission set that exists in the
   * instance (`sso:DescribePermissionSet`, which only this check uses; its session duration is how long a
   * session outlives a revoke), and `sso:ListAccountAssignments` answers for the account. Creating and
   * deleting assignments cannot be tested without doing it, so the check says they are unverified.
   */
  async check(grants: string[]): Promise<ProviderCheck> {
    const report = new CheckReport();
    const byArn = new Map<string, string[]>();
    for (const grant of uniqueGrants(grants)) {
      const arn = this.#permissionSets.get(grant);
      if (arn) byArn.set(arn, [...(byArn.get(arn) ?? []), `"${grant}"`]);
      else report.fail(`no permission set "${grant}" in this resource's permission_sets: list it there or fix the role's grants`);
    }
    for (const [arn, names] of byArn) {
      const label = `${names.join(', ')} (${arn})`;
      try {
        const out = await this.#client.send(new DescribePermissionSetCommand({ InstanceArn: this.#instanceArn, PermissionSetArn: arn }));
        const duration = out.PermissionSet?.SessionDuration;
        report.ok(`permission set ${names.join(', ')} is "${out.PermissionSet?.Name ?? '?'}"${duration ? `, sessions last ${duration}` : ''}`);
        if (duration && (isoDurationSeconds(duration) ?? 0) > 3_600) {
          report.warn(`permission set ${names.join(', ')}: a session started before a revoke keeps working for up to ${duration}; PT1H or less is safer`);
        }
      } catch (error) {
        const code = awsErrorCode(error);
        if (code === 'ResourceNotFound') report.fail(`permission set ${label} does not exist in ${this.#instanceArn}`);
        else if (code === 'AccessDenied') report.warn(`cannot describe permission set ${label}: sso:DescribePermissionSet is not allowed (only this check uses it)`);
        else if (code === undefined || AWS_CREDENTIAL_ERRORS.has(code)) {
          return report.fail(`cannot use the AWS credentials or reach Identity Center: ${describeAwsError(error)}`).result();
        } else report.fail(`cannot describe permission set ${label}: ${describeAwsError(error)}`);
      }
    }
    const probe = byArn.keys().next().value ?? this.#permissionSets.values().next().value;
    if (probe !== undefined) {
      try {
        await this.#client.send(
          new ListAccountAssignmentsCommand({ InstanceArn: this.#instanceArn, AccountId: this.#accountId, PermissionSetArn: probe, MaxResults: 1 }),
        );
        report.ok(`may list the assignments in account ${this.#accountId} (sso:ListAccountAssignments)`);
      } catch (error) {
        report.fail(`cannot list the assignments in account ${this.#accountId}, which grant and revoke do: ${describeAwsError(error)}`);
      }
    }
    report.warn(
      'not verified: sso:CreateAccountAssignment, sso:DeleteAccountAssignment, their Describe…Status reads and the iam:* actions provisioning needs; only a real grant exercises them',
    );
    return report.result();
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  #arns(grants: string[]): [string, string][] {
    return grants.map((grant) => {
      const arn = this.#permissionSets.get(grant);
      if (!arn) throw unknownGrant(grant);
      return [grant, arn];
    });
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

  async #assign(principal: string, arn: string): Promise<void> {
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
      if (await this.#assigned(principal, arn)) return;
    } catch (error) {
      throw ssoError(error, context);
    }
    throw new PermanentProviderError(`${context}: AWS reports the assignment FAILED: ${final.FailureReason ?? 'no reason given'}`);
  }

  async #unassign(principal: string, arn: string): Promise<void> {
    const context = `cannot remove the assignment of ${arn} from user ${principal} in account ${this.#accountId}`;
    let final: AccountAssignmentOperationStatus;
    try {
      let deleted;
      try {
        deleted = await this.#retryConflicts(() => this.#client.send(new DeleteAccountAssignmentCommand(this.#tuple(principal, arn))));
      } catch (error) {
        // "Does not exist" is success, once the list confirms it (the same code also means a wrong instance).
        if (awsErrorCode(error) === 'ResourceNotFound' && !(await this.#assigned(principal, arn))) return;
        throw error;
      }
      final = await this.#settle(deleted.AccountAssignmentDeletionStatus, context, async (id) => {
        const out = await this.#client.send(
          new DescribeAccountAssignmentDeletionStatusCommand({ InstanceArn: this.#instanceArn, AccountAssignmentDeletionRequestId: id }),
        );
        return out.AccountAssignmentDeletionStatus;
      });
      if (final.Status === 'SUCCEEDED') return;
      if (!(await this.#assigned(principal, arn))) return;
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
  async #assigned(principal: string, arn: string): Promise<boolean> {
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

function checkPrincipal(principal: string): void {
  if (!PRINCIPAL_ID.test(principal)) {
    throw new PermanentProviderError(
      `"${principal}" is not an Identity Center user id; ` +
        'map the person to their user id (like 906739a2f1-0a1b2c3d-…) under principals: in the policy',
    );
  }
}

function unknownGrant(grant: string): PermanentProviderError {
  return new PermanentProviderError(`no permission set "${grant}" in this resource's permission_sets; list it there or fix the role's grants`);
}

/** Never passes the SDK error on as `cause`: it carries the raw response. */
function ssoError(error: unknown, context: string): Error {
  if (error instanceof PermanentProviderError) return error;
  if (error instanceof Error && error.message.startsWith(context)) return error;
  const message = `${context}: ${describeAwsError(error)}`;
  return !isTransientAwsError(error) && SSO_PERMANENT.has(awsErrorCode(error) ?? '') ? new PermanentProviderError(message) : new Error(message);
}

// ---- Settings ----

const settingsSchema = z.object({
  region: z
    .string({ error: (iss) => (iss.input === undefined ? 'required: the region of the Identity Center instance, like eu-west-1' : undefined) })
    .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, { error: (iss) => `${JSON.stringify(iss.input)} is not an AWS region; write one like eu-west-1` }),
  instance_arn: z
    .string({
      error: (iss) => (iss.input === undefined ? 'required: the ARN of the Identity Center instance (arn:aws:sso:::instance/ssoins-…)' : undefined),
    })
    .regex(INSTANCE_ARN, { error: (iss) => `${JSON.stringify(iss.input)} is not an Identity Center instance ARN (arn:aws:sso:::instance/ssoins-…)` }),
  account_id: z
    .string({
      error: (iss) =>
        iss.input === undefined
          ? 'required: the 12-digit id of the AWS account to assign'
          : typeof iss.input === 'number'
            ? 'write the account id in quotes ("012345678901"): unquoted, YAML reads it as a number and drops leading zeros'
            : undefined,
    })
    .regex(ACCOUNT_ID, { error: 'must be a 12-digit AWS account id' }),
  permission_sets: z
    .record(
      z.string().min(1, { error: 'a grant name cannot be empty' }),
      z.string().regex(PERMISSION_SET_ARN, {
        error: (iss) => `${JSON.stringify(iss.input)} is not a permission set ARN (arn:aws:sso:::permissionSet/ssoins-…/ps-…)`,
      }),
      { error: (iss) => (iss.input === undefined ? 'required: grant name → permission set ARN' : undefined) },
    )
    .refine((p) => Object.keys(p).length > 0, { error: 'list at least one permission set' }),
});

/**
 * `provider: aws-sso` in the policy:
 *
 *   region: eu-west-1
 *   instance_arn: arn:aws:sso:::instance/ssoins-1234567890abcdef
 *   account_id: "123456789012"
 *   permission_sets:
 *     admin: arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef
 *
 * with the requesters' Identity Center user ids under the policy's `principals:`.
 */
export const awsIdentityCenterProvider: ProviderDefinition = {
  name: 'aws-sso',
  shape: settingsSchema.shape,
  envNames: () => [],
  create(settings, _env, path) {
    const parsed = settingsSchema.safeParse(settings);
    if (!parsed.success) throw new Error(`${path}: invalid aws-sso settings: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    const { region, instance_arn: instanceArn, account_id: accountId, permission_sets: permissionSets } = parsed.data;
    const instance = INSTANCE_ARN.exec(instanceArn)?.[2];
    const foreign = Object.entries(permissionSets).filter(([, arn]) => PERMISSION_SET_ARN.exec(arn)?.[2] !== instance);
    if (foreign.length > 0) {
      const names = foreign.map(([name]) => name).join(', ');
      throw new Error(`${path}.permission_sets: ${names} belong to another instance than instance_arn (${instance ?? '?'})`);
    }
    return new AwsIdentityCenterProvider({ region, instanceArn, accountId, permissionSets });
  },
};
