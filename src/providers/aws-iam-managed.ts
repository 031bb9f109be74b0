/**
 * AWS IAM managed attachments: a grant attaches an existing managed policy to an IAM user (or role), or adds
 * the user to an IAM group; a revoke detaches it, or removes the user from the group.
 *
 *   arn:aws:iam::123456789012:policy/ReadOnlyProd → AttachUserPolicy / DetachUserPolicy (or the Role ones)
 *   group:oncall-admins                           → AddUserToGroup / RemoveUserFromGroup (users only)
 *
 * Shared tuples: IAM keeps one attachment per principal and policy, one membership per user and group, so two
 * grants of the same policy are the same attachment (`perGrantObjects = false`). The use case then never asks
 * to revoke what the principal held before the first grant, nor what another open grant still covers.
 *
 * No second lock: neither an attachment nor a membership carries an end, so access lasts until the revoke runs
 * (the revoke job, then the reconciler). Where a target-side end matters, use the `aws-iam` provider, whose
 * per-grant inline policies lapse by themselves at `DateLessThan aws:CurrentTime`.
 *
 * Credentials come from the SDK's default chain, as for `aws-iam`. Bot permissions: iam:AttachUserPolicy,
 * iam:DetachUserPolicy, iam:ListAttachedUserPolicies (or the Role ones), iam:AddUserToGroup,
 * iam:RemoveUserFromGroup, iam:ListGroupsForUser, scoped with `iam:PolicyARN` conditions and group ARNs, plus
 * a permissions boundary or SCP so the bot cannot grant itself anything.
 */
import {
  AddUserToGroupCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetGroupCommand,
  GetPolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  RemoveUserFromGroupCommand,
  type IAMClientConfig,
} from '@aws-sdk/client-iam';
import { z } from 'zod';
import { PermanentProviderError, type AccessProvider, type GrantTarget, type ProviderCheck } from '../use-cases/ports.js';
import { awsErrorCode, awsRegion, describeAwsError, isTransientAwsError, type PrincipalType } from './aws-iam.js';
import { AWS_CREDENTIAL_ERRORS, CheckReport, listText, uniqueGrants } from './check.js';
import type { ProviderDefinition } from './definition.js';

/** IAM's pattern for user and role names (as in `aws-iam`); anything else AWS would refuse. */
const IAM_NAME = /^[\w+=,.@-]{1,64}$/;
/** Group names: the same characters, up to 128. */
const GROUP_NAME = /^[\w+=,.@-]{1,128}$/;
/** A managed policy ARN: customer managed (12-digit account) or AWS managed (`aws`), with an optional path. */
const POLICY_ARN = /^arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:iam::(?:\d{12}|aws):policy\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,128}$/;
const GROUP_PREFIX = 'group:';
/** IAM's default quota of managed policies per user or role (adjustable up to 20), and of groups per user. */
const MANAGED_POLICY_QUOTA = 10;
const GROUP_QUOTA = 10;

export type ManagedGrant = { kind: 'policy'; arn: string } | { kind: 'group'; name: string };

/** What a grant names, or a message saying why it names nothing this provider can give. */
export function parseManagedGrant(grant: string, principalType: PrincipalType): ManagedGrant | string {
  if (grant.startsWith(GROUP_PREFIX)) {
    const name = grant.slice(GROUP_PREFIX.length);
    if (!GROUP_NAME.test(name)) return `"${grant}" does not name an IAM group: group names are 1 to 128 letters, digits and _+=,.@-`;
    if (principalType === 'role') return `"${grant}" is a group, and an IAM role cannot be a group member: grant groups with principal_type: user`;
    return { kind: 'group', name };
  }
  if (POLICY_ARN.test(grant)) return { kind: 'policy', arn: grant };
  return `"${grant}" is neither a managed policy ARN (arn:aws:iam::<account or aws>:policy/<name>) nor group:<GroupName>`;
}

export interface AwsIamManagedProviderOptions {
  region: string;
  principalType: PrincipalType;
  /** Extra SDK client settings: tests pass fake credentials, an endpoint and `maxAttempts`. */
  client?: Omit<IAMClientConfig, 'region'>;
}

export class AwsIamManagedProvider implements AccessProvider {
  /** One attachment per principal and policy, one membership per user and group: shared by every grant. */
  readonly perGrantObjects = false;
  readonly #client: IAMClient;
  readonly #type: PrincipalType;

  constructor(options: AwsIamManagedProviderOptions) {
    this.#client = new IAMClient({ ...options.client, region: options.region });
    this.#type = options.principalType;
  }

  /** Which of `grants` are attached (or whose group holds the user) now, by anyone; none for a missing principal. */
  async held({ principal, grants }: GrantTarget): Promise<string[]> {
    this.#checkPrincipal(principal);
    const parsed = this.#parseAll(grants);
    if (parsed.length === 0) return [];
    const attached = parsed.some(([, g]) => g.kind === 'policy') ? await this.#attachedPolicies(principal) : new Set<string>();
    const groups = parsed.some(([, g]) => g.kind === 'group') ? await this.#groups(principal) : new Set<string>();
    return parsed.filter(([, g]) => (g.kind === 'policy' ? attached.has(g.arn) : groups.has(g.name))).map(([grant]) => grant);
  }

