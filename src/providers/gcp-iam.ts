/**
 * Google Cloud "conditional role binding" provider: grants IAM roles on one project to one member, each in a
 * binding of its own whose IAM condition ends the access at the end of the window
 * (`request.time < timestamp("…")`), and removes those bindings again on revoke.
 *
 * The condition is the target-side lock: Google stops honouring the binding when the window ends even if our
 * revoke job never runs; revoke only ends access early and removes the clutter (a policy holds about 100
 * conditional bindings at most). Bindings are named by their condition title, `jit-<requestId>`, so each grant
 * is its own object: revoking one grant leaves another grant of the same role, and any access the member had
 * before (an unconditional binding, say), in place.
 *
 * Every change is a read-modify-write of the whole project policy (`getIamPolicy` with requested version 3,
 * `setIamPolicy` with `version: 3` and the etag just read): without version 3 a write drops every condition in
 * the policy, without the etag it overwrites a concurrent change. An etag conflict (409 ABORTED, 412) is
 * retried with a fresh read.
 *
 * The bot needs `resourcemanager.projects.getIamPolicy` and `setIamPolicy` on the project
 * (`roles/resourcemanager.projectIamAdmin`), which can grant any role: restrict the bot's own binding with a
 * condition on `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', [])`.
 *
 * The service-account key is a secret: it is parsed here once and handed to the auth library; no error or
 * message built here contains it, or the access token (see `describeGoogleError`).
 */
import { createPrivateKey } from 'node:crypto';
import { auth as googleAuth, cloudresourcemanager_v3 } from '@googleapis/cloudresourcemanager';
import { z } from 'zod';
import { PermanentProviderError, type AccessProvider, type GrantTarget, type GrantedObject, type ProviderCheck } from '../use-cases/ports.js';
import { CheckReport } from './check.js';
import { envName, resolveEnv, type ProviderDefinition } from './definition.js';

type Policy = cloudresourcemanager_v3.Schema$Policy;
type Binding = cloudresourcemanager_v3.Schema$Binding;
type Condition = cloudresourcemanager_v3.Schema$Expr;
type GoogleAuthOptions = NonNullable<ConstructorParameters<typeof googleAuth.GoogleAuth>[0]>;

const SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];
/** Conditions need policy version 3 on every read and every write. */
const POLICY_VERSION = 3;
/** HTTP statuses that retrying cannot fix: a bad role or member (400), no permission or no project (403, 404). */
const PERMANENT_STATUSES = new Set([400, 403, 404]);
/** Etag conflicts: the policy changed between our read and our write. Google documents both. */
const CONFLICT_STATUSES = new Set([409, 412]);
const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_RETRY_DELAY_MS = 100;
const REQUEST_TIMEOUT_MS = 30_000;
const MEMBER_PREFIX = /^(user|group|serviceAccount):/;

export interface GcpIamProviderOptions {
  /** The project id (or number) whose IAM policy holds the bindings. */
  project: string;
  /** A parsed credential JSON (a service-account key, usually). Absent: Application Default Credentials. A secret. */
  credentials?: Record<string, unknown>;
  /** Read-modify-write attempts on etag conflicts (default 5). */
  maxAttempts?: number;
  /** Base of the jittered, doubling delay between those attempts (default 100 ms). */
  retryDelayMs?: number;
}

export class GcpIamProvider implements AccessProvider {
  /** Each grant is its own conditional binding, titled jit-<requestId>. */
  readonly perGrantObjects = true;
  readonly #client: cloudresourcemanager_v3.Cloudresourcemanager;
  readonly #resource: string;
  readonly #project: string;
  readonly #maxAttempts: number;
  readonly #retryDelayMs: number;

  constructor(options: GcpIamProviderOptions) {
    const authOptions: GoogleAuthOptions = { scopes: SCOPES };
    if (options.credentials) authOptions.credentials = options.credentials as GoogleAuthOptions['credentials'];
    this.#client = new cloudresourcemanager_v3.Cloudresourcemanager({ auth: new googleAuth.GoogleAuth(authOptions) });
    this.#project = options.project;
    this.#resource = `projects/${options.project}`;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.#retryDelayMs = Math.max(0, options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);
  }

  /** The roles among `grants` that this request's own binding gives the member: per-grant objects. */
  async held(target: GrantTarget): Promise<string[]> {
    if (target.grants.length === 0) return [];
    const member = memberOf(target.principal);
    const title = titleOf(target.requestId);
    const policy = await this.#read(target.requestId, `cannot read the IAM policy of project "${this.#project}"`);
    const bindings = policy.bindings ?? [];
    return unique(target.grants).filter((role) => bindings.some((b) => b.role === role && b.condition?.title === title && hasMember(b, member)));
  }

