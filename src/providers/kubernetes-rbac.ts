/**
 * Kubernetes RBAC provider: binds an existing ClusterRole or Role to a user or group, one binding per grant
 * of a request, and deletes it again.
 *
 * Each binding is named `jit-<request id>-<hash of (request id, grant)>` (a DNS-1123 label of at most 63
 * characters), carries the labels `app.kubernetes.io/managed-by: accessbot` and `accessbot/request: <id>`
 * and the annotation `accessbot/expires-at: <ISO time>`. Create answers 409 AlreadyExists on a retry (a
 * success once the existing binding is checked to be the same), delete answers 404 when already gone.
 * `namespace` set: a RoleBinding there (to a ClusterRole or a Role of that namespace); absent: a
 * ClusterRoleBinding (to a ClusterRole only).
 *
 * Left out on purpose, and why it matters:
 * - No native expiry: Kubernetes never removes a binding by itself, so our revoke job and sweeper are the
 *   only lock. A cluster-side sweeper (a CronJob with its own ServiceAccount) could delete bindings labelled
 *   `app.kubernetes.io/managed-by=accessbot` whose `accessbot/expires-at` has passed.
 * - Authorization is checked when a request starts: an `exec`, `attach` or `port-forward` stream opened
 *   during the window survives the binding's deletion until it closes. Revoke cannot end it.
 *
 * The bot needs create/get/delete on (cluster)rolebindings, and `bind` on exactly the grantable roles (RBAC
 * escalation prevention refuses a binding to a role whose permissions the bot neither holds nor may bind).
 * The client SDK loads on first use: it takes seconds to import.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AuthorizationV1Api, KubeConfig, RbacAuthorizationV1Api, V1RoleBinding } from '@kubernetes/client-node';
import { z } from 'zod';
import { PermanentProviderError, type AccessProvider, type GrantTarget, type GrantedObject, type ProviderCheck } from '../use-cases/ports.js';
import { CheckReport, listText, uniqueGrants } from './check.js';
import { envName, resolveEnv, type ProviderDefinition } from './definition.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'accessbot' } as const;
export const REQUEST_LABEL = 'accessbot/request';
export const EXPIRES_ANNOTATION = 'accessbot/expires-at';

/**
 * Role names we accept: what `kubectl create clusterrole` users write (`view`, `app-admin`,
 * `system:aggregate-to-view`). Kubernetes itself accepts more, but a name is also a URL path segment.
 */