  /** Attaches every policy and adds every group; each call is idempotent in IAM, so a retry simply repeats. */
  async grant({ principal, grants }: GrantTarget): Promise<void> {
    this.#checkPrincipal(principal);
    for (const [, g] of this.#parseAll(grants)) {
      try {
        await this.#attach(principal, g);
      } catch (error) {
        const code = awsErrorCode(error);
        let hint = '';
        if (code === 'LimitExceeded') {
          hint =
            g.kind === 'policy'
              ? ` (IAM allows ${MANAGED_POLICY_QUOTA} managed policies per ${this.#type} by default, up to 20 with a quota increase; detach one or use the aws-iam inline-policy provider)`
              : ` (IAM allows a user in at most ${GROUP_QUOTA} groups)`;
        } else if (code === 'NoSuchEntity') {
          hint = ` (the ${this.#type} or the ${g.kind === 'policy' ? 'policy' : 'group'} does not exist)`;
        }
        throw iamError(error, `cannot ${this.#what(principal, g, 'grant')}${hint}`);
      }
    }
  }

  /**
   * Detaches every policy and removes every group. Not attached, not a member, or a principal that does not
   * exist (NoSuchEntity), or a name IAM would refuse (so nothing can be attached): success.
   */
  async revoke({ principal, grants }: GrantTarget): Promise<void> {
    if (!IAM_NAME.test(principal)) return;
    for (const grant of uniqueGrants(grants)) {
      const g = parseManagedGrant(grant, this.#type);
      if (typeof g === 'string') continue; // nothing of that name can be attached
      try {
        await this.#detach(principal, g);
      } catch (error) {
        if (awsErrorCode(error) === 'NoSuchEntity') continue;
        throw iamError(error, `cannot ${this.#what(principal, g, 'revoke')}`);
      }
    }
  }

  /**
   * Read-only (`accessbot provider check`): every grant must be a policy ARN or a group this principal type
   * can take, each policy must exist and be attachable (`iam:GetPolicy`), each group must exist
   * (`iam:GetGroup`). Whether the bot may attach or detach is not something IAM answers without doing it:
   * only the policy simulator could say, so that is a warning.
   */
  async check(grants: string[]): Promise<ProviderCheck> {
    const report = new CheckReport();
    const found: string[] = [];
    for (const grant of uniqueGrants(grants)) {
      const g = parseManagedGrant(grant, this.#type);
      if (typeof g === 'string') {
        report.fail(g);
        continue;
      }
      try {
        if (g.kind === 'policy') {
          const out = await this.#client.send(new GetPolicyCommand({ PolicyArn: g.arn }));
          if (out.Policy?.IsAttachable === false) report.fail(`managed policy ${g.arn} exists but IAM says it cannot be attached`);
          else found.push(g.arn);
        } else {
          await this.#client.send(new GetGroupCommand({ GroupName: g.name, MaxItems: 1 }));
          found.push(`group ${g.name}`);
        }
      } catch (error) {
        const code = awsErrorCode(error) ?? '';
        const what = g.kind === 'policy' ? `managed policy ${g.arn}` : `IAM group ${g.name}`;
        if (code === 'NoSuchEntity') report.fail(`${what} does not exist: create it or fix the role's grants`);
        else if (AWS_CREDENTIAL_ERRORS.has(code)) return report.fail(`cannot use the AWS credentials: ${describeAwsError(error)}`).result();
        else if (code === 'AccessDenied') report.warn(`could not verify ${what}: allow iam:${g.kind === 'policy' ? 'GetPolicy' : 'GetGroup'} on it for this check`);
        else report.fail(`could not read ${what}: ${describeAwsError(error)}`);
      }
    }
    if (found.length > 0) report.ok(`${listText(found)} ${found.length === 1 ? 'exists' : 'exist'}`);
    const kind = this.#type === 'user' ? 'User' : 'Role';
    const actions = [`iam:Attach${kind}Policy`, `iam:Detach${kind}Policy`, `iam:ListAttached${kind}Policies`];
    if (this.#type === 'user') actions.push('iam:AddUserToGroup', 'iam:RemoveUserFromGroup', 'iam:ListGroupsForUser');
    report.warn(
      `not verified: ${listText(actions)} on the managed ${this.#type}s; attaching cannot be tried without changing IAM, ` +
        'only simulated (IAM policy simulator, iam:SimulatePrincipalPolicy on the bot)',
    );
    return report.result();
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  #checkPrincipal(principal: string): void {
    if (!IAM_NAME.test(principal)) {
      throw new PermanentProviderError(
        `invalid IAM ${this.#type} name "${principal}": IAM names are 1 to 64 letters, digits and _+=,.@- ` +
          '(map the person to their IAM name under principals:)',
      );
    }
  }

  /** Every grant parsed, or a PermanentProviderError naming the first that is not one this provider gives. */
  #parseAll(grants: string[]): [string, ManagedGrant][] {
    return uniqueGrants(grants).map((grant) => {
      const g = parseManagedGrant(grant, this.#type);
      if (typeof g === 'string') throw new PermanentProviderError(`${g}; fix the role's grants`);
      return [grant, g];
    });
  }

  async #attach(principal: string, g: ManagedGrant): Promise<void> {
    if (g.kind === 'group') await this.#client.send(new AddUserToGroupCommand({ UserName: principal, GroupName: g.name }));
    else if (this.#type === 'user') await this.#client.send(new AttachUserPolicyCommand({ UserName: principal, PolicyArn: g.arn }));
    else await this.#client.send(new AttachRolePolicyCommand({ RoleName: principal, PolicyArn: g.arn }));
  }

  async #detach(principal: string, g: ManagedGrant): Promise<void> {
    if (g.kind === 'group') await this.#client.send(new RemoveUserFromGroupCommand({ UserName: principal, GroupName: g.name }));
    else if (this.#type === 'user') await this.#client.send(new DetachUserPolicyCommand({ UserName: principal, PolicyArn: g.arn }));
    else await this.#client.send(new DetachRolePolicyCommand({ RoleName: principal, PolicyArn: g.arn }));
  }

  #what(principal: string, g: ManagedGrant, op: 'grant' | 'revoke'): string {
    if (g.kind === 'group') return `${op === 'grant' ? 'add user' : 'remove user'} "${principal}" ${op === 'grant' ? 'to' : 'from'} group ${g.name}`;
    return `${op === 'grant' ? 'attach' : 'detach'} ${g.arn} ${op === 'grant' ? 'to' : 'from'} ${this.#type} "${principal}"`;
  }

  /** The ARNs of every managed policy attached to the principal (all pages); none when it does not exist. */
  async #attachedPolicies(principal: string): Promise<Set<string>> {
    const arns = new Set<string>();
    let marker: string | undefined;
    try {
      do {
        const out =
          this.#type === 'user'
            ? await this.#client.send(new ListAttachedUserPoliciesCommand({ UserName: principal, Marker: marker }))
            : await this.#client.send(new ListAttachedRolePoliciesCommand({ RoleName: principal, Marker: marker }));
        for (const p of out.AttachedPolicies ?? []) if (p.PolicyArn) arns.add(p.PolicyArn);
        marker = out.IsTruncated ? out.Marker : undefined;
      } while (marker);
    } catch (error) {
      if (awsErrorCode(error) === 'NoSuchEntity') return new Set();
      throw iamError(error, `cannot list the managed policies of ${this.#type} "${principal}"`);
    }
    return arns;
  }

  /** The names of every group the user is in (all pages); none when the user does not exist. */
  async #groups(principal: string): Promise<Set<string>> {
    const names = new Set<string>();
    let marker: string | undefined;
    try {
      do {
        const out = await this.#client.send(new ListGroupsForUserCommand({ UserName: principal, Marker: marker }));
        for (const g of out.Groups ?? []) if (g.GroupName) names.add(g.GroupName);
        marker = out.IsTruncated ? out.Marker : undefined;
      } while (marker);
    } catch (error) {
      if (awsErrorCode(error) === 'NoSuchEntity') return new Set();
      throw iamError(error, `cannot list the groups of user "${principal}"`);
    }
    return names;
  }
}

