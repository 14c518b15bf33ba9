/**
 * KubeClient against a real kube-apiserver: status through the subresource without lost updates under
 * concurrent writers, generation untouched by status writes, SSA, finalizers, events, Secrets/ConfigMaps,
 * Flux OCIRepository, and typed errors carrying the server's message.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CoreV1Api, setHeaderOptions } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  isReadyCurrent,
  KubeClient,
  loadKubeConfig,
  NotFoundError,
  toKubeError,
  UnauthorizedError,
  withReady,
  type Component,
  type FluxOCIRepository,
  type Snapshot,
} from '../../../shared/kube/index.js';
import { MediaType } from '../../../shared/oci/media-types.js';
import { ownerReference } from '../../../shared/stagekit/snapshots.js';
import { snapshotName } from '../../../shared/stagekit/names.js';
import { createNamespace, installCrds, kubeConfig, mintToken } from '../../infra/kube.js';
import { createObject, getObject } from '../../support/kube-objects.js';
import { services } from '../../infra/services.js';
import { upstreamCrdFiles } from '../../infra/upstream-crds.js';
import { validComponent, validSnapshot } from '../../fixtures/kube/corpus.js';

const ROOT = resolve(import.meta.dirname, '../../..');
/** a finalizer of this test's own (the functions' is SNAPSHOT_FINALIZER, on Snapshots) */
const FINALIZER = 'serverless.ocm.software/test-cleanup';
let kube: KubeClient;
let core: CoreV1Api;
let ns: string;

async function freshComponent(name: string): Promise<Component> {
  const c = structuredClone(validComponent);
  c.metadata = { name, namespace: ns };
  return createObject(kube, c);
}

beforeAll(async () => {
  await installCrds([resolve(ROOT, 'knative/crds'), ...upstreamCrdFiles('source.toolkit.fluxcd.io')]);
  kube = new KubeClient(kubeConfig(), { fieldManager: 'test-client' });
  core = kubeConfig().makeApiClient(CoreV1Api);
  ns = await createNamespace();
});

describe('status updates', () => {
  it('concurrent writers doing read-modify-write lose no update (409s retried with a fresh read), and generation does not move', async () => {
    await freshComponent('contended');
    const a = new KubeClient(kubeConfig(), { fieldManager: 'writer-a' });
    const b = new KubeClient(kubeConfig(), { fieldManager: 'writer-b' });
    const c = new KubeClient(kubeConfig(), { fieldManager: 'writer-c', maxConflictRetries: 50 });
    const N = 12;
    const bump = (w: KubeClient, field: 'a' | 'b') => async () => {
      for (let i = 0; i < N; i++) {
        await w.updateStatus('Component', ns, 'contended', (cur) => ({
          ...cur.status,
          // observedGeneration doubles as a shared counter here: every increment must survive
          observedGeneration: (cur.status?.observedGeneration ?? 0) + 1,
          ...(field === 'a' ? { component: { name: 'ocm.software/podinfo', version: `6.0.${i}` } } : { snapshotRef: { name: `snap-${i}` } }),
        }));
      }
    };
    // a third writer that only touches conditions, to make collisions likely
    const third = async () => {
      for (let i = 0; i < N; i++) {
        await c.updateStatus('Component', ns, 'contended', (cur) => ({
          ...cur.status,
          conditions: withReady(cur.status?.conditions, { status: i % 2 ? 'True' : 'False', reason: 'Progressing', message: `round ${i}`, observedGeneration: 1 }),
        }));
      }
    };
    await Promise.all([bump(a, 'a')(), bump(b, 'b')(), third()]);
    const end = await getObject(kube, 'Component', ns, 'contended');
    console.log(`concurrent status writers: ${3 * N} updates, ${a.conflictRetries + b.conflictRetries + c.conflictRetries} conflicts retried`);
    expect(end.status?.observedGeneration).toBe(2 * N);
    expect(end.status?.conditions?.[0]?.message).toBe(`round ${N - 1}`);
    expect(end.status?.component?.version).toBe(`6.0.${N - 1}`);
    expect(end.status?.snapshotRef?.name).toBe(`snap-${N - 1}`);
    expect(end.metadata.generation).toBe(1);
  });

  it('a write based on a stale read is refused (409 ConflictError), which is what the guard retries on', async () => {
    const c = await freshComponent('stale');
    await kube.updateStatus('Component', ns, 'stale', () => ({ observedGeneration: 1 }));
    const err = await kube.custom
      .patchNamespacedCustomObjectStatus(
        { group: 'serverless.ocm.software', version: 'v1alpha1', namespace: ns, plural: 'components', name: 'stale', body: { metadata: { resourceVersion: c.metadata.resourceVersion }, status: { observedGeneration: 7 } } },
        setHeaderOptions('Content-Type', 'application/merge-patch+json'),
      )
      .catch((e: unknown) => toKubeError(e, 'Component stale'));
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).message).toContain('the object has been modified');
    expect((await getObject(kube, 'Component', ns, 'stale')).status?.observedGeneration).toBe(1);
  });

  it('sets Ready with the conditions helper; lastTransitionTime moves only when the status value changes', async () => {
    const c = await freshComponent('ready');
    const t0 = new Date('2026-01-01T00:00:00Z');
    const set = (status: 'True' | 'False', reason: string, now: Date) =>
      kube.updateStatus('Component', ns, 'ready', (cur) => ({
        ...cur.status,
        observedGeneration: cur.metadata.generation,
        conditions: withReady(cur.status?.conditions, { status, reason, message: reason, observedGeneration: cur.metadata.generation ?? 0 }, now),
      }));
    await set('False', 'RepositoryIsNotReady', t0);
    const s2 = await set('False', 'GetComponentFailed', new Date('2026-01-01T00:05:00Z'));
    expect(s2.status?.conditions?.[0]?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    expect(s2.status?.conditions?.[0]?.reason).toBe('GetComponentFailed');
    const s3 = await set('True', 'Succeeded', new Date('2026-01-01T00:10:00Z'));
    expect(s3.status?.conditions?.[0]?.lastTransitionTime).toBe('2026-01-01T00:10:00Z');
    expect(isReadyCurrent(s3)).toBe(true);
    expect(s3.metadata.generation).toBe(c.metadata.generation);
    // a no-op update does not write (resourceVersion unchanged)
    const s4 = await kube.updateStatus('Component', ns, 'ready', () => undefined);
    expect(s4.metadata.resourceVersion).toBe(s3.metadata.resourceVersion);
    // a spec change bumps generation, so the old Ready no longer counts
    await kube.custom.patchNamespacedCustomObject(
      { group: 'serverless.ocm.software', version: 'v1alpha1', namespace: ns, plural: 'components', name: 'ready', body: { spec: { semver: '>=7.0.0' } } },
      setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
    const s5 = await getObject(kube, 'Component', ns, 'ready');
    expect(s5.metadata.generation).toBe(2);
    expect(isReadyCurrent(s5)).toBe(false);
  });
});