const ROLE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._:-]{0,251}[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const HASH_LENGTH = 12;
/** Bindings per list call; the API server pages the rest with `continue`. */
const LIST_PAGE = 500;
/** Kubernetes status codes that retrying cannot fix (bad input, no such namespace, no right to bind). */
const PERMANENT_STATUSES = new Set([400, 401, 403, 404, 405, 422]);
const MAX_MESSAGE = 300;

export type KubeconfigSource = { kind: 'default' } | { kind: 'env'; variable: string; value: string };

export interface KubernetesRbacProviderOptions {
  /** Absent: ClusterRoleBindings. */
  namespace?: string;
  roleKind?: 'ClusterRole' | 'Role';
  subjectKind?: 'User' | 'Group';
  /** A ready KubeConfig (tests), else where to load one from (default: KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeConfig?: KubeConfig;
  source?: KubeconfigSource;
}

/** The binding name of one grant of one request: a DNS-1123 label, the same on every retry. */
export function bindingName(requestId: string, grant: string): string {
  const hash = createHash('sha256').update(JSON.stringify([requestId, grant])).digest('hex').slice(0, HASH_LENGTH);
  // The hash covers the request id too, so two ids that read the same once lower-cased still differ.
  const slug = requestId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 63 - 'jit-'.length - 1 - HASH_LENGTH)
    .replace(/^-+|-+$/g, '');
  return slug ? `jit-${slug}-${hash}` : `jit-${hash}`;
}

type Binding = V1RoleBinding & { kind: 'RoleBinding' | 'ClusterRoleBinding' };

export class KubernetesRbacProvider implements AccessProvider {
  /** Each grant is its own binding, jit-<requestId>-…. */
  readonly perGrantObjects = true;
  readonly #namespace: string | undefined;
  readonly #roleKind: 'ClusterRole' | 'Role';
  readonly #subjectKind: 'User' | 'Group';
  readonly #options: KubernetesRbacProviderOptions;
  #api: Promise<RbacAuthorizationV1Api> | undefined;

  constructor(options: KubernetesRbacProviderOptions) {
    this.#options = options;
    this.#namespace = options.namespace;
    this.#roleKind = options.roleKind ?? 'ClusterRole';
    this.#subjectKind = options.subjectKind ?? 'User';
    if (this.#roleKind === 'Role' && this.#namespace === undefined) {
      throw new Error('role_kind Role needs a namespace: a ClusterRoleBinding can only refer to a ClusterRole');
    }
  }

  /** Held: this request's binding of the grant exists and still says what we wrote. */
  async held(target: GrantTarget): Promise<string[]> {
    this.#check(target);
    const held: string[] = [];
    for (const grant of target.grants) {
      const existing = await this.#read(bindingName(target.requestId, grant), `cannot read the binding of "${grant}"`);
      if (existing && this.#matches(existing, target, grant)) held.push(grant);
    }
    return held;
  }

  /** `expiresAt` only goes into the annotation: Kubernetes has no expiry of its own. */
  async grant(target: GrantTarget): Promise<void> {
    this.#check(target);
    if (target.grants.length === 0) return;
    const api = await this.#connect();
    // One at a time: a failure stops here, and the use case revokes what was attempted.
    for (const grant of target.grants) {
      const body = this.#binding(target, grant);
      const context = `cannot bind ${this.#roleKind} "${grant}" to ${this.#subjectKind} "${target.principal}"${this.#where()}`;
      try {
        await (this.#namespace === undefined
          ? api.createClusterRoleBinding({ body: { ...body, kind: 'ClusterRoleBinding' } })
          : api.createNamespacedRoleBinding({ namespace: this.#namespace, body }));
      } catch (error) {
        if (statusOf(error) !== 409) throw kubernetesError(error, context);
        // AlreadyExists: a retry of this grant, unless someone else took the name for something else.
        const existing = await this.#read(body.metadata?.name ?? '', context);
        if (!existing) throw new Error(`${context}: the binding was deleted while we created it`);
        if (!this.#matches(existing, target, grant)) {
          throw new PermanentProviderError(`${context}: binding ${body.metadata?.name ?? '?'} already exists with another role or subject`);
        }
      }
    }
  }

  async revoke(target: GrantTarget): Promise<void> {
    this.#check(target);
    if (target.grants.length === 0) return;
    const api = await this.#connect();
    const failures: Error[] = [];
    for (const grant of target.grants) {
      const name = bindingName(target.requestId, grant);
      try {
        await (this.#namespace === undefined
          ? api.deleteClusterRoleBinding({ name })
          : api.deleteNamespacedRoleBinding({ name, namespace: this.#namespace }));
      } catch (error) {
        if (statusOf(error) === 404) continue;
        failures.push(kubernetesError(error, `cannot delete binding ${name}${this.#where()}`));
      }
    }
    // A retryable failure wins: the retry redoes everything, and all of it is idempotent.
    const failure = failures.find((f) => !(f instanceof PermanentProviderError)) ?? failures[0];
    if (failure) throw failure;
  }

  /**
   * Drift detection (read-only): every binding of ours still in place, listed by the label
   * `app.kubernetes.io/managed-by=accessbot` (in `namespace`, or cluster-wide), one object per subject of our
   * kind, its request from the `accessbot/request` label. `grants` is not needed: a binding is named after its
   * request, whose state decides. A binding whose name is not the one `revoke` derives from that label and its
   * role (someone copied our labels) is left out: our revoke could not remove it, so it would be reported on
   * every run. Needs `list` on the (cluster)rolebindings.
   */
  async listGranted(): Promise<GrantedObject[]> {
    const api = await this.#connect();
    const labelSelector = Object.entries(MANAGED_BY)
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
    const found: GrantedObject[] = [];
    let page: string | undefined;
    do {
      const options = { labelSelector, limit: LIST_PAGE, ...(page === undefined ? {} : { _continue: page }) };
      let list: { items: V1RoleBinding[]; metadata?: { _continue?: string } };
      try {
        list = await (this.#namespace === undefined
          ? api.listClusterRoleBinding(options)
          : api.listNamespacedRoleBinding({ ...options, namespace: this.#namespace }));
      } catch (error) {
        throw kubernetesError(error, `cannot list the bindings labelled ${labelSelector}${this.#where()}`);
      }
      for (const binding of list.items) {
        const requestId = binding.metadata?.labels?.[REQUEST_LABEL];
        const grant = binding.roleRef.name;
        if (!requestId || binding.metadata?.name !== bindingName(requestId, grant)) continue;
        for (const subject of binding.subjects ?? []) {
          if (subject.kind === this.#subjectKind) found.push({ principal: subject.name, grant, requestId });
        }
      }
      page = list.metadata?._continue || undefined;
    } while (page !== undefined);
    return found;
  }

  /**
   * Read-only (`accessbot provider check`): SelfSubjectAccessReviews (a POST that changes nothing) ask the
   * API server whether the bot may create, get and delete the (cluster)rolebindings, and `bind` each role;
   * then each role is read (GET) to confirm it exists. A missing `bind` is a warning: RBAC also lets a bot
   * bind a role whose permissions it holds itself. A role it may not read is a warning too: grant never
   * reads roles.
   */
  async check(grants: string[]): Promise<ProviderCheck> {
    const report = new CheckReport();
    const roles: string[] = [];
    for (const grant of uniqueGrants(grants)) {
      if (ROLE_NAME.test(grant)) roles.push(grant);
      else report.fail(`invalid ${this.#roleKind} name "${grant}": use letters, digits, ".", "-", "_" and ":"`);
    }
    let rbac: RbacAuthorizationV1Api;
    let authz: AuthorizationV1Api;
    try {
      const k8s = await import('@kubernetes/client-node');
      let kc = this.#options.kubeConfig;
      if (!kc) {
        kc = new k8s.KubeConfig();
        loadKubeConfig(kc, this.#options.source ?? { kind: 'default' });
      }
      authz = kc.makeApiClient(k8s.AuthorizationV1Api);
      rbac = await this.#connect();
    } catch (error) {
      return report.fail(kubernetesError(error, 'cannot load the kubeconfig').message).result();
    }
    const where = this.#where();
    const namespace = this.#namespace === undefined ? {} : { namespace: this.#namespace };
    const may = async (verb: string, resource: string, name?: string): Promise<boolean> => {
      const review = await authz.createSelfSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { group: RBAC_GROUP, resource, verb, ...namespace, ...(name === undefined ? {} : { name }) } },
        },
      });
      return review.status?.allowed === true;
    };

    const bindings = this.#namespace === undefined ? 'clusterrolebindings' : 'rolebindings';
    const allowed: string[] = [];
    const needs: Record<string, string> = { create: 'grant', get: 'grant (on a retry) and held', delete: 'revoke' };
    try {
      for (const verb of Object.keys(needs)) {
        if (await may(verb, bindings)) allowed.push(verb);
        else report.fail(`may not ${verb} ${bindings}${where}, which ${needs[verb]} needs`);
      }
    } catch (error) {
      return report.fail(kubernetesError(error, `cannot ask the API server what the bot may do${where}`).message).result();
    }
    if (allowed.length > 0) report.ok(`may ${listText(allowed)} ${bindings}${where}`);

    const roleResource = this.#roleKind === 'ClusterRole' ? 'clusterroles' : 'roles';
    for (const role of roles) {
      const it = `${this.#roleKind} "${role}"`;
      try {
        if (await may('bind', roleResource, role)) report.ok(`may bind ${it}${where}`);
        else {
          report.warn(
            `no "bind" on ${it}${where}: binding it works only if the bot holds every permission of "${role}" itself (RBAC escalation check); ` +
              `allow verb bind on ${roleResource} with resourceNames [${role}]`,
          );
        }
      } catch (error) {
        report.fail(kubernetesError(error, `cannot ask whether the bot may bind ${it}`).message);
      }
      try {
        await (this.#namespace === undefined || this.#roleKind === 'ClusterRole'
          ? rbac.readClusterRole({ name: role })
          : rbac.readNamespacedRole({ name: role, namespace: this.#namespace }));
        report.ok(`${it} exists`);
      } catch (error) {
        const status = statusOf(error);
        if (status === 404) report.fail(`${it} does not exist${this.#roleKind === 'Role' ? where : ''}`);
        else if (status === 403) report.warn(`cannot confirm that ${it} exists: the bot may not get ${roleResource} (grant does not need to)`);
        else report.warn(kubernetesError(error, `cannot confirm that ${it} exists`).message);
      }
    }
    return report.result();
  }

  async close(): Promise<void> {}

  #binding(target: GrantTarget, grant: string): Binding {
    return {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: 'RoleBinding',
      metadata: {
        name: bindingName(target.requestId, grant),
        ...(this.#namespace === undefined ? {} : { namespace: this.#namespace }),
        labels: { ...MANAGED_BY, [REQUEST_LABEL]: target.requestId },
        annotations: { [EXPIRES_ANNOTATION]: target.expiresAt.toISOString() },
      },
      roleRef: { apiGroup: RBAC_GROUP, kind: this.#roleKind, name: grant },
      subjects: [{ apiGroup: RBAC_GROUP, kind: this.#subjectKind, name: target.principal }],
    };
  }

  #matches(binding: V1RoleBinding, target: GrantTarget, grant: string): boolean {
    const { roleRef, subjects } = binding;
    return (
      roleRef.kind === this.#roleKind &&
      roleRef.name === grant &&
      (subjects ?? []).some((s) => s.kind === this.#subjectKind && s.name === target.principal)
    );
  }

  async #read(name: string, context: string): Promise<V1RoleBinding | null> {
    const api = await this.#connect();
    try {
      return await (this.#namespace === undefined
        ? api.readClusterRoleBinding({ name })
        : api.readNamespacedRoleBinding({ name, namespace: this.#namespace }));
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw kubernetesError(error, context);
    }
  }

  /** Validates before any request: names end up in URLs, labels and the binding. */
  #check({ requestId, principal, grants }: GrantTarget): void {
    if (!LABEL_VALUE.test(requestId) || requestId === '') {
      throw new PermanentProviderError(`request id "${requestId}" cannot be a Kubernetes label value`);
    }
    if (principal.trim() === '' || principal.length > 1024 || /\p{Cc}/u.test(principal)) {
      throw new PermanentProviderError(`invalid Kubernetes ${this.#subjectKind.toLowerCase()} name "${principal}"`);
    }
    for (const grant of grants) {
      if (!ROLE_NAME.test(grant)) {
        throw new PermanentProviderError(`invalid ${this.#roleKind} name "${grant}": use letters, digits, ".", "-", "_" and ":"`);
      }
    }
  }

  #where(): string {
    return this.#namespace === undefined ? ' (cluster-wide)' : ` in namespace ${this.#namespace}`;
  }

  #connect(): Promise<RbacAuthorizationV1Api> {
    this.#api ??= (async () => {
      const k8s = await import('@kubernetes/client-node');
      let kc = this.#options.kubeConfig;
      if (!kc) {
        kc = new k8s.KubeConfig();
        loadKubeConfig(kc, this.#options.source ?? { kind: 'default' });
      }
      return kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    })();
    // A failed load is not remembered: the next attempt tries again.
    this.#api.catch(() => (this.#api = undefined));
    return this.#api;
  }
}

/** The variable holds a kubeconfig's path or its content. The content is a secret: no error repeats it. */
function loadKubeConfig(kc: KubeConfig, source: KubeconfigSource): void {
  if (source.kind === 'default') {
    kc.loadFromDefault();
    return;
  }
  try {
    if (isKubeconfigContent(source.value)) kc.loadFromString(source.value);
    else kc.loadFromFile(source.value);
  } catch {
    throw new PermanentProviderError(`the kubeconfig named by ${source.variable} cannot be loaded`);
  }
}

function isKubeconfigContent(value: string): boolean {
  return value.includes('\n') || value.trimStart().startsWith('{');
}

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && 'body' in error && typeof code === 'number' ? code : undefined;
}

/**
 * A safe error: the API server's status, reason and message (they name the binding, the role and the bot's
 * identity, never a token). Network errors keep only their code: their text carries the server's URL. The
 * SDK error is never passed on: its message repeats the response headers.
 */
function kubernetesError(error: unknown, context: string): Error {
  if (error instanceof PermanentProviderError) return error;
  const status = statusOf(error);
  if (status !== undefined) {
    const { reason, message } = parseStatus((error as { body?: unknown }).body);
    const text = message && message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
    const summary = `${context}: Kubernetes answered ${status}${reason ? ` ${reason}` : ''}${text ? `: ${text}` : ''}`;
    return PERMANENT_STATUSES.has(status) ? new PermanentProviderError(summary) : new Error(summary);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return new Error(`${context}: network error ${code}`);
  return new Error(`${context}: ${error instanceof Error ? error.name : typeof error} (no answer from Kubernetes)`);
}

/** The SDK hands a failed call's body over as text: a `Status` object, when the API server wrote it. */
function parseStatus(body: unknown): { reason?: string; message?: string } {
  try {
    const status: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    if (typeof status !== 'object' || status === null) return {};
    const { reason, message } = status as { reason?: unknown; message?: unknown };
    return {
      ...(typeof reason === 'string' ? { reason } : {}),
      ...(typeof message === 'string' ? { message } : {}),
    };
  } catch {
    return {};
  }
}

const settingsSchema = z.object({
  kubeconfig: z
    .strictObject(
      { env: envName },
      { error: 'use { env: NAME } naming the environment variable that holds the kubeconfig (its path or its content); secrets never go in the policy file' },
    )
    .optional(),
  namespace: z.string().regex(DNS_LABEL, { error: 'must be a namespace name (lower-case letters, digits and -)' }).optional(),
  role_kind: z.enum(['ClusterRole', 'Role'], { error: 'must be ClusterRole or Role' }).default('ClusterRole'),
  subject_kind: z.enum(['User', 'Group'], { error: 'must be User or Group' }).default('User'),
});

/**
 * `provider: kubernetes`: optional `kubeconfig: { env: NAME }` (else KUBECONFIG, ~/.kube/config, or the
 * in-cluster ServiceAccount), optional `namespace` (absent: cluster-wide), `role_kind`, `subject_kind`.
 */
export const kubernetesProvider: ProviderDefinition = {
  name: 'kubernetes',
  shape: settingsSchema.shape,
  envNames: (settings) => {
    const { kubeconfig } = settingsSchema.parse(settings);
    return kubeconfig ? [{ setting: 'kubeconfig.env', variable: kubeconfig.env }] : [];
  },
  create(settings, env, path) {
    const { kubeconfig, namespace, role_kind, subject_kind } = settingsSchema.parse(settings);
    if (role_kind === 'Role' && namespace === undefined) {
      throw new Error(`${path}.role_kind: Role needs a namespace; a ClusterRoleBinding can only refer to a ClusterRole`);
    }
    let source: KubeconfigSource = { kind: 'default' };
    if (kubeconfig) {
      const value = resolveEnv(env, kubeconfig.env, `${path}.kubeconfig.env`);
      if (!isKubeconfigContent(value) && !existsSync(value)) {
        throw new Error(`${path}.kubeconfig.env: environment variable ${kubeconfig.env} names a file that does not exist`);
      }
      source = { kind: 'env', variable: kubeconfig.env, value };
    }
    return new KubernetesRbacProvider({ namespace, roleKind: role_kind, subjectKind: subject_kind, source });
  },
};