  /**
   * Adds, per role, the binding `{ role, members: [member], condition: jit-<requestId> until expiresAt }`
   * unless it is there already. A binding of this request with another end (an earlier attempt of the same
   * grant) is replaced, so each request keeps one binding per role, ending at the latest window asked for.
   */
  async grant(target: GrantTarget): Promise<void> {
    if (target.grants.length === 0) return;
    const member = memberOf(target.principal);
    const condition = conditionOf(target);
    const roles = unique(target.grants);
    await this.#update(target.requestId, `cannot grant ${quoteList(roles)} to "${member}" on project "${this.#project}"`, (bindings) => {
      let changed = false;
      for (const role of roles) {
        if (bindings.some((b) => b.role === role && sameCondition(b.condition, condition) && hasMember(b, member))) continue;
        changed = true;
        // Our binding for this role with another condition: an earlier attempt. Take our member out of it.
        bindings = withoutMember(bindings, member, (b) => b.role === role && b.condition?.title === condition.title);
        const twin = bindings.find((b) => b.role === role && sameCondition(b.condition, condition));
        if (twin) twin.members = [...(twin.members ?? []), member];
        else bindings.push({ role, members: [member], condition: { ...condition } });
      }
      return changed ? bindings : null;
    });
  }

  /**
   * Removes the member from this request's bindings (`jit-<requestId>`) of the given roles, and bindings left
   * empty. Every other binding, including an unconditional one of the same role and member (access held
   * before), stays. Nothing to remove: success, without a write.
   */
  async revoke(target: GrantTarget): Promise<void> {
    if (target.grants.length === 0) return;
    const member = memberOf(target.principal);
    const title = titleOf(target.requestId);
    const roles = new Set(target.grants);
    await this.#update(target.requestId, `cannot revoke ${quoteList([...roles])} from "${member}" on project "${this.#project}"`, (bindings) => {
      const ours = (b: Binding): boolean => roles.has(b.role ?? '') && b.condition?.title === title;
      if (!bindings.some((b) => ours(b) && hasMember(b, member))) return null;
      return withoutMember(bindings, member, ours);
    });
  }

  /**
   * Drift detection (read-only, one `getIamPolicy`): every member of every binding whose condition is titled
   * `jit-<requestId>`, with that request. `grants` is not needed: the request decides. Only members with a
   * `user:`, `group:` or `serviceAccount:` prefix are listed, as `revoke` names them; Google's `deleted:…`
   * members can no longer use anything, and our revoke would not find them.
   */
  async listGranted(): Promise<GrantedObject[]> {
    const policy = await this.#read('drift-check', `cannot read the IAM policy of project "${this.#project}"`);
    const found: GrantedObject[] = [];
    for (const binding of policy.bindings ?? []) {
      const requestId = /^jit-(.+)$/.exec(binding.condition?.title ?? '')?.[1];
      if (!requestId || !binding.role) continue;
      for (const member of binding.members ?? []) {
        if (MEMBER_PREFIX.test(member)) found.push({ principal: member, grant: binding.role, requestId });
      }
    }
    return found;
  }

  /**
   * Read-only (`accessbot provider check`): each grant looks like an IAM role name, the project's policy is
   * readable (`getIamPolicy`, which also proves the credentials), and `testIamPermissions` on the project
   * says the bot holds getIamPolicy and setIamPolicy. Both are POSTs that change nothing; setIamPolicy is
   * never called.
   */
  async check(grants: string[]): Promise<ProviderCheck> {
    const report = new CheckReport();
    for (const role of unique(grants)) {
      if (!/^(roles|projects\/[^/\s]+\/roles|organizations\/\d+\/roles)\/[A-Za-z0-9_.]+$/.test(role)) {
        report.fail(`"${role}" is not an IAM role name (roles/…, projects/<project>/roles/… or organizations/<id>/roles/…)`);
      } else if (['roles/owner', 'roles/editor', 'roles/viewer'].includes(role)) {
        report.fail(`"${role}" is a basic role: Google refuses a condition on it, so it cannot be granted for a window; use a predefined or custom role`);
      }
    }
    let policy: Policy;
    try {
      policy = await this.#read('provider-check', `cannot read the IAM policy of project "${this.#project}"`);
    } catch (error) {
      return report.fail((error as Error).message).result();
    }
    const bindings = policy.bindings ?? [];
    const conditional = bindings.filter((b) => b.condition).length;
    report.ok(`may read the IAM policy of project "${this.#project}" (${bindings.length} bindings, ${conditional} with a condition)`);
    if (conditional >= 90) {
      report.warn(`${conditional} conditional bindings: Google advises at most 100 per policy; each open grant adds one per role until its revoke`);
    }

    const wanted = ['resourcemanager.projects.getIamPolicy', 'resourcemanager.projects.setIamPolicy'];
    let held: Set<string>;
    try {
      const res = await this.#client.projects.testIamPermissions(
        { resource: this.#resource, requestBody: { permissions: wanted } },
        this.#callOptions('provider-check'),
      );
      held = new Set(res.data.permissions ?? []);
    } catch (error) {
      return report.fail(`cannot test the bot's permissions on project "${this.#project}": ${describeGoogleError(error)}`).result();
    }
    for (const permission of wanted) {
      if (held.has(permission)) report.ok(`holds ${permission}`);
      else {
        report.fail(
          `missing ${permission} on project "${this.#project}": grant and revoke read and write the project's IAM policy ` +
            '(roles/resourcemanager.projectIamAdmin, with a condition limiting the roles it may grant)',
        );
      }
    }
    return report.result();
  }

  async close(): Promise<void> {
    // Stateless HTTPS calls: nothing to close.
  }

  /**
   * Read, change, write with the etag read, retried with a fresh read on an etag conflict. `change` gets a
   * copy of the bindings and returns the new list, or null when there is nothing to change (no write).
   */
  async #update(requestId: string, context: string, change: (bindings: Binding[]) => Binding[] | null): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const policy = await this.#read(requestId, context);
      if (!policy.etag) throw new Error(`${context}: the policy read has no etag; refusing to write without one`);
      const bindings = change(structuredClone(policy.bindings ?? []));
      if (bindings === null) return;
      try {
        await this.#client.projects.setIamPolicy(
          { resource: this.#resource, requestBody: { policy: { version: POLICY_VERSION, etag: policy.etag, bindings } } },
          this.#callOptions(requestId),
        );
        return;
      } catch (error) {
        if (!CONFLICT_STATUSES.has(statusOf(error) ?? 0)) throw providerError(error, context);
        if (attempt >= this.#maxAttempts) {
          throw new Error(`${context}: the policy kept changing under us (${attempt} etag conflicts); will retry later`);
        }
        await sleep(this.#retryDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
      }
    }
  }

  async #read(requestId: string, context: string): Promise<Policy> {
    try {
      const res = await this.#client.projects.getIamPolicy(
        { resource: this.#resource, requestBody: { options: { requestedPolicyVersion: POLICY_VERSION } } },
        this.#callOptions(requestId),
      );
      return res.data;
    } catch (error) {
      throw providerError(error, context);
    }
  }

  /**
   * Per call: the request reason lands in Cloud Audit Logs; no library retries (`getIamPolicy` and
   * `setIamPolicy` are POSTs, which it would not retry anyway): the job queue retries with its own backoff.
   */
  #callOptions(requestId: string) {
    return {
      headers: { 'x-goog-request-reason': headerSafe(`accessbot ${requestId}`) },
      retry: false,
      timeout: REQUEST_TIMEOUT_MS,
    };
  }
}

