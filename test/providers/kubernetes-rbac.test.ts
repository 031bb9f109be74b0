/**
 * The Kubernetes RBAC provider through the real `@kubernetes/client-node` 1.4 against a nocked API server
 * (`https://k8s.test:6443`, bearer token from a `loadFromOptions` kubeconfig). A small stateful fake of the
 * rbac.authorization.k8s.io/v1 binding endpoints answers as the API server does: 201 or 409 AlreadyExists on
 * create, 404 NotFound on read and delete of a missing binding, 422 Invalid for a bad name. Nothing leaves
 * the machine.
 */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { describeProviderContract } from './contract.js';
import {
  bindingName,
  KubernetesRbacProvider,
  kubernetesProvider,
  type KubernetesRbacProviderOptions,
} from '../../src/providers/kubernetes-rbac.js';
import { PermanentProviderError, type GrantTarget } from '../../src/use-cases/ports.js';
import { K8S_NAMESPACE as NS, K8S_SERVER as SERVER, RBAC_API as RBAC, rbacProvider } from '../support/kube.js';
import { useNock } from '../support/nock-scopes.js';

const TOKEN = 'fake-bearer-token-0123456789';
const ROLEBINDINGS = `${RBAC}/namespaces/${NS}/rolebindings`;
const CLUSTERROLEBINDINGS = `${RBAC}/clusterrolebindings`;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const { track } = useNock();
/** Every request must carry the kubeconfig's bearer token, or it matches nothing and fails. */
function apiServer(): nock.Scope {
  return track(nock(SERVER, { reqheaders: { authorization: `Bearer ${TOKEN}` } }));
}

function provider(options: Partial<KubernetesRbacProviderOptions> = {}): KubernetesRbacProvider {
  return rbacProvider(TOKEN, options);
}

let n = 0;
const target = (grants: string[], principal = 'alice@example.com'): GrantTarget => ({
  requestId: `req_k8s${(n++).toString(36)}`,
  principal,
  grants,
  expiresAt: new Date('2030-01-02T03:04:05.000Z'),
});

const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });

interface Binding {
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects: { apiGroup: string; kind: string; name: string }[];
}

/** RoleBindings (or ClusterRoleBindings) of one namespace, as the API server keeps them. */
class FakeBindings {
  readonly byName = new Map<string, Binding>();

  constructor(collection: string) {
    const item = new RegExp(`^${collection}/([^/?]+)$`);
    const api = apiServer().persist();
    api
      .post(collection)
      .optionally()
      .reply((_uri, body) => {
        const binding = body as Binding;
        const { name } = binding.metadata;
        if (!DNS_LABEL.test(name)) return [422, status(422, 'Invalid', `metadata.name: Invalid value: "${name}"`)];
        if (this.byName.has(name)) return [409, status(409, 'AlreadyExists', `rolebindings.rbac.authorization.k8s.io "${name}" already exists`)];
        this.byName.set(name, binding);
        return [201, binding];
      });
    api
      .get((p) => item.test(p))
      .optionally()
      .reply((uri) => {
        const name = item.exec(uri)![1]!;
        const binding = this.byName.get(name);
        return binding ? [200, binding] : [404, status(404, 'NotFound', `rolebindings.rbac.authorization.k8s.io "${name}" not found`)];
      });
    api
      .delete((p) => item.test(p))
      .optionally()
      .reply((uri) => {
        const name = item.exec(uri)![1]!;
        if (!this.byName.delete(name)) return [404, status(404, 'NotFound', `rolebindings.rbac.authorization.k8s.io "${name}" not found`)];
        return [200, { kind: 'Status', apiVersion: 'v1', status: 'Success' }];
      });
  }
}

describeProviderContract('kubernetes (RoleBinding)', () => {
  new FakeBindings(ROLEBINDINGS);
  return {
    provider: provider(),
    principal: 'alice@example.com',
    grants: ['view', 'edit'],
    perGrantObjects: true,
    hostile: { principal: `d'Artagnan "; --`, grant: `view"; rm -rf /` },
  };
});

