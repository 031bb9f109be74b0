/**
 * The aws-iam provider itself: `held`, `grant` and `revoke` of the inline policy `jit-<requestId>` (see
 * ../aws-iam.ts for the model).
 */
import {
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  IAMClient,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  type IAMClientConfig,
} from '@aws-sdk/client-iam';
import { PermanentProviderError, type AccessProvider, type GrantTarget, type ProviderCheck } from '../../use-cases/ports.js';
import { checkAwsIam } from './check.js';
import { awsErrorCode, iamError } from './errors.js';
import { IAM_NAME, policyDocument, policyName, REQUEST_ID, templatesIn, type PolicyStatement, type PrincipalType } from './policy-document.js';

export interface AwsIamProviderOptions {
  /** Picks the partition's IAM endpoint (us-east-1 → iam.amazonaws.com). */
  region: string;
  principalType: PrincipalType;
  /** Template name → statements; a request's `grants` name templates. */
  policies: Readonly<Record<string, readonly PolicyStatement[]>>;
  /** Extra SDK client settings: tests pass fake credentials, an endpoint and `maxAttempts`. */
  client?: Omit<IAMClientConfig, 'region'>;
}

export class AwsIamProvider implements AccessProvider {
  /** Each grant is its own inline policy, jit-<requestId>. */
  readonly perGrantObjects = true;
  readonly #client: IAMClient;
  readonly #type: PrincipalType;
  readonly #policies: ReadonlyMap<string, readonly PolicyStatement[]>;

  constructor(options: AwsIamProviderOptions) {
    this.#client = new IAMClient({ ...options.client, region: options.region });
    this.#type = options.principalType;
    this.#policies = new Map(Object.entries(options.policies));
  }

  /** Which of `grants` the policy `jit-<requestId>` holds; none when it (or the principal) does not exist. */
  async held({ requestId, principal, grants }: GrantTarget): Promise<string[]> {
    this.#checkNames(requestId, principal);
    if (grants.length === 0) return [];
    const name = policyName(requestId);
    let document: string | undefined;
    try {
      const out =
        this.#type === 'user'
          ? await this.#client.send(new GetUserPolicyCommand({ UserName: principal, PolicyName: name }))
          : await this.#client.send(new GetRolePolicyCommand({ RoleName: principal, PolicyName: name }));
      document = out.PolicyDocument;
    } catch (error) {
      if (awsErrorCode(error) === 'NoSuchEntity') return [];
      throw iamError(error, `cannot read policy ${name} of ${this.#type} "${principal}"`);
    }
    const present = templatesIn(document ?? '');
    return grants.filter((grant) => present.has(grant));
  }

  /**
   * Writes `jit-<requestId>` with the statements of every template in `grants`, each ending at `expiresAt`.
   * A repeat overwrites the same policy with the same text: idempotent, and atomic (one call).
   */
  async grant({ requestId, principal, grants, expiresAt }: GrantTarget): Promise<void> {
    this.#checkNames(requestId, principal);
    if (grants.length === 0) return;
    const document = JSON.stringify(policyDocument(this.#templates(grants), expiresAt));
    const name = policyName(requestId);
    try {
      if (this.#type === 'user') {
        await this.#client.send(new PutUserPolicyCommand({ UserName: principal, PolicyName: name, PolicyDocument: document }));
      } else {
        await this.#client.send(new PutRolePolicyCommand({ RoleName: principal, PolicyName: name, PolicyDocument: document }));
      }
    } catch (error) {
      const hint =
        awsErrorCode(error) === 'LimitExceeded'
          ? ` (IAM allows ${this.#type === 'user' ? '2,048' : '10,240'} characters of inline policy per ${this.#type}, all policies together)`
          : '';
      throw iamError(error, `cannot put policy ${name} on ${this.#type} "${principal}"${hint}`);
    }
  }

  /**
   * Deletes `jit-<requestId>` whole (see the file comment). Already gone, or a principal that does not exist
   * (or whose name IAM would refuse, so it cannot exist): success.
   */
  async revoke({ requestId, principal }: GrantTarget): Promise<void> {
    if (!IAM_NAME.test(principal) || !REQUEST_ID.test(requestId)) return;
    const name = policyName(requestId);
    try {
      if (this.#type === 'user') {
        await this.#client.send(new DeleteUserPolicyCommand({ UserName: principal, PolicyName: name }));
      } else {
        await this.#client.send(new DeleteRolePolicyCommand({ RoleName: principal, PolicyName: name }));
      }
    } catch (error) {
      if (awsErrorCode(error) === 'NoSuchEntity') return;
      throw iamError(error, `cannot delete policy ${name} of ${this.#type} "${principal}"`);
    }
  }

  /** Read-only (`accessbot provider check`): see `checkAwsIam`. Nothing is written. */
  async check(grants: string[]): Promise<ProviderCheck> {
    return checkAwsIam({ client: this.#client, type: this.#type, policies: this.#policies }, grants);
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  #checkNames(requestId: string, principal: string): void {
    if (!IAM_NAME.test(principal)) {
      throw new PermanentProviderError(
        `invalid IAM ${this.#type} name "${principal}": IAM names are 1 to 64 letters, digits and _+=,.@- ` +
          '(map the person to their IAM name under principals:)',
      );
    }
    if (!REQUEST_ID.test(requestId)) throw new PermanentProviderError(`request id "${requestId}" cannot name an IAM policy`);
  }

  #templates(grants: string[]): [string, readonly PolicyStatement[]][] {
    return [...new Set(grants)].map((grant) => {
      const statements = this.#policies.get(grant);
      if (!statements) {
        throw new PermanentProviderError(`no policy template "${grant}" in this resource's policies; list it there or fix the role's grants`);
      }
      return [grant, statements];
    });
  }
}