describe('objects, owners, finalizers, events', () => {
  it('creates a Snapshot owned by its producer; create twice is AlreadyExists; delete is idempotent', async () => {
    const owner = await freshComponent('owner');
    const snap: Snapshot = structuredClone(validSnapshot);
    snap.metadata = { name: snapshotName('Component', 'owner'), namespace: ns, ownerReferences: [ownerReference(owner)] };
    const created = await createObject(kube, snap);
    expect(created.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Component', name: 'owner', uid: owner.metadata.uid, controller: true });
    await expect(createObject(kube, snap)).rejects.toBeInstanceOf(AlreadyExistsError);
    const listed = await kube.list('Snapshot', ns);
    expect(listed.map((s) => s.metadata.name)).toContain('component-owner');
    // apply (SSA) updates the same object in place
    const applied = await kube.apply({ ...snap, spec: { ...snap.spec, digest: `sha256:${'d'.repeat(64)}` } });
    expect(applied.spec.digest).toBe(`sha256:${'d'.repeat(64)}`);
    expect(await kube.delete('Snapshot', ns, 'component-owner')).toBe(true);
    expect(await kube.delete('Snapshot', ns, 'component-owner')).toBe(false);
    expect(await kube.find('Snapshot', ns, 'component-owner')).toBeUndefined();
  });

  it('adds finalizers by apply (as the stages do) and removes them idempotently, and deletion waits for them', async () => {
    const c = await freshComponent('final');
    const withFinalizer = { ...c, metadata: { name: 'final', namespace: ns, finalizers: [FINALIZER] } };
    await kube.apply(withFinalizer);
    expect((await kube.apply(withFinalizer)).metadata.finalizers).toEqual([FINALIZER]);
    await kube.delete('Component', ns, 'final');
    const terminating = await getObject(kube, 'Component', ns, 'final');
    expect(terminating.metadata.deletionTimestamp).toBeDefined();
    expect(await kube.removeFinalizer('Component', ns, 'final', 'serverless.ocm.software/not-there')).toBe(false);
    expect(await kube.removeFinalizer('Component', ns, 'final', FINALIZER)).toBe(true);
    expect(await kube.find('Component', ns, 'final')).toBeUndefined();
  });

  it('records events.k8s.io/v1 Events regarding our objects', async () => {
    const c = await freshComponent('evented');
    await kube.recordEvent(c, { type: 'Warning', reason: 'GetComponentFailed', note: 'component ocm.software/podinfo not found in ghcr.io/acme', action: 'Resolve' });
    const list = (await kube.custom.listNamespacedCustomObject({ group: 'events.k8s.io', version: 'v1', namespace: ns, plural: 'events' })) as {
      items: Array<{ regarding: { name: string; uid: string }; reason: string; type: string; note: string }>;
    };
    const ev = list.items.find((e) => e.regarding.name === 'evented');
    expect(ev).toMatchObject({ reason: 'GetComponentFailed', type: 'Warning', regarding: { uid: c.metadata.uid } });
  });

  it('reads Secrets (decoded, with their type) and ConfigMaps', async () => {
    const auths = { 'ghcr.io': { username: 'u', password: 'p' } };
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'pull' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })).toString('base64') } },
    });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'opaque' }, stringData: { token: 'x' } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cfg' }, data: { 'rules.yaml': '- a: 1\n' } } });
    const pull = await kube.getSecret(ns, 'pull');
    expect(pull.type).toBe('kubernetes.io/dockerconfigjson');
    expect(JSON.parse(pull.data['.dockerconfigjson']!.toString('utf8'))).toEqual({ auths });
    expect(await kube.getSecret(ns, 'opaque')).toEqual({ type: 'Opaque', data: { token: Buffer.from('x') } });
    await expect(kube.getSecret(ns, 'nope')).rejects.toBeInstanceOf(NotFoundError);
    expect(await kube.getConfigMap(ns, 'cfg')).toEqual({ 'rules.yaml': '- a: 1\n' });
    await expect(kube.getConfigMap(ns, 'nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('creates, applies, reads and deletes a Flux OCIRepository (source.toolkit.fluxcd.io/v1)', async () => {
    const repo: FluxOCIRepository = {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'podinfo', namespace: ns },
      spec: {
        url: 'oci://zot.ocm-system.svc:5000/default/resource/podinfo',
        ref: { digest: `sha256:${'e'.repeat(64)}` },
        layerSelector: { mediaType: MediaType.HelmChart, operation: 'copy' },
        interval: '10m',
        insecure: true,
      },
    };
    await kube.apply(repo);
    await kube.apply({ ...repo, spec: { ...repo.spec, ref: { digest: `sha256:${'f'.repeat(64)}` } } });
    const got = await getObject(kube, 'OCIRepository', ns, 'podinfo');
    expect(got.spec.ref?.digest).toBe(`sha256:${'f'.repeat(64)}`);
    expect(got.spec.layerSelector?.operation).toBe('copy');
    expect(await kube.delete('OCIRepository', ns, 'podinfo')).toBe(true);
  });
});

