/**
 * RBAC proof against the real kube-apiserver (authorization-mode RBAC): the shipped ServiceAccounts,
 * ClusterRoles and bindings are created as rendered, a token is minted per function (TokenRequest),
 * and with each token the test makes the API calls that function makes (allowed) and calls it must
 * not make (403). The allowed calls go through the project's own KubeClient (shared/kube), the
 * client the functions use, so its real verbs (server-side apply, merge-patched status and
 * finalizers, events.k8s.io Events) are what is authorized. Objects are the shared example corpus.
 */
import { readFileSync } from 'node:fs';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError, KubeClient } from '../../../shared/kube/index.js';
import type { FluxOCIRepository, SchemaObject } from '../../../shared/kube/types.js';
import { MediaType } from '../../../shared/oci/media-types.js';
import { createNamespace, kubeConfig } from '../../infra/kube.js';
import { services } from '../../infra/services.js';
import {
  validComponent,
  validConfiguration,
  validPublication,
  validRepository,
  validResource,
  validSnapshot,
} from '../../fixtures/kube/corpus.js';
import { functionKubeConfig, installShippedRbac, TENANT_NAMESPACE, type Identity } from './rbac-fixture.js';
import { GROUP, VERSION } from '../../../shared/kube/index.js';

const NS = TENANT_NAMESPACE;
/** A namespace that did not opt in: no tenant RoleBindings there. */
const OTHER_NS = 'ocm-rbac-other';
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
function nameOf(o: { metadata: { name?: string } }): string {
  if (!o.metadata.name) throw new Error('corpus object without a name');
  return o.metadata.name;
}
const R = nameOf(validResource);
const C = nameOf(validComponent);
const CFG = nameOf(validConfiguration);
const PUB = nameOf(validPublication);
const REPO = nameOf(validRepository);
const SNAP = nameOf(validSnapshot);

interface Clients {
  co: CustomObjectsApi;
  core: CoreV1Api;
  events: EventsV1Api;
  kc: KubeConfig;
  /** the functions' own client (shared/kube), authenticated as the function */
  kube: KubeClient;
}
type Op = [name: string, run: (c: Clients) => Promise<unknown>];

function clients(kc: KubeConfig): Clients {
  return {
    co: kc.makeApiClient(CustomObjectsApi),
    core: kc.makeApiClient(CoreV1Api),
    events: kc.makeApiClient(EventsV1Api),
    kc,
    kube: new KubeClient(kc, { fieldManager: 'ocm-knative-rbac-test', maxConflictRetries: 3 }),
  };
}

const obj = (plural: string, name: string, namespace = NS) => ({ group: GROUP, version: VERSION, namespace, plural, name });

let componentUid = '';
const kubeConfigAdmin = () => clients(kubeConfig());

function snapshotBody(name: string) {
  return {
    ...structuredClone(validSnapshot),
    metadata: {
      name,
      namespace: NS,
      ownerReferences: [{ apiVersion: `${GROUP}/${VERSION}`, kind: 'Component', name: C, uid: componentUid, controller: true, blockOwnerDeletion: true }],
    },
  };
}

/**
 * What a producing stage does with its own Snapshot, through KubeClient: server-side apply (create,
 * then change), finalizer add/remove, status, list across namespaces, delete.
 */
function snapshotLifecycle(stage: string): Op {
  return [
    'Snapshot apply/get/list/finalizers/status/delete (KubeClient)',
    async ({ kube }) => {
      const name = `${stage}-probe-${Date.now().toString(36)}`;
      const body = snapshotBody(name) as unknown as Parameters<KubeClient['apply']>[0];
      await kube.apply(body);
      const finalizers = ['serverless.ocm.software/registry-cleanup'];
      await kube.apply({ ...body, metadata: { ...body.metadata, finalizers } });
      const withAnnotation = { ...body, metadata: { ...body.metadata, finalizers, annotations: { 'serverless.ocm.software/input-digest': 'sha256:0' } } };
      await kube.apply(withAnnotation as typeof body);
      await kube.updateStatus('Snapshot', NS, name, () => ({
        repositoryURL: 'https://zot.example/x',
        conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'ok', lastTransitionTime: new Date().toISOString() }],
      }) as never);
      const listed = await kube.list('Snapshot', undefined);
      if (!listed.some((o) => o.metadata.name === name)) throw new Error('own snapshot not listed');
      if (!(await kube.find('Snapshot', NS, name))) throw new Error('own snapshot not found');
      await kube.removeFinalizer('Snapshot', NS, name, 'serverless.ocm.software/registry-cleanup');
      if (!(await kube.delete('Snapshot', NS, name))) throw new Error('delete found nothing');
    },
  ];
}

