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
 */
import {
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  SimulatePrincipalPolicyCommand,
  type IAMClientConfig,
} from '@aws-sdk/client-iam';
import { z } from 'zod';
import { PermanentProviderError, type AccessProvider, type GrantTarget, type ProviderCheck } from '../use-cases/ports.js';
import { CheckReport, listText, uniqueGrants } from './check.js';
import type { ProviderDefinition } from './definition.js';

/** IAM's own pattern for user and role names; anything else AWS would refuse. */
const IAM_NAME = /^[\w+=,.@-]{1,64}$/;
/** Policy names share the character set, up to 128 characters; `jit-` takes 4. */
const REQUEST_ID = /^[\w+=,.@-]{1,124}$/;
const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const SID = /^Jit([0-9a-f]+)S\d+$/;

export type PrincipalType = 'user' | 'role';

/** One statement of an identity-based policy, as written in the settings (no Sid, no Principal). */
export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, ConditionValue | ConditionValue[]>>;
}
type ConditionValue = string | number | boolean;

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

  /**
   * Read-only (`accessbot provider check`). The grants must name templates that fit IAM's inline-policy
   * quota. The credentials must resolve: `iam:GetUser` without a name answers for the calling user, and its
   * AccessDenied names the caller (this SDK set has no STS client for GetCallerIdentity). Then IAM's policy
   * simulator (`iam:SimulatePrincipalPolicy` on the bot itself) is asked about Put/Get/Delete<Type>Policy on
   * every user (or role) of the account. A denial there is a warning, not a failure: a bot allowed only on
   * its managed principals (a path, a list) is denied "every user" too. Nothing is written.
   */
  async check(grants: string[]): Promise<ProviderCheck> {
    const report = new CheckReport();
    const limit = this.#type === 'user' ? 2_048 : 10_240;
    const found: string[] = [];
    for (const grant of uniqueGrants(grants)) {
      const statements = this.#policies.get(grant);
      if (!statements) {
        report.fail(`no policy template "${grant}" in this resource's policies: list it there or fix the role's grants`);
        continue;
      }
      const size = JSON.stringify(policyDocument([[grant, statements]], new Date())).length;
      if (size > limit) report.fail(`policy template "${grant}" makes a ${size}-character policy; IAM allows ${limit} characters of inline policy per ${this.#type}`);
      else found.push(`"${grant}"`);
    }
    if (found.length > 0) report.ok(`policy templates ${found.join(', ')} are defined`);

    let arn: string | undefined;
    try {
      const out = await this.#client.send(new GetUserCommand({}));
      arn = out.User?.Arn;
      report.ok(`AWS credentials resolve to ${arn ?? 'an IAM user'}`);
    } catch (error) {
      const code = awsErrorCode(error);
      const message = error instanceof Error ? error.message : '';
      if (code === 'AccessDenied') {
        arn = /\b(arn:aws[a-z-]*:(?:iam|sts)::\d{12}:[\w+=,.@/-]+)/.exec(message)?.[1];
        report.ok(`AWS credentials resolve to ${arn ?? 'a principal'} (iam:GetUser is not allowed; only this check uses it)`);
      } else if (code === 'ValidationError') {
        report.ok('AWS credentials resolve to a role session');
      } else {
        return report.fail(`cannot use the AWS credentials: ${describeAwsError(error)}`).result();
      }
    }

    const kind = this.#type === 'user' ? 'User' : 'Role';
    const actions = [`iam:Put${kind}Policy`, `iam:Get${kind}Policy`, `iam:Delete${kind}Policy`];
    const parts = /^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):(.+)$/.exec(arn ?? '');
    let source: string | undefined;
    if (parts?.[2] === 'iam' && /^(user|role)\//.test(parts[4] ?? '')) source = arn;
    else if (parts?.[2] === 'sts' && parts[4]?.startsWith('assumed-role/')) source = `arn:${parts[1]}:iam::${parts[3]}:role/${parts[4].split('/')[1]}`;
    if (parts?.[4] === 'root') report.warn("the bot uses the account's root credentials: give it an IAM user or role of its own");
    if (!parts || !source) {
      return report.warn(`could not verify permissions (${listText(actions)}): the bot's own IAM ARN is unknown`).result();
    }
    const everyone = `arn:${parts[1]}:iam::${parts[3]}:${this.#type}/*`;
    try {
      const out = await this.#client.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: source, ActionNames: actions, ResourceArns: [everyone] }));
      const allowed: string[] = [];
      for (const action of actions) {
        const decision = out.EvaluationResults?.find((r) => r.EvalActionName?.toLowerCase() === action.toLowerCase())?.EvalDecision ?? 'no answer';
        if (decision === 'allowed') allowed.push(action);
        else {
          report.warn(
            `${action} is not allowed on ${everyone} (${decision}): grant or revoke needs it on every principal of this resource; ` +
              `if the bot's policy names those ${this.#type}s by path or name, check it covers them all`,
          );
        }
      }
      if (allowed.length > 0) report.ok(`${listText(allowed)} allowed on ${everyone} (IAM policy simulator)`);
    } catch (error) {
      const hint = awsErrorCode(error) === 'AccessDenied' ? `allow iam:SimulatePrincipalPolicy on ${source} for this check` : describeAwsError(error);
      report.warn(`could not verify permissions (${listText(actions)}): ${hint}`);
    }
    return report.result();
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

export function policyName(requestId: string): string {
  return `jit-${requestId}`;
}

/** The end as IAM wants it (`2026-12-01T10:00:00Z`), rounded down to the second: never later than `expiresAt`. */
export function iamTime(expiresAt: Date): string {
  const ms = expiresAt.getTime();
  if (!Number.isFinite(ms)) throw new PermanentProviderError('the grant has no valid end time');
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The inline policy: every template's statements, tagged with their template and ending at `expiresAt`. */
export function policyDocument(templates: [string, readonly PolicyStatement[]][], expiresAt: Date): { Version: string; Statement: object[] } {
  const end = iamTime(expiresAt);
  return {
    Version: '2012-10-17',
    Statement: templates.flatMap(([name, statements]) =>
      statements.map((statement, i) => ({
        Sid: `Jit${Buffer.from(name, 'utf8').toString('hex')}S${i}`,
        ...statement,
        Condition: { ...statement.Condition, DateLessThan: { ...statement.Condition?.['DateLessThan'], 'aws:CurrentTime': end } },
      })),
    ),
  };
}

/** The template names a policy document holds, read from our Sids. IAM returns documents URL-encoded. */
function templatesIn(raw: string): Set<string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.trimStart().startsWith('{') ? raw : decodeURIComponent(raw));
  } catch {
    throw new Error('the policy document IAM returned is not JSON');
  }
  const statement = (parsed as { Statement?: unknown } | null)?.Statement;
  const statements = Array.isArray(statement) ? statement : [statement];
  const names = new Set<string>();
  for (const s of statements) {
    const sid = (s as { Sid?: unknown } | null)?.Sid;
    const match = typeof sid === 'string' ? SID.exec(sid) : null;
    if (match?.[1]) names.add(Buffer.from(match[1], 'hex').toString('utf8'));
  }
  return names;
}

