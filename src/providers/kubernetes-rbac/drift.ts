/** Drift detection for the kubernetes provider: the bindings of ours still in the cluster. */
import type { RbacAuthorizationV1Api, V1RoleBinding } from '@kubernetes/client-node';
import type { GrantedObject } from '../../use-cases/ports.js';
import { kubernetesError } from './errors.js';
import { bindingName, MANAGED_BY, REQUEST_LABEL } from './naming.js';

/** Bindings per list call; the API server pages the rest with `continue`. */
const LIST_PAGE = 500;

/** What drift detection reads of the provider it runs for. */
export interface KubernetesDriftContext {
  namespace: string | undefined;
  subjectKind: 'User' | 'Group';
  connect(): Promise<RbacAuthorizationV1Api>;
  where(): string;
}

/**
 * Drift detection (read-only): every binding of ours still in place, listed by the label
 * `app.kubernetes.io/managed-by=accessbot` (in `namespace`, or cluster-wide), one object per subject of our
 * kind, its request from the `accessbot/request` label. `grants` is not needed: a binding is named after its
 * request, whose state decides. A binding whose name is not the one `revoke` derives from that label and its
 * role (someone copied our labels) is left out: our revoke could not remove it, so it would be reported on
 * every run. Needs `list` on the (cluster)rolebindings.
 */
export async function listKubernetesGranted(self: KubernetesDriftContext): Promise<GrantedObject[]> {
  const api = await self.connect();
  const labelSelector = Object.entries(MANAGED_BY)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  const found: GrantedObject[] = [];
  let page: string | undefined;
  do {
    const options = { labelSelector, limit: LIST_PAGE, ...(page === undefined ? {} : { _continue: page }) };
    let list: { items: V1RoleBinding[]; metadata?: { _continue?: string } };
    try {
      list = await (self.namespace === undefined
        ? api.listClusterRoleBinding(options)
        : api.listNamespacedRoleBinding({ ...options, namespace: self.namespace }));
    } catch (error) {
      throw kubernetesError(error, `cannot list the bindings labelled ${labelSelector}${self.where()}`);
    }
    for (const binding of list.items) {
      const requestId = binding.metadata?.labels?.[REQUEST_LABEL];
      const grant = binding.roleRef.name;
      if (!requestId || binding.metadata?.name !== bindingName(requestId, grant)) continue;
      for (const subject of binding.subjects ?? []) {
        if (subject.kind === self.subjectKind) found.push({ principal: subject.name, grant, requestId });
      }
    }
    page = list.metadata?._continue || undefined;
  } while (page !== undefined);
  return found;
}