function statusPatch(kind: 'OCMRepository' | 'Component' | 'Resource' | 'Configuration' | 'Publication', name: string): Op {
  return [
    `${kind} status patch (KubeClient.updateStatus)`,
    ({ kube }) =>
      kube.updateStatus(kind, NS, name, () => ({
        observedGeneration: 1,
        conditions: [{ type: 'Ready', status: 'False', reason: 'Progressing', message: `rbac probe ${Date.now()}`, lastTransitionTime: new Date().toISOString() }],
      }) as never),
  ];
}

const coreEvent: Op = [
  'core/v1 Event create',
  ({ core }) =>
    core.createNamespacedEvent({
      namespace: NS,
      body: {
        metadata: { generateName: 'rbac-probe-' },
        involvedObject: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Component', name: C, namespace: NS },
        reason: 'Probe',
        message: 'rbac probe',
        type: 'Normal',
        source: { component: 'rbac-test' },
      },
    }),
];
const recordEvent: Op = [
  'events.k8s.io/v1 Event create (KubeClient.recordEvent)',
  async ({ kube }) => {
    const regarding = (await kubeConfigAdmin().co.getNamespacedCustomObject(obj('components', C))) as SchemaObject;
    await kube.recordEvent(regarding, { type: 'Normal', reason: 'Probe', note: 'rbac probe', action: 'Probe' });
  },
];
const get = (plural: string, name: string, ns = NS): Op => [`${plural} get (${ns})`, ({ co }) => co.getNamespacedCustomObject(obj(plural, name, ns))];
const listAll = (plural: string): Op => [`${plural} list (all namespaces)`, ({ co }) => co.listClusterCustomObject({ group: GROUP, version: VERSION, plural })];
const secret = (ns: string): Op => [`Secret get (${ns})`, ({ core }) => core.readNamespacedSecret({ namespace: ns, name: 'ghcr-pull' })];
const dockerConfig: Op = ['dockerconfigjson Secret read (KubeClient.getSecret)', ({ kube }) => kube.getSecret(NS, 'ghcr-pull')];
const configMapViaClient: Op = ['ConfigMap read (KubeClient.getConfigMap)', ({ kube }) => kube.getConfigMap(NS, 'prod-values')];
const secretList: Op = ['Secret list (tenant)', ({ core }) => core.listNamespacedSecret({ namespace: NS })];
const configMap = (ns: string): Op => [`ConfigMap get (${ns})`, ({ core }) => core.readNamespacedConfigMap({ namespace: ns, name: 'prod-values' })];
const deleteComponent: Op = ['Component delete', ({ co }) => co.deleteNamespacedCustomObject(obj('components', C))];
const patchSpec = (plural: string, name: string): Op => [
  `${plural} spec patch`,
  ({ co }) => co.patchNamespacedCustomObject({ ...obj(plural, name), body: { spec: { suspend: true } } }, merge),
];
const createSnapshot: Op = [
  'Snapshot create',
  ({ co }) => co.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: 'snapshots', body: snapshotBody(`denied-${Date.now().toString(36)}`) }),
];