const IAM_PERMANENT = new Set([
  'AccessDenied',
  'NoSuchEntity', // on attach or add: the principal, the policy or the group does not exist
  'LimitExceeded', // the managed-policy (or group) quota of the principal
  'InvalidInput',
  'PolicyNotAttachable', // a service-role policy
  'UnmodifiableEntity', // a service-linked role
  'ValidationError',
]);

/** Never passes the SDK error on as `cause`: it carries the raw response. */
function iamError(error: unknown, context: string): Error {
  const message = `${context}: ${describeAwsError(error)}`;
  return !isTransientAwsError(error) && IAM_PERMANENT.has(awsErrorCode(error) ?? '') ? new PermanentProviderError(message) : new Error(message);
}

// ---- Settings ----

const settingsSchema = z.object({
  region: awsRegion.default('us-east-1'),
  principal_type: z.enum(['user', 'role'], { error: 'must be user or role' }).default('user'),
});

/**
 * `provider: aws-iam-managed` in the policy:
 *
 *   region: us-east-1          # default
 *   principal_type: user       # or role; default user
 *
 * and roles grant managed policy ARNs or `group:<GroupName>` (users only):
 * `grants: [arn:aws:iam::aws:policy/ReadOnlyAccess, group:oncall]`.
 */
export const awsIamManagedProvider: ProviderDefinition = {
  name: 'aws-iam-managed',
  shape: settingsSchema.shape,
  envNames: () => [],
  create(settings, _env, path) {
    const parsed = settingsSchema.safeParse(settings);
    if (!parsed.success) throw new Error(`${path}: invalid aws-iam-managed settings: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    return new AwsIamManagedProvider({ region: parsed.data.region, principalType: parsed.data.principal_type });
  },
};