// ---- AWS errors (shared with the Identity Center provider) ----

const THROTTLING = new Set(['Throttling', 'TooManyRequests', 'RequestLimitExceeded', 'RequestThrottled', 'SlowDown']);
const IAM_PERMANENT = new Set([
  'AccessDenied',
  'NoSuchEntity', // on put: the user or role does not exist (on get and delete it means "nothing there")
  'MalformedPolicyDocument',
  'LimitExceeded', // the principal's inline policy size quota
  'InvalidInput',
  'UnmodifiableEntity', // a service-linked role
  'ValidationError',
]);

interface ServiceErrorLike {
  name: string;
  message: string;
  Code?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata: { httpStatusCode?: number };
}

function serviceError(error: unknown): ServiceErrorLike | undefined {
  const isService = error instanceof Error && typeof (error as { $metadata?: unknown }).$metadata === 'object';
  return isService ? (error as unknown as ServiceErrorLike) : undefined;
}

/** The error code without the SDK's `Exception` suffix (`NoSuchEntityException` → `NoSuchEntity`). */
export function awsErrorCode(error: unknown): string | undefined {
  const e = serviceError(error);
  if (!e) return undefined;
  const code = typeof e.Code === 'string' ? e.Code : e.name;
  return code.replace(/Exception$/, '');
}

/** Throttling, a server fault, or no answer at all (network, timeout, credentials): worth another try. */
export function isTransientAwsError(error: unknown): boolean {
  const e = serviceError(error);
  if (!e) return true;
  const status = e.$metadata.httpStatusCode ?? 0;
  return Boolean(e.$retryable) || e.$fault === 'server' || status >= 500 || status === 429 || THROTTLING.has(awsErrorCode(e) ?? '');
}