const OCIREPO = { group: 'source.toolkit.fluxcd.io', version: 'v1', namespace: NS, plural: 'ocirepositories' };
const ociRepoBody = (name: string) => ({
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'OCIRepository',
  metadata: { name, namespace: NS },
  spec: {
    url: 'oci://zot.ocm-knative-registry.svc:5000/ocm-tenant/configuration/podinfo-chart-prod',
    ref: { digest: `sha256:${'c'.repeat(64)}` },
    interval: '10m',
    layerSelector: { mediaType: MediaType.HelmChart, operation: 'copy' },
    certSecretRef: { name: 'ocm-knative-registry-ca' },
    secretRef: { name: 'ocm-knative-registry-pull' },
  },
});
const ociRepoLifecycle: Op = [
  'OCIRepository apply/get/re-apply/delete (KubeClient)',
  async ({ kube }) => {
    const name = `publish-probe-${Date.now().toString(36)}`;
    const body = ociRepoBody(name) as unknown as FluxOCIRepository;
    await kube.apply(body);
    if (!(await kube.find('OCIRepository', NS, name))) throw new Error('own OCIRepository not found');
    await kube.apply({ ...body, spec: { ...body.spec, ref: { digest: `sha256:${'d'.repeat(64)}` } } });
    if (!(await kube.delete('OCIRepository', NS, name))) throw new Error('delete found nothing');
  },
];
const ociRepoCreate: Op = ['OCIRepository create', ({ co }) => co.createNamespacedCustomObject({ ...OCIREPO, body: ociRepoBody(`denied-${Date.now().toString(36)}`) })];
const ociRepoList: Op = ['OCIRepository list (all namespaces, KubeClient)', ({ kube }) => kube.list('OCIRepository', undefined)];

/** Raw watch request (what the ApiServerSource adapter's informer does). */
function watch(plural: string): Op {
  return [
    `${plural} watch`,
    async ({ kc }) => {
      const kube = services().kube;
      const token = kc.getCurrentUser()?.token ?? '';
      const dispatcher = new Agent({ connect: { ca: readFileSync(kube.caFile) } });
      const res = await request(`${kube.server}/apis/${GROUP}/${VERSION}/${plural}?watch=1&timeoutSeconds=1`, {
        headers: { authorization: `Bearer ${token}` },
        dispatcher,
      });
      // the verdict is the status line; an allowed watch would otherwise hold the connection for its timeout
      res.body.on('error', () => undefined).destroy();
      await dispatcher.destroy();
      if (res.statusCode !== 200) throw new ApiException(res.statusCode, `watch ${plural}`, undefined, {});
    },
  ];
}


/** list + watch of every kind a function reads: its read cache (functions/adapters/cached-kube.ts). */
const cacheOf = (...plurals: string[]): Op[] => plurals.flatMap((p) => [listAll(p), watch(p)]);

const MATRIX: Record<Identity, { allowed: Op[]; denied: Op[] }> = {
  descriptor: {
    allowed: [
      get('components', C), statusPatch('Component', C),
      get('ocmrepositories', REPO), statusPatch('OCMRepository', REPO),
      ...cacheOf('components', 'ocmrepositories', 'snapshots'),
      snapshotLifecycle('descriptor'), recordEvent, dockerConfig,
    ],
    denied: [deleteComponent, patchSpec('components', C), secretList, secret(OTHER_NS), configMap(NS), ociRepoCreate, get('resources', R), watch('resources'), coreEvent],
  },
  resource: {
    allowed: [get('resources', R), statusPatch('Resource', R), get('components', C), get('ocmrepositories', REPO), ...cacheOf('resources', 'components', 'ocmrepositories', 'snapshots'), snapshotLifecycle('resource'), recordEvent, dockerConfig],
    denied: [listAll('configurations'), watch('publications'), statusPatch('Component', C), patchSpec('resources', R), secret(OTHER_NS), configMap(NS), deleteComponent],
  },
  configure: {
    allowed: [get('configurations', CFG), statusPatch('Configuration', CFG), get('resources', R), get('components', C), ...cacheOf('configurations', 'resources', 'components', 'snapshots'), snapshotLifecycle('configure'), recordEvent, configMapViaClient],
    denied: [secret(NS), configMap(OTHER_NS), statusPatch('Resource', R), ociRepoCreate, deleteComponent, watch('publications'), listAll('ocmrepositories')],
  },
  publish: {
    allowed: [get('publications', PUB), statusPatch('Publication', PUB), get('resources', R), get('configurations', CFG), get('snapshots', SNAP), ...cacheOf('publications', 'resources', 'configurations', 'snapshots'), ociRepoLifecycle, ociRepoList, recordEvent, dockerConfig],
    // The example: publish cannot delete Components.
    denied: [deleteComponent, createSnapshot, listAll('components'), watch('ocmrepositories'), patchSpec('publications', PUB), secret(OTHER_NS), configMap(NS)],
  },
  webhook: {
    allowed: [get('ocmrepositories', REPO), get('components', C), get('resources', R), get('configurations', CFG), configMap(NS)],
    denied: [listAll('components'), get('snapshots', SNAP), secret(NS), statusPatch('Component', C), recordEvent, configMap(OTHER_NS)],
  },
  apiserversource: {
    allowed: (['ocmrepositories', 'components', 'resources', 'configurations', 'publications', 'snapshots'] as const).flatMap((p) => [listAll(p), watch(p)]),
    denied: [secret(NS), patchSpec('components', C), statusPatch('Component', C), ociRepoList],
  },
};

