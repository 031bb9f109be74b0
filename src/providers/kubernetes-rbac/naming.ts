/**
 * What ties a binding to a request: its name `jit-<request id>-<hash of (request id, grant)>`, the labels
 * `app.kubernetes.io/managed-by: accessbot` and `accessbot/request: <id>`, and the annotation
 * `accessbot/expires-at`; and the names Kubernetes accepts for roles and label values.
 */
import { createHash } from 'node:crypto';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'accessbot' } as const;
export const REQUEST_LABEL = 'accessbot/request';
export const EXPIRES_ANNOTATION = 'accessbot/expires-at';

/**
 * Role names we accept: what `kubectl create clusterrole` users write (`view`, `app-admin`,
 * `system:aggregate-to-view`). Kubernetes itself accepts more, but a name is also a URL path segment.
 */
export const ROLE_NAME = /^[A-Za-z0-9]([A-Za-z0-9._:-]{0,251}[A-Za-z0-9])?$/;
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const HASH_LENGTH = 12;

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