/** The IAM member for a principal: `user:` unless it names its kind already. */
export function memberOf(principal: string): string {
  const trimmed = principal.trim();
  if (trimmed === '') throw new PermanentProviderError('empty principal: expected an email address or an IAM member');
  return MEMBER_PREFIX.test(trimmed) ? trimmed : `user:${trimmed}`;
}

function titleOf(requestId: string): string {
  return `jit-${requestId}`;
}

/** The condition of this grant's bindings. `expiresAt` is a Date, so the expression holds nothing user-typed. */
export function conditionOf(target: GrantTarget): Required<Pick<Condition, 'title' | 'description' | 'expression'>> & Condition {
  return {
    title: titleOf(target.requestId),
    description: `accessbot ${target.requestId}`,
    expression: `request.time < timestamp("${target.expiresAt.toISOString()}")`,
  };
}

function sameCondition(a: Condition | undefined, b: Condition): boolean {
  return a !== undefined && a.title === b.title && a.expression === b.expression && (a.description ?? '') === (b.description ?? '');
}

/** IAM compares email addresses without regard to case; so do we. */
function hasMember(binding: Binding, member: string): boolean {
  const wanted = member.toLowerCase();
  return (binding.members ?? []).some((m) => m.toLowerCase() === wanted);
}

/** The bindings with `member` taken out of those matching `match`; a binding left without members is dropped. */
function withoutMember(bindings: Binding[], member: string, match: (b: Binding) => boolean): Binding[] {
  const wanted = member.toLowerCase();
  return bindings.flatMap((b) => {
    if (!match(b)) return [b];
    const members = (b.members ?? []).filter((m) => m.toLowerCase() !== wanted);
    return members.length > 0 ? [{ ...b, members }] : [];
  });
}