describeProviderContract('kubernetes (ClusterRoleBinding)', () => {
  new FakeBindings(CLUSTERROLEBINDINGS);
  return {
    provider: provider({ namespace: undefined }),
    principal: 'oidc:alice',
    grants: ['view', 'system:aggregate-to-view'],
    perGrantObjects: true,
    hostile: { principal: 'Ünïcode 🔑 user', grant: '../../namespaces/kube-system' },
  };
});

describe('binding names', () => {
  it('are DNS-1123 labels of at most 63 characters, stable, and different per request and grant', () => {
    const name = bindingName('req_abc23', 'view');
    expect(name).toMatch(/^jit-req-abc23-[0-9a-f]{12}$/);
    expect(bindingName('req_abc23', 'view')).toBe(name);
    const long = bindingName(`req_${'x'.repeat(80)}`, 'system:aggregate-to-view');
    for (const n of [name, long, bindingName('REQ__', 'a'), bindingName('_', 'b')]) {
      expect(n).toMatch(DNS_LABEL);
      expect(n.length).toBeLessThanOrEqual(63);
    }
    // Ids that read the same once lower-cased and slugged still get different names.
    expect(new Set([name, bindingName('req_abc23', 'edit'), bindingName('req-abc23', 'view'), bindingName('req_abc24', 'view')]).size).toBe(4);
  });
});

describe('kubernetes provider on the wire', () => {
  it('creates a RoleBinding with our name, labels, expiry annotation, roleRef and subject', async () => {
    const t = target(['view']);
    let sent: unknown;
    const scope = apiServer()
      .post(ROLEBINDINGS, (body) => {
        sent = body;
        return true;
      })
      .reply(201, {});
    await provider({ subjectKind: 'Group' }).grant({ ...t, principal: 'sre-oncall' });
    expect(sent).toEqual({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: {
        name: bindingName(t.requestId, 'view'),
        namespace: NS,
        labels: { 'app.kubernetes.io/managed-by': 'accessbot', 'accessbot/request': t.requestId },
        annotations: { 'accessbot/expires-at': '2030-01-02T03:04:05.000Z' },
      },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'sre-oncall' }],
    });
    scope.done();
  });

  it('creates a ClusterRoleBinding when no namespace is set', async () => {
    const t = target(['view']);
    const scope = apiServer()
      .post(CLUSTERROLEBINDINGS, (body: Binding) => body.kind === 'ClusterRoleBinding' && !('namespace' in body.metadata))
      .reply(201, {});
    await provider({ namespace: undefined }).grant(t);
    scope.done();
  });

  it('treats 409 AlreadyExists as granted once the existing binding is ours', async () => {
    const t = target(['view']);
    const name = bindingName(t.requestId, 'view');
    const ours = {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: t.principal }],
    };
    const scope = apiServer()
      .post(ROLEBINDINGS)
      .reply(409, status(409, 'AlreadyExists', `rolebindings.rbac.authorization.k8s.io "${name}" already exists`))
      .get(`${ROLEBINDINGS}/${name}`)
      .reply(200, ours);
    await provider().grant(t);
    scope.done();
  });

  it('refuses a 409 whose existing binding grants something else', async () => {
    const t = target(['view']);
    const name = bindingName(t.requestId, 'view');
    const scope = apiServer()
      .post(ROLEBINDINGS)
      .reply(409, status(409, 'AlreadyExists', 'already exists'))
      .get(`${ROLEBINDINGS}/${name}`)
      .reply(200, { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' }, subjects: [] });
    await expect(provider().grant(t)).rejects.toBeInstanceOf(PermanentProviderError);
    scope.done();
  });

  it('treats 404 on delete as revoked', async () => {
    const t = target(['view', 'edit']);
    const scope = apiServer()
      .delete(`${ROLEBINDINGS}/${bindingName(t.requestId, 'view')}`)
      .reply(404, status(404, 'NotFound', 'not found'))
      .delete(`${ROLEBINDINGS}/${bindingName(t.requestId, 'edit')}`)
      .reply(200, { kind: 'Status', status: 'Success' });
    await provider().revoke(t);
    scope.done();
  });

  it('refuses 403 (escalation prevention, no right) as permanent with the server message, retries 5xx', async () => {
    const t = target(['cluster-admin']);
    const forbidden = 'rolebindings.rbac.authorization.k8s.io "x" is forbidden: user "system:serviceaccount:accessbot:bot" is attempting to grant RBAC permissions not currently held';
    const scope = apiServer()
      .post(ROLEBINDINGS)
      .reply(403, status(403, 'Forbidden', forbidden))
      .post(ROLEBINDINGS)
      .reply(503, status(503, 'ServiceUnavailable', 'etcd is busy'));
    const p = provider();
    const denied = await p.grant(t).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermanentProviderError);
    expect((denied as Error).message).toContain('403 Forbidden: rolebindings');
    expect((denied as Error).message).not.toContain(TOKEN);
    const busy = await p.grant(t).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(Error);
    expect(busy).not.toBeInstanceOf(PermanentProviderError);
    scope.done();
  });

  it('refuses a hostile grant name as permanent before any request', async () => {
    const scope = apiServer(); // no interceptor: any request would fail the test
    const p = provider();
    for (const grant of ['view/../../secrets', 'view?dryRun=All', 'view%2F', '', ' view', 'a'.repeat(254)]) {
      await expect(p.grant(target([grant]))).rejects.toBeInstanceOf(PermanentProviderError);
      await expect(p.revoke(target([grant]))).rejects.toBeInstanceOf(PermanentProviderError);
      await expect(p.held(target([grant]))).rejects.toBeInstanceOf(PermanentProviderError);
    }
    await expect(p.grant(target(['view'], 'alice\nbob'))).rejects.toBeInstanceOf(PermanentProviderError);
    scope.done();
  });

  it('reports as held only a binding that still names the grant and the principal', async () => {
    const t = target(['view', 'edit']);
    const scope = apiServer()
      .get(`${ROLEBINDINGS}/${bindingName(t.requestId, 'view')}`)
      .reply(200, {
        metadata: { name: 'x' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'mallory@example.com' }],
      })
      .get(`${ROLEBINDINGS}/${bindingName(t.requestId, 'edit')}`)
      .reply(404, status(404, 'NotFound', 'not found'));
    expect(await provider().held(t)).toEqual([]);
    scope.done();
  });
});

