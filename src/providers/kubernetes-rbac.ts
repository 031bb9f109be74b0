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
 *
 * Where things are (src/providers/kubernetes-rbac/):
 * - provider.ts: the provider: held, grant and revoke
 * - naming.ts: the binding name, labels and annotation derived from a request
 * - kubeconfig.ts: where the client's kubeconfig comes from
 * - drift.ts: `listGranted`, every binding of ours still in place
 * - check.ts: the read-only `accessbot provider check`
 * - errors.ts: Kubernetes API errors as safe text, permanent or retryable
 * - settings.ts: the `provider: kubernetes` settings and the provider definition
 */
export { KubernetesRbacProvider, type KubernetesRbacProviderOptions } from './kubernetes-rbac/provider.js';
export { bindingName, EXPIRES_ANNOTATION, MANAGED_BY, REQUEST_LABEL } from './kubernetes-rbac/naming.js';
export type { KubeconfigSource } from './kubernetes-rbac/kubeconfig.js';
export { kubernetesProvider } from './kubernetes-rbac/settings.js';