describe('shipped RBAC, exercised with minted ServiceAccount tokens', () => {
  beforeAll(async () => {
    await installShippedRbac();
    const admin = clients(kubeConfig());
    await createNamespace(OTHER_NS);
    const create = async (plural: string, body: { metadata: { name?: string } }) => {
      try {
        await admin.co.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural, body: { ...structuredClone(body), metadata: { ...body.metadata, namespace: NS } } });
      } catch (e) {
        if (!(e instanceof ApiException && e.code === 409)) throw e;
      }
    };
    await create('ocmrepositories', validRepository);
    await create('components', validComponent);
    await create('resources', validResource);
    await create('configurations', validConfiguration);
    await create('publications', validPublication);
    componentUid = ((await admin.co.getNamespacedCustomObject(obj('components', C))) as { metadata: { uid: string } }).metadata.uid;
    await create('snapshots', snapshotBody(SNAP));
    for (const ns of [NS, OTHER_NS]) {
      for (const fn of [
        () => admin.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'ghcr-pull' }, type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': '{"auths":{}}' } } }),
        () => admin.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'prod-values' }, data: { 'values.yaml': 'replicaCount: 2\n' } } }),
      ]) {
        try {
          await fn();
        } catch (e) {
          if (!(e instanceof ApiException && e.code === 409)) throw e;
        }
      }
    }
  });

  for (const [id, { allowed, denied }] of Object.entries(MATRIX) as [Identity, (typeof MATRIX)[Identity]][]) {
    describe(id, () => {
      let c: Clients;
      beforeAll(async () => {
        c = clients(await functionKubeConfig(id));
      });
      for (const [name, run] of allowed) {
        it(`allowed: ${name}`, async () => {
          await expect(run(c)).resolves.not.toThrow();
        });
      }
      for (const [name, run] of denied) {
        it(`denied: ${name}`, async () => {
          const err = await run(c).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err, `${id} was allowed to do: ${name}`).toBeDefined();
          const code = err instanceof ForbiddenError ? 403 : err instanceof ApiException ? err.code : String(err);
          expect(code, String(err)).toBe(403);
        });
      }
    });
  }

  it('the token really is the ServiceAccount (not the admin): SelfSubjectReview names it', async () => {
    const kc = await functionKubeConfig('publish');
    const server = services().kube.server;
    const res = await request(`${server}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
      method: 'POST',
      headers: { authorization: `Bearer ${kc.getCurrentUser()?.token ?? ''}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
      dispatcher: new Agent({ connect: { ca: readFileSync(services().kube.caFile) } }),
    });
    const body = (await res.body.json()) as { status: { userInfo: { username: string } } };
    expect(res.statusCode).toBe(201);
    expect(body.status.userInfo.username).toBe('system:serviceaccount:ocm-knative-system:ocm-knative-publish');
  });
});