/**
 * An SDK error as text that is safe to log and show: the code, the HTTP status and AWS's message (which
 * names the resource and the caller's ARN, never credentials), or for a failure without an answer its name.
 */
export function describeAwsError(error: unknown): string {
  const e = serviceError(error);
  if (e) return `${awsErrorCode(e) ?? e.name} (HTTP ${e.$metadata.httpStatusCode ?? '?'}): ${clip(e.message)}`;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${clip(error.message)}`;
  }
  return `unexpected error (${typeof error})`;
}

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 300 ? `${oneLine.slice(0, 300)}…` : oneLine;
}

/** Never passes the SDK error on as `cause`: it carries the raw response. */
function iamError(error: unknown, context: string): Error {
  if (error instanceof PermanentProviderError) return error;
  const message = `${context}: ${describeAwsError(error)}`;
  return !isTransientAwsError(error) && IAM_PERMANENT.has(awsErrorCode(error) ?? '') ? new PermanentProviderError(message) : new Error(message);
}

// ---- Settings ----

/** An AWS region name (`us-east-1`, `us-gov-west-1`, `cn-north-1`). */
export const awsRegion = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, {
  error: (iss) => `${JSON.stringify(iss.input)} is not an AWS region; write one like us-east-1`,
});

const oneOrMore = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
  error: 'must be a string or a non-empty list of strings',
});
const conditionValue = z.union([z.string(), z.number(), z.boolean()]);
const STATEMENT_KEYS = 'Effect, Action or NotAction, Resource or NotResource, and Condition';

const statementSchema = z
  .strictObject(
    {
      Effect: z.enum(['Allow', 'Deny'], { error: 'must be Allow or Deny' }),
      Action: oneOrMore.optional(),
      NotAction: oneOrMore.optional(),
      Resource: oneOrMore.optional(),
      NotResource: oneOrMore.optional(),
      Condition: z.record(z.string().min(1), z.record(z.string().min(1), z.union([conditionValue, z.array(conditionValue)]))).optional(),
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? `a statement takes ${STATEMENT_KEYS} (Sid is set by accessbot; Principal does not belong in a user or role policy)`
          : undefined,
    },
  )
  .superRefine((s, ctx) => {
    if ((s.Action === undefined) === (s.NotAction === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of Action and NotAction' });
    }
    if ((s.Resource === undefined) === (s.NotResource === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of Resource and NotResource' });
    }
    for (const [operator, keys] of Object.entries(s.Condition ?? {})) {
      if (!/^datelessthan$/i.test(operator)) continue;
      if (Object.keys(keys).some((key) => /^aws:currenttime$/i.test(key))) {
        ctx.addIssue({
          code: 'custom',
          path: ['Condition', operator],
          message: 'accessbot sets DateLessThan aws:CurrentTime itself, to the end of each grant; remove it here',
        });
      }
    }
  });

const templateName = z.string().regex(TEMPLATE_NAME, {
  error: (iss) => `${JSON.stringify(iss.input)} is not a valid template name; use letters, digits, _ . - (at most 63 characters)`,
});

const settingsSchema = z.object({
  region: awsRegion.default('us-east-1'),
  principal_type: z.enum(['user', 'role'], { error: 'must be user or role' }).default('user'),
  policies: z
    .record(templateName, z.array(statementSchema).min(1, { error: 'a template needs at least one statement' }), {
      error: (iss) => (iss.input === undefined ? 'required: the policy templates that roles grant (name: [statements])' : undefined),
    })
    .refine((p) => Object.keys(p).length > 0, { error: 'define at least one policy template' }),
});

/**
 * `provider: aws-iam` in the policy:
 *
 *   region: us-east-1          # default
 *   principal_type: user       # or role; default user
 *   policies:
 *     s3-read:
 *       - Effect: Allow
 *         Action: [s3:GetObject, s3:ListBucket]
 *         Resource: [arn:aws:s3:::prod-data, arn:aws:s3:::prod-data/*]
 *
 * and roles grant template names (`grants: [s3-read]`).
 */
export const awsIamProvider: ProviderDefinition = {
  name: 'aws-iam',
  shape: settingsSchema.shape,
  envNames: () => [],
  create(settings, _env, path) {
    const parsed = settingsSchema.safeParse(settings);
    if (!parsed.success) throw new Error(`${path}: invalid aws-iam settings: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    const { region, principal_type: principalType, policies } = parsed.data;
    return new AwsIamProvider({ region, principalType, policies });
  },
};
