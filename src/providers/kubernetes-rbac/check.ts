/** `accessbot provider check` for the kubernetes provider: reads, never writes. */
import type { AuthorizationV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { ProviderCheck } from '../../use-cases/ports.js';
import { CheckReport, listText, uniqueGrants } from '../check.js';
import { kubernetesError, statusOf } from './errors.js';
import { loadKubeConfig } from './kubeconfig.js';
import { RBAC_GROUP, ROLE_NAME } from './naming.js';
import type { KubernetesRbacProviderOptions } from './provider.js';

/** What the check reads of the provider it runs for. */
export interface KubernetesCheckContext {
  namespace: string | undefined;
  roleKind: 'ClusterRole' | 'Role';
  options: KubernetesRbacProviderOptions;
  connect(): Promise<RbacAuthorizationV1Api>;
  where(): string;
}

/**
 * Read-only (`accessbot provider check`): SelfSubjectAccessReviews (a POST that changes nothing) ask the
 * API server whether the bot may create, get and delete the (cluster)rolebindings, and `bind` each role;
 * then each role is read (GET) to confirm it exists. A missing `bind` is a warning: RBAC also lets a bot
 * bind a role whose permissions it holds itself. A role it may not read is a warning too: grant never
 * reads roles.
 */
export async function checkKubernetesRbac(self: KubernetesCheckContext, grants: string[]): Promise<ProviderCheck> {
  const report = new CheckReport();
  const roles: string[] = [];
  for (const grant of uniqueGrants(grants)) {
    if (ROLE_NAME.test(grant)) roles.push(grant);
    else report.fail(`invalid ${self.roleKind} name "${grant}": use letters, digits, ".", "-", "_" and ":"`);
  }
  let rbac: RbacAuthorizationV1Api;
  let authz: AuthorizationV1Api;
  try {
    const k8s = await import('@kubernetes/client-node');
    let kc = self.options.kubeConfig;
    if (!kc) {
      kc = new k8s.KubeConfig();
      loadKubeConfig(kc, self.options.source ?? { kind: 'default' });
    }
    authz = kc.makeApiClient(k8s.AuthorizationV1Api);
    rbac = await self.connect();
  } catch (error) {
    return report.fail(kubernetesError(error, 'cannot load the kubeconfig').message).result();
  }
  const where = self.where();
  const namespace = self.namespace === undefined ? {} : { namespace: self.namespace };
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

  const bindings = self.namespace === undefined ? 'clusterrolebindings' : 'rolebindings';
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

  const roleResource = self.roleKind === 'ClusterRole' ? 'clusterroles' : 'roles';
  for (const role of roles) {
    const it = `${self.roleKind} "${role}"`;
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
      await (self.namespace === undefined || self.roleKind === 'ClusterRole'
        ? rbac.readClusterRole({ name: role })
        : rbac.readNamespacedRole({ name: role, namespace: self.namespace }));
      report.ok(`${it} exists`);
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) report.fail(`${it} does not exist${self.roleKind === 'Role' ? where : ''}`);
      else if (status === 403) report.warn(`cannot confirm that ${it} exists: the bot may not get ${roleResource} (grant does not need to)`);
      else report.warn(kubernetesError(error, `cannot confirm that ${it} exists`).message);
    }
  }
  return report.result();
}
