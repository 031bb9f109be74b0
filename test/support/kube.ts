/**
 * The Kubernetes set-up the RBAC provider tests share: the nocked API server's address, the namespace and
 * the RBAC API path they use, a kubeconfig built in memory (`loadFromOptions`, nothing read from disk) that
 * points the real `@kubernetes/client-node` at that server with a bearer token, and the provider built on it.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { KubernetesRbacProvider, type KubernetesRbacProviderOptions } from '../../src/providers/kubernetes-rbac.js';

export const K8S_SERVER = 'https://k8s.test:6443';
export const K8S_NAMESPACE = 'payments';
export const RBAC_API = '/apis/rbac.authorization.k8s.io/v1';

/** A kubeconfig whose one context talks to `K8S_SERVER` (TLS not verified) with `token` as bearer token. */
export function kubeConfig(token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: K8S_SERVER, skipTLSVerify: true }],
    users: [{ name: 'bot', token }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'bot' }],
    currentContext: 'ctx',
  });
  return kc;
}

/** The provider for `K8S_NAMESPACE` on a fresh `kubeConfig(token)`, with `options` on top. */
export function rbacProvider(token: string, options: Partial<KubernetesRbacProviderOptions> = {}): KubernetesRbacProvider {
  return new KubernetesRbacProvider({ namespace: K8S_NAMESPACE, kubeConfig: kubeConfig(token), ...options });
}
