/**
 * The aws-sso provider itself: `held`, `grant` and `revoke` of account assignments (see
 * ../aws-identity-center.ts for the model), and with `exclusiveUserAssignments` `listGranted` for drift
 * detection (drift.ts).
 */
import { SSOAdminClient, type SSOAdminClientConfig } from '@aws-sdk/client-sso-admin';
import { PermanentProviderError, type AccessProvider, type GrantedObject, type GrantTarget, type ProviderCheck } from '../../use-cases/ports.js';
import { AccountAssignments, type Timing } from './assignments.js';
import { checkAwsIdentityCenter } from './check.js';
import { listAwsIdentityCenterGranted } from './drift.js';
import { ssoError } from './errors.js';

/** A user id, as in the Identity Center API reference. */
const PRINCIPAL_ID = /^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$/;

export interface AwsIdentityCenterProviderOptions {
  /** The region of the Identity Center instance. */
  region: string;
  instanceArn: string;
  /** The AWS account the assignments give access to. */
  accountId: string;
  /** Grant name → permission set ARN. */
  permissionSets: Readonly<Record<string, string>>;
  /**
   * The operator's statement that direct USER assignments of these permission sets in this account are made
   * by accessbot alone: only then is drift detected (`listGranted`). Default false.
   */
  exclusiveUserAssignments?: boolean;
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
  readonly #assignments: AccountAssignments;
  /**
   * Drift detection (read-only): see `listAwsIdentityCenterGranted`. Present only with
   * `exclusiveUserAssignments`: an assignment records nobody's name, and the records know only the users who
   * asked, so without that statement a standing assignment an admin made for someone who never requested
   * through the bot would be taken for drift and revoked, breaking "access held before is never revoked".
   * Without it, drift detection skips the resource.
   */
  readonly listGranted?: (grants: string[]) => Promise<GrantedObject[]>;
  /** An assignment names no creator: what is listed is every user assignment, the bot's or not. */
  readonly listsOthersGrants = true;

  /** Identity Store user ids are GUID-like (optionally prefixed by the store id) and compared without case. */
  principalKey(principal: string): string {
    return principal.toLowerCase();
  }

  constructor(options: AwsIdentityCenterProviderOptions) {
    this.#client = new SSOAdminClient({ ...options.client, region: options.region });
    this.#instanceArn = options.instanceArn;
    this.#accountId = options.accountId;
    this.#permissionSets = new Map(Object.entries(options.permissionSets));
    this.#assignments = new AccountAssignments(this.#client, this.#instanceArn, this.#accountId, options.timing);
    if (options.exclusiveUserAssignments === true) {
      const context = {
        client: this.#client,
        instanceArn: this.#instanceArn,
        accountId: this.#accountId,
        permissionSets: this.#permissionSets,
        isPrincipal: (id: string) => PRINCIPAL_ID.test(id),
      };
      this.listGranted = (grants) => listAwsIdentityCenterGranted(context, grants);
    }
  }

  async held({ principal, grants }: GrantTarget): Promise<string[]> {
    checkPrincipal(principal);
    const arns = this.#arns(grants);
    const held = new Set<string>();
    for (const arn of new Set(arns.map(([, a]) => a))) {
      try {
        if (await this.#assignments.assigned(principal, arn)) held.add(arn);
      } catch (error) {
        throw ssoError(error, `cannot list the assignments of ${arn}`);
      }
    }
    return arns.filter(([, arn]) => held.has(arn)).map(([grant]) => grant);
  }

  /** One assignment per permission set, in order; a failure leaves the earlier ones (the use case cleans up). */
  async grant({ principal, grants }: GrantTarget): Promise<void> {
    checkPrincipal(principal);
    for (const arn of new Set(this.#arns(grants).map(([, a]) => a))) await this.#assignments.assign(principal, arn);
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
        await this.#assignments.unassign(principal, arn);
      } catch (error) {
        failures.push(error instanceof Error ? error : new Error(String(error)));
      }
    }
    const failure = failures.find((f) => !(f instanceof PermanentProviderError)) ?? failures[0];
    if (failure) throw failure;
  }

  /** Read-only (`accessbot provider check`): see `checkAwsIdentityCenter`. Nothing is written. */
  async check(grants: string[]): Promise<ProviderCheck> {
    return checkAwsIdentityCenter(
      { client: this.#client, instanceArn: this.#instanceArn, accountId: this.#accountId, permissionSets: this.#permissionSets },
      grants,
    );
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