describe('kubernetes provider definition', () => {
  it('names the kubeconfig variable, and refuses a missing variable or file without echoing a value', () => {
    const settings = { kubeconfig: { env: 'PROD_KUBECONFIG' }, namespace: NS };
    expect(kubernetesProvider.envNames(settings)).toEqual([{ setting: 'kubeconfig.env', variable: 'PROD_KUBECONFIG' }]);
    expect(() => kubernetesProvider.create(settings, {}, 'resources.k8s')).toThrow('resources.k8s.kubeconfig.env: environment variable PROD_KUBECONFIG is not set');
    expect(() => kubernetesProvider.create(settings, { PROD_KUBECONFIG: '/nonexistent/secret-path' }, 'resources.k8s')).toThrow(/names a file that does not exist/);
    expect(() => kubernetesProvider.create({ role_kind: 'Role' }, {}, 'resources.k8s')).toThrow(/resources\.k8s\.role_kind: Role needs a namespace/);
  });

  it('loads a kubeconfig given as content on first use', async () => {
    const content = [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: c, cluster: { server: "https://k8s.test:6443", insecure-skip-tls-verify: true } }]',
      `users: [{ name: bot, user: { token: ${TOKEN} } }]`,
      'contexts: [{ name: ctx, context: { cluster: c, user: bot } }]',
      'current-context: ctx',
    ].join('\n');
    const built = kubernetesProvider.create({ kubeconfig: { env: 'KC' }, namespace: NS }, { KC: content }, 'resources.k8s');
    const t = target(['view']);
    const scope = apiServer().get(`${ROLEBINDINGS}/${bindingName(t.requestId, 'view')}`).reply(404, status(404, 'NotFound', 'not found'));
    expect(await built.held(t)).toEqual([]);
    scope.done();
  });

  it('refuses a kubeconfig that cannot be loaded as permanent, without its content', async () => {
    const secret = 'token: s3cr3t-do-not-echo\n: : not yaml [';
    const built = kubernetesProvider.create({ kubeconfig: { env: 'KC' } }, { KC: secret }, 'resources.k8s');
    const error = await built.held(target(['view'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect((error as Error).message).toBe('the kubeconfig named by KC cannot be loaded');
  });
});
