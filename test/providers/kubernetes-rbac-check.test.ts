/**
 * `KubernetesRbacProvider.check` through the real `@kubernetes/client-node` 1.4 against a nocked API server.
 * SelfSubjectAccessReviews are answered from a table of what the bot may do; roles are read by GET. Every
 * request is recorded, and every test asserts that the only non-GET was a SelfSubjectAccessReview: the
 * check never creates or deletes a binding.
 */
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesRbacProviderOptions } from '../../src/providers/kubernetes-rbac.js';
import { K8S_NAMESPACE as NS, K8S_SERVER as SERVER, RBAC_API as RBAC, rbacProvider } from '../support/kube.js';

const TOKEN = 'fake-bearer-token-check';
const SSAR = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';

interface Attributes {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
  name?: string;
}
let calls: { method: string; path: string; attributes?: Attributes }[] = [];

/**
 * The API server: `allow` lists what the bot may do as `verb resource[/name]` (namespace ignored, asserted
 * separately); `roles` are the roles that exist; `rolesReadable` false answers 403 to reading them.
 */
function apiServer(allow: string[], roles: string[], rolesReadable = true): void {
  const scope = nock(SERVER, { reqheaders: { authorization: `Bearer ${TOKEN}` } }).persist();
  scope.post(SSAR).reply((path, body) => {
    const attributes = (body as { spec: { resourceAttributes: Attributes } }).spec.resourceAttributes;
    calls.push({ method: 'POST', path, attributes });
    const key = `${attributes.verb} ${attributes.resource}${attributes.name ? `/${attributes.name}` : ''}`;
    return [201, { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attributes }, status: { allowed: allow.includes(key) } }];
  });
  scope.get(/.*/).reply((path) => {
    calls.push({ method: 'GET', path });
    const name = decodeURIComponent(path.split('/').pop() ?? '');
    if (!rolesReadable) return [403, { kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, message: `clusterroles.rbac.authorization.k8s.io "${name}" is forbidden` }];
    if (!roles.includes(name)) return [404, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: `"${name}" not found` }];
    return [200, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules: [] }];
  });
  for (const verb of ['put', 'patch', 'delete'] as const) {
    scope[verb](/.*/).reply((path) => {
      calls.push({ method: verb.toUpperCase(), path });
      return [405, {}];
    });
  }
  scope.post(/^(?!\/apis\/authorization\.k8s\.io\/v1\/selfsubjectaccessreviews).*/).reply((path) => {
    calls.push({ method: 'POST', path });
    return [405, {}];
  });
}

const provider = (options: Partial<KubernetesRbacProviderOptions> = {}) => rbacProvider(TOKEN, options);
const text = (findings: { level: string; what: string }[]) => findings.map((f) => `${f.level} ${f.what}`);

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => {
  for (const call of calls) expect(call.method === 'GET' || (call.method === 'POST' && call.path === SSAR)).toBe(true);
  calls = [];
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
});

describe('KubernetesRbacProvider.check', () => {
  it('reports a healthy bot in a namespace: bindings verbs, bind on each role, the roles exist', async () => {
    apiServer(['create rolebindings', 'get rolebindings', 'delete rolebindings', 'bind clusterroles/view', 'bind clusterroles/edit'], ['view', 'edit']);
    const result = await provider().check(['view', 'edit']);
    expect(text(result.findings)).toEqual([
      `ok may create, get and delete rolebindings in namespace ${NS}`,
      `ok may bind ClusterRole "view" in namespace ${NS}`,
      'ok ClusterRole "view" exists',
      `ok may bind ClusterRole "edit" in namespace ${NS}`,
      'ok ClusterRole "edit" exists',
    ]);
    expect(result.ok).toBe(true);
    // RBAC checks bind for a RoleBinding in the binding's namespace, even for a ClusterRole.
    const reviews = calls.filter((c) => c.attributes).map((c) => c.attributes);
    expect(reviews).toContainEqual({ group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'bind', namespace: NS, name: 'view' });
    expect(reviews).toContainEqual({ group: 'rbac.authorization.k8s.io', resource: 'rolebindings', verb: 'delete', namespace: NS });
    expect(calls.filter((c) => c.method === 'GET').map((c) => c.path)).toEqual([`${RBAC}/clusterroles/view`, `${RBAC}/clusterroles/edit`]);
  });

  it('reports a bot that may not delete bindings (a failure), has no bind (a warning), and a role that does not exist', async () => {
    apiServer(['create clusterrolebindings', 'get clusterrolebindings', 'bind clusterroles/view'], ['view', 'edit']);
    const result = await provider({ namespace: undefined }).check(['view', 'edit', 'ghost']);
    expect(result.ok).toBe(false);
    expect(text(result.findings)).toEqual([
      'fail may not delete clusterrolebindings (cluster-wide), which revoke needs',
      'ok may create and get clusterrolebindings (cluster-wide)',
      'ok may bind ClusterRole "view" (cluster-wide)',
      'ok ClusterRole "view" exists',
      'warn no "bind" on ClusterRole "edit" (cluster-wide): binding it works only if the bot holds every permission of "edit" itself (RBAC escalation check); allow verb bind on clusterroles with resourceNames [edit]',
      'ok ClusterRole "edit" exists',
      'warn no "bind" on ClusterRole "ghost" (cluster-wide): binding it works only if the bot holds every permission of "ghost" itself (RBAC escalation check); allow verb bind on clusterroles with resourceNames [ghost]',
      'fail ClusterRole "ghost" does not exist',
    ]);
    expect(calls.filter((c) => c.attributes).every((c) => c.attributes!.namespace === undefined)).toBe(true);
  });

  it('reads namespaced Roles in the namespace; roles it may not read are a warning only', async () => {
    apiServer(['create rolebindings', 'get rolebindings', 'delete rolebindings', 'bind roles/deployer'], [], false);
    const result = await provider({ roleKind: 'Role' }).check(['deployer', 'bad name']);
    expect(text(result.findings)).toEqual([
      'fail invalid Role name "bad name": use letters, digits, ".", "-", "_" and ":"',
      `ok may create, get and delete rolebindings in namespace ${NS}`,
      `ok may bind Role "deployer" in namespace ${NS}`,
      'warn cannot confirm that Role "deployer" exists: the bot may not get roles (grant does not need to)',
    ]);
    expect(calls.filter((c) => c.method === 'GET').map((c) => c.path)).toEqual([`${RBAC}/namespaces/${NS}/roles/deployer`]);
  });

  it('reports an API server that refuses the credentials, and stops there (the SDK drops a 401 body)', async () => {
    nock(SERVER)
      .post(SSAR)
      .reply(401, { kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401, message: 'Unauthorized' });
    const result = await provider().check(['view']);
    expect(result).toEqual({
      ok: false,
      findings: [{ level: 'fail', what: `cannot ask the API server what the bot may do in namespace ${NS}: Kubernetes answered 401` }],
    });
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });
});