function statusOf(error: unknown): number | undefined {
  const e = error as { status?: unknown; response?: { status?: unknown } } | null;
  const status = e?.status ?? e?.response?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * An API or auth error as text that is safe to log and show: the HTTP status, Google's status name and its
 * message. Never the error itself: its `config` holds the request headers (the bearer token) and, for the
 * token endpoint, the signed assertion.
 */
export function describeGoogleError(error: unknown): string {
  const status = statusOf(error);
  if (status !== undefined) {
    const data = (error as { response?: { data?: unknown } }).response?.data;
    return `HTTP ${status}${detailOf(data)}`;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Za-z0-9_]+$/.test(code)) return `error ${code}`;
  return `unexpected error (${error instanceof Error ? error.name : typeof error})`;
}

/** `{ error: { status, message } }` from an API, `{ error, error_description }` from the token endpoint. */
function detailOf(data: unknown): string {
  if (typeof data !== 'object' || data === null) return '';
  const err = (data as { error?: unknown; error_description?: unknown }).error;
  if (typeof err === 'object' && err !== null) {
    const { status, message } = err as { status?: unknown; message?: unknown };
    return `${typeof status === 'string' ? ` ${status}` : ''}${typeof message === 'string' ? `: ${clip(message)}` : ''}`;
  }
  if (typeof err === 'string') {
    const description = (data as { error_description?: unknown }).error_description;
    return ` ${clip(err)}${typeof description === 'string' ? `: ${clip(description)}` : ''}`;
  }
  return '';
}

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** Never passes the library error on as `cause`: it holds the request, with its credentials. */
function providerError(error: unknown, context: string): Error {
  if (error instanceof PermanentProviderError) return error;
  const message = `${context}: ${describeGoogleError(error)}`;
  const status = statusOf(error);
  return status !== undefined && PERMANENT_STATUSES.has(status) ? new PermanentProviderError(message) : new Error(message);
}

/** A header value carries printable ASCII only; anything else in a request id becomes `?`. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function quoteList(names: string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Parses the credential JSON a variable holds, checking a service-account key enough to fail at start-up
 * rather than in the first grant. Messages name the variable, never the value (a parse error would quote it).
 */
export function parseCredentials(text: string, where: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${where} does not hold valid JSON; expected a service-account key file's contents`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${where} does not hold a JSON object; expected a service-account key file's contents`);
  }
  const key = parsed as Record<string, unknown>;
  if (typeof key.type !== 'string') throw new Error(`${where} holds JSON without a "type"; expected a service-account key`);
  if (key.type === 'service_account') {
    if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
      throw new Error(`${where} holds a service-account key without "client_email" or "private_key"`);
    }
    try {
      createPrivateKey(key.private_key);
    } catch {
      throw new Error(`${where} holds a service-account key whose "private_key" is not a valid PEM private key`);
    }
  }
  return key;
}

const NO_SECRETS = 'secrets never go in the policy file';
const useCredentialsEnv = `use { env: NAME } naming the environment variable that holds the service-account key JSON (or leave credentials out to use Application Default Credentials); ${NO_SECRETS}`;

/** `credentials: { env: NAME }`. */
const credentialsEnv = z.strictObject(
  { env: envName },
  {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') return `only "env" is allowed here; ${useCredentialsEnv}`;
      if (iss.code === 'invalid_type') return useCredentialsEnv;
      return undefined;
    },
  },
);

/** Project ids (`my-project-123`, legacy `example.com:my-project`) or numbers: nothing that could leave the path. */
const PROJECT = /^(?:(?:[a-z0-9-]+\.)+[a-z]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$|^[0-9]{1,20}$/;

/** `provider: gcp` in the policy. */
const settingsSchema = z.object({
  project: z
    .string({ error: (iss) => (iss.input === undefined ? 'required: the project id (my-project-123) whose IAM policy gets the bindings' : 'must be a project id') })
    .regex(PROJECT, { error: 'must be a project id (6 to 30 lowercase letters, digits and hyphens, like my-project-123) or a project number' }),
  credentials: credentialsEnv.optional(),
});

export const gcpProvider: ProviderDefinition = {
  name: 'gcp',
  shape: settingsSchema.shape,
  envNames: (settings) => {
    const { credentials } = settingsSchema.parse(settings);
    return credentials ? [{ setting: 'credentials.env', variable: credentials.env }] : [];
  },
  create(settings, env, path) {
    const { project, credentials } = settingsSchema.parse(settings);
    if (!credentials) return new GcpIamProvider({ project });
    const where = `${path}.credentials.env: environment variable ${credentials.env}`;
    const text = resolveEnv(env, credentials.env, `${path}.credentials.env`);
    return new GcpIamProvider({ project, credentials: parseCredentials(text, where) });
  },
};
