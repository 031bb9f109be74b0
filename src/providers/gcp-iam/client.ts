/**
 * The project's IAM policy, through the Cloud Resource Manager API: read at policy version 3, changed by
 * read-modify-write with the etag just read (retried with a fresh read on an etag conflict), and the bot's
 * own permissions tested. The service-account key is handed to the auth library and nowhere else.
 */
import { auth as googleAuth, cloudresourcemanager_v3 } from '@googleapis/cloudresourcemanager';
import type { Binding } from './bindings.js';
import { providerError, statusOf } from './errors.js';

export type Policy = cloudresourcemanager_v3.Schema$Policy;
type GoogleAuthOptions = NonNullable<ConstructorParameters<typeof googleAuth.GoogleAuth>[0]>;

const SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];
/** Conditions need policy version 3 on every read and every write. */
const POLICY_VERSION = 3;
/** Etag conflicts: the policy changed between our read and our write. Google documents both. */
const CONFLICT_STATUSES = new Set([409, 412]);
const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_RETRY_DELAY_MS = 100;
const REQUEST_TIMEOUT_MS = 30_000;

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

/** The IAM policy of one project. */
export class ProjectIamClient {
  readonly project: string;
  readonly #client: cloudresourcemanager_v3.Cloudresourcemanager;
  readonly #resource: string;
  readonly #maxAttempts: number;
  readonly #retryDelayMs: number;

  constructor(options: GcpIamProviderOptions) {
    const authOptions: GoogleAuthOptions = { scopes: SCOPES };
    if (options.credentials) authOptions.credentials = options.credentials as GoogleAuthOptions['credentials'];
    this.#client = new cloudresourcemanager_v3.Cloudresourcemanager({ auth: new googleAuth.GoogleAuth(authOptions) });
    this.project = options.project;
    this.#resource = `projects/${options.project}`;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.#retryDelayMs = Math.max(0, options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);
  }

  /**
   * Read, change, write with the etag read, retried with a fresh read on an etag conflict. `change` gets a
   * copy of the bindings and returns the new list, or null when there is nothing to change (no write).
   */
  async update(requestId: string, context: string, change: (bindings: Binding[]) => Binding[] | null): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const policy = await this.read(requestId, context);
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

  async read(requestId: string, context: string): Promise<Policy> {
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

  /** `testIamPermissions` on the project: a POST that changes nothing. */
  async testIamPermissions(permissions: string[], requestId: string) {
    return this.#client.projects.testIamPermissions({ resource: this.#resource, requestBody: { permissions } }, this.#callOptions(requestId));
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

/** A header value carries printable ASCII only; anything else in a request id becomes `?`. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
