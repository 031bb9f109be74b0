/**
 * The kubernetes provider itself: `held`, `grant` and `revoke` of one (Cluster)RoleBinding per grant (see
 * ../kubernetes-rbac.ts for the model).
 */
import type { KubeConfig, RbacAuthorizationV1Api, V1RoleBinding } from '@kubernetes/client-node';
import { PermanentProviderError, type AccessProvider, type GrantTarget, type GrantedObject, type ProviderCheck } from '../../use-cases/ports.js';
import { checkKubernetesRbac } from './check.js';
import { listKubernetesGranted } from './drift.js';
import { kubernetesError, statusOf } from './errors.js';
import { loadKubeConfig, type KubeconfigSource } from './kubeconfig.js';
import { bindingName, EXPIRES_ANNOTATION, LABEL_VALUE, MANAGED_BY, RBAC_GROUP, REQUEST_LABEL, ROLE_NAME } from './naming.js';

export interface KubernetesRbacProviderOptions {
  /** Absent: ClusterRoleBindings. */
  namespace?: string;
  roleKind?: 'ClusterRole' | 'Role';
  subjectKind?: 'User' | 'Group';
  /** A ready KubeConfig (tests), else where to load one from (default: KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeConfig?: KubeConfig;
  source?: KubeconfigSource;
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

  /** Drift detection (read-only): see `listKubernetesGranted`. */
  async listGranted(): Promise<GrantedObject[]> {
    return listKubernetesGranted({ namespace: this.#namespace, subjectKind: this.#subjectKind, connect: () => this.#connect(), where: () => this.#where() });
  }

  /** Read-only (`accessbot provider check`): see `checkKubernetesRbac`. */
  async check(grants: string[]): Promise<ProviderCheck> {
    return checkKubernetesRbac(
      { namespace: this.#namespace, roleKind: this.#roleKind, options: this.#options, connect: () => this.#connect(), where: () => this.#where() },
      grants,
    );
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
