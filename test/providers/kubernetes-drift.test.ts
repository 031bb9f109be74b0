/**
 * `KubernetesRbacProvider.listGranted` through the real `@kubernetes/client-node` against a nocked API server:
 * the list call carries the `managed-by=accessbot` label selector and pages with `continue`, the request id
 * comes from the `accessbot/request` label, and only bindings our revoke can name are reported.
 */
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bindingName, type KubernetesRbacProviderOptions } from '../../src/providers/kubernetes-rbac.js';
import { PermanentProviderError } from '../../src/use-cases/ports.js';
import { K8S_NAMESPACE as NS, K8S_SERVER as SERVER, RBAC_API as RBAC, rbacProvider } from '../support/kube.js';

const TOKEN = 'fake-bearer-token-drift-0123';
const SELECTOR = 'app.kubernetes.io/managed-by=accessbot';

const apiServer = () => nock(SERVER, { reqheaders: { authorization: `Bearer ${TOKEN}` } });
const provider = (options: Partial<KubernetesRbacProviderOptions> = {}) => rbacProvider(TOKEN, options);

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  try {
    expect(nock.pendingMocks()).toEqual([]);
  } finally {
    nock.cleanAll();
  }
});
afterAll(() => nock.enableNetConnect());

const subject = (name: string, kind = 'User') => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name });

/** A binding as the provider's grant writes it; `over` changes what a person or another tool changed. */
function binding(requestId: string, role: string, subjects = [subject('alice@example.com')], over: { name?: string; labels?: Record<string, string> } = {}) {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: {
      name: over.name ?? bindingName(requestId, role),
      namespace: NS,
      labels: over.labels ?? { 'app.kubernetes.io/managed-by': 'accessbot', 'accessbot/request': requestId },
      annotations: { 'accessbot/expires-at': '2030-01-02T03:04:05.000Z' },
    },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects,
  };
}

const list = (items: unknown[], next?: string) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBindingList', metadata: next ? { continue: next } : {}, items });

describe('KubernetesRbacProvider.listGranted', () => {
  it('lists our bindings by label, with the request from the accessbot/request label', async () => {
    apiServer()
      .get(`${RBAC}/namespaces/${NS}/rolebindings`)
      .query((q) => q.labelSelector === SELECTOR)
      .reply(200, list([
        binding('req_abc2345678', 'view'),
        binding('req_def2345678', 'edit', [subject('bob@example.com'), subject('oncall', 'Group')]),
        // Our labels copied onto a binding of another name: our revoke could not remove it.
        binding('req_abc2345678', 'admin', undefined, { name: 'copied-by-hand' }),
        // Managed by us, but no request label: nothing to judge it by, nothing to name it with.
        binding('req_ghi2345678', 'view', undefined, { labels: { 'app.kubernetes.io/managed-by': 'accessbot' } }),
      ]));

    expect(await provider().listGranted()).toEqual([
      { principal: 'alice@example.com', grant: 'view', requestId: 'req_abc2345678' },
      { principal: 'bob@example.com', grant: 'edit', requestId: 'req_def2345678' },
    ]);
  });

  it('follows continue tokens, and lists ClusterRoleBindings without a namespace', async () => {
    apiServer()
      .get(`${RBAC}/clusterrolebindings`)
      .query((q) => q.labelSelector === SELECTOR && q.continue === undefined)
      .reply(200, list([binding('req_one2345678', 'view')], 'page-2'))
      .get(`${RBAC}/clusterrolebindings`)
      .query((q) => q.labelSelector === SELECTOR && q.continue === 'page-2')
      .reply(200, list([binding('req_two2345678', 'view', [subject('carol@example.com')])]));

    expect(await provider({ namespace: undefined }).listGranted()).toEqual([
      { principal: 'alice@example.com', grant: 'view', requestId: 'req_one2345678' },
      { principal: 'carol@example.com', grant: 'view', requestId: 'req_two2345678' },
    ]);
  });

  it('what it lists, revoke removes: the binding of that request and role, by name', async () => {
    const requestId = 'req_abc2345678';
    apiServer()
      .get(`${RBAC}/namespaces/${NS}/rolebindings`)
      .query(true)
      .reply(200, list([binding(requestId, 'view')]))
      .delete(`${RBAC}/namespaces/${NS}/rolebindings/${bindingName(requestId, 'view')}`)
      .reply(200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
    const p = provider();

    const [object] = await p.listGranted();
    await p.revoke({ requestId: object!.requestId!, principal: object!.principal, grants: [object!.grant], expiresAt: new Date() });
  });

  it('a bot without list on the bindings gets a permanent error that says so', async () => {
    apiServer()
      .get(`${RBAC}/namespaces/${NS}/rolebindings`)
      .query(true)
      .reply(403, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Forbidden',
        code: 403,
        message: 'rolebindings.rbac.authorization.k8s.io is forbidden: User "system:serviceaccount:accessbot:accessbot" cannot list resource "rolebindings"',
      });

    const listing = provider().listGranted();
    await expect(listing).rejects.toBeInstanceOf(PermanentProviderError);
    await expect(listing).rejects.toThrow(/cannot list the bindings labelled app\.kubernetes\.io\/managed-by=accessbot in namespace payments: Kubernetes answered 403 Forbidden/);
  });
});
