// Smoke test of the real kube-apiserver + etcd started by tests/infra, through @kubernetes/client-node:
// behaviour a fake would not have (CEL validation, status subresource, optimistic concurrency, SSA field
// ownership, RBAC, webhooks called by the server itself).
import {
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNamespace,
  installCrds,
  isStatus,
  kubeConfig,
  mintToken,
  registerValidatingWebhook,
} from '../../infra/kube.js';
import { upstreamCrdFiles } from '../../infra/upstream-crds.js';
import { makeCert } from '../../infra/pki.js';
import { startKubeControlPlane } from '../../infra/start.js';
import { services } from '../../infra/services.js';

const group = 'smoke.infra.test.ocm.software';
const crd: V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: { size: { type: 'integer' }, min: { type: 'integer' } },
                // client-node model name; serialized as x-kubernetes-validations
                x_kubernetes_validations: [{ rule: 'self.min <= self.size', message: 'min must not exceed size' }],
              },
              status: { type: 'object', properties: { phase: { type: 'string' } } },
            },
          },
        },
      },
    ],
  },
};

interface Widget extends KubernetesObject {
  spec?: { size?: number; min?: number };
  status?: { phase?: string };
}

/** The message of a Kubernetes Status error body, whatever shape client-node handed it over in. */
function statusMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'string') return body;
  return JSON.stringify(body ?? (err as Error).message);
}

