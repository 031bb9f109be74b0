/** The `provider: kubernetes` settings in the policy file, and the provider definition built from them. */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { envName, resolveEnv, type ProviderDefinition } from '../definition.js';
import { isKubeconfigContent, type KubeconfigSource } from './kubeconfig.js';
import { KubernetesRbacProvider } from './provider.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

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