describe('configuration', () => {
  it('works from a kubeconfig file and from in-cluster service account files', async () => {
    const fromFile = new KubeClient(loadKubeConfig({ kubeconfig: services().kube.kubeconfig }), { fieldManager: 't' });
    expect((await fromFile.list('Component', ns)).length).toBeGreaterThan(0);

    // the layout a Pod gets: token + ca.crt under /var/run/secrets/kubernetes.io/serviceaccount, env for the service
    const root = join(services().workDir, `incluster-${ns}`);
    const saDir = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    await mkdir(saDir, { recursive: true });
    await writeFile(join(saDir, 'token'), await mintToken(ns, 'stage'));
    await copyFile(services().kube.caFile, join(saDir, 'ca.crt'));
    await writeFile(join(saDir, 'namespace'), ns);
    const url = new URL(services().kube.server);
    const saved = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] };
    process.env['KUBERNETES_SERVICE_HOST'] = url.hostname;
    process.env['KUBERNETES_SERVICE_PORT'] = url.port;
    try {
      const inCluster = new KubeClient(loadKubeConfig({ inCluster: { pathPrefix: root } }), { fieldManager: 't' });
      // the service account has no RBAC here: the 403 names it, which proves the token was used
      const err = await getObject(inCluster, 'Component', ns, 'x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ForbiddenError);
      expect((err as ForbiddenError).message).toContain(`system:serviceaccount:${ns}:stage`);
    } finally {
      for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    expect(() => loadKubeConfig({ inCluster: {} })).toThrow(/not running in a cluster/);
  });
});

describe('errors carry the server message', () => {
  it('NotFound', async () => {
    const err = await getObject(kube, 'Component', ns, 'missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).message).toBe('components.serverless.ocm.software "missing" not found');
    expect((err as NotFoundError).object).toBe(`Component ${ns}/missing`);
  });

  it('Forbidden for a ServiceAccount without RBAC, Unauthorized for a bad token', async () => {
    const token = await mintToken(ns, 'nobody');
    const weak = new KubeClient(kubeConfig({ token }), { fieldManager: 't' });
    const err = await getObject(weak, 'Component', ns, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForbiddenError);
    expect((err as ForbiddenError).message).toContain(`system:serviceaccount:${ns}:nobody`);
    const bad = new KubeClient(kubeConfig({ token: 'not-a-token' }), { fieldManager: 't' });
    await expect(getObject(bad, 'Component', ns, 'x')).rejects.toBeInstanceOf(UnauthorizedError);
  });
});