describe('kube-apiserver', () => {
  let ns: string;
  const kc = kubeConfig();
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);

  beforeAll(async () => {
    ns = await createNamespace();
    await installCrds([crd]);
  });

  const widget = (name: string, spec: Widget['spec']): Widget => ({
    apiVersion: `${group}/v1`,
    kind: 'Widget',
    metadata: { name, namespace: ns },
    spec,
  });

  it('serves the CRD, enforces its CEL rule with its message', async () => {
    const created = await objects.create(widget('ok', { size: 3, min: 1 }));
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.generation).toBe(1);
    const err = await objects.create(widget('bad', { size: 1, min: 3 })).catch((e: unknown) => e);
    expect(isStatus(err, 422)).toBe(true);
    expect(statusMessage(err)).toContain('min must not exceed size');
  });

  it('patches /status without touching spec or generation', async () => {
    await objects.create(widget('st', { size: 2, min: 0 }));
    const patched = (await custom.patchNamespacedCustomObjectStatus(
      { group, version: 'v1', namespace: ns, plural: 'widgets', name: 'st', body: { status: { phase: 'Ready' }, spec: { size: 99 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as Widget;
    expect(patched.status?.phase).toBe('Ready');
    expect(patched.spec?.size).toBe(2); // spec changes through /status are ignored
    expect(patched.metadata?.generation).toBe(1);
  });

  it('rejects a write with a stale resourceVersion (409)', async () => {
    const first = await objects.create(widget('rv', { size: 1, min: 0 }));
    await objects.replace({ ...first, spec: { size: 2, min: 0 } } as Widget);
    const err = await objects.replace({ ...first, spec: { size: 5, min: 0 } } as Widget).catch((e: unknown) => e);
    expect(isStatus(err, 409)).toBe(true);
    expect(statusMessage(err)).toMatch(/the object has been modified/);
  });

  it('reports a server-side-apply field conflict and lets force take over', async () => {
    const apply = (size: number, manager: string, force: boolean): Promise<Widget> =>
      objects.patch(widget('ssa', { size, min: 0 }), undefined, undefined, manager, force, PatchStrategy.ServerSideApply);
    await apply(1, 'manager-a', false);
    const err = await apply(2, 'manager-b', false).catch((e: unknown) => e);
    expect(isStatus(err, 409)).toBe(true);
    expect(statusMessage(err)).toMatch(/conflict.*manager-a/is);
    const forced = await apply(2, 'manager-b', true);
    expect(forced.spec?.size).toBe(2);
    const owners = forced.metadata?.managedFields?.map((f) => f.manager);
    expect(owners).toContain('manager-b');
  });

  it('installs the upstream CRDs from YAML with their CEL rules intact', async () => {
    const installed = await installCrds(upstreamCrdFiles());
    expect(installed.map((c) => c.metadata?.name)).toEqual(
      expect.arrayContaining(['helmreleases.helm.toolkit.fluxcd.io', 'ocirepositories.source.toolkit.fluxcd.io', 'services.serving.knative.dev']),
    );
    // a HelmRelease with neither chart nor chartRef breaks a CEL rule that only exists in the YAML file
    const err = await objects
      .create({
        apiVersion: 'helm.toolkit.fluxcd.io/v2',
        kind: 'HelmRelease',
        metadata: { name: 'no-chart', namespace: ns },
        spec: { interval: '1m' },
      } as KubernetesObject)
      .catch((e: unknown) => e);
    expect(isStatus(err, 422)).toBe(true);
    expect(statusMessage(err)).toContain('either chart or chartRef must be set');
  });

  it('enforces RBAC for a minted ServiceAccount token', async () => {
    const token = await mintToken(ns, 'nobody');
    const sa = kubeConfig({ token }).makeApiClient(CoreV1Api);
    const err = await sa.listNamespacedConfigMap({ namespace: ns }).catch((e: unknown) => e);
    expect(isStatus(err, 403)).toBe(true);
    expect(statusMessage(err)).toContain(`system:serviceaccount:${ns}:nobody`);
  });

  it('startKubeControlPlane gives a separate, empty API server', async () => {
    const own = await startKubeControlPlane();
    try {
      const isolated = kubeConfig({ kube: own.kube }).makeApiClient(CoreV1Api);
      const names = (await isolated.listNamespace()).items.map((n) => n.metadata?.name);
      expect(names).toContain('default');
      expect(names).not.toContain(ns);
      expect(own.kube.server).not.toBe(services().kube.server);
    } finally {
      await own.stop();
    }
  });

  describe('validating webhook registered by URL', () => {
    let server: Server;
    const seen: { uid: string; name: string; operation: string }[] = [];
    let unregister: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      const cert = await makeCert(services().workDir, 'webhook-smoke', services().ca);
      server = createServer({ cert: await readFile(cert.certFile), key: await readFile(cert.keyFile) }, (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            request: { uid: string; name: string; operation: string };
          };
          const { uid, name, operation } = review.request;
          seen.push({ uid, name, operation });
          const allowed = !name.startsWith('deny-');
          res.setHeader('content-type', 'application/json');
          res.end(
            JSON.stringify({
              apiVersion: 'admission.k8s.io/v1',
              kind: 'AdmissionReview',
              response: { uid, allowed, status: allowed ? undefined : { code: 403, message: `smoke webhook denies ${name}` } },
            }),
          );
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    afterAll(async () => {
      await unregister?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('is called by the apiserver and its denial is returned to the client', async () => {
      const core = kc.makeApiClient(CoreV1Api);
      const addr = server.address();
      if (!addr || typeof addr === 'string') throw new Error('webhook server has no port');
      let n = 0;
      unregister = await registerValidatingWebhook({
        name: `smoke-${ns}`,
        url: `https://127.0.0.1:${addr.port}/validate`,
        caBundle: await readFile(services().ca.certFile, 'utf8'),
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
        calledProbe: async () => {
          const err = await core
            .createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `deny-probe-${n++}` } } })
            .then(() => undefined, (e: unknown) => e);
          return err !== undefined && statusMessage(err).includes('smoke webhook denies');
        },
      });
      const allowed = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'fine' }, data: { a: '1' } } });
      expect(allowed.metadata?.uid).toBeTruthy();
      const err = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'deny-me' } } }).catch((e: unknown) => e);
      expect(isStatus(err, 403)).toBe(true);
      expect(statusMessage(err)).toContain('smoke webhook denies deny-me');
      expect(seen.map((s) => s.name)).toEqual(expect.arrayContaining(['fine', 'deny-me']));
      expect(seen.every((s) => s.operation === 'CREATE' && s.uid.length > 0)).toBe(true);
    });
  });
});
