/**
 * A slow worker must not leave an older result in place: deliveries are concurrent and unordered, so a reconcile
 * that started from an older input may finish after one that started from a newer input.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createResourceStage } from '../../../functions/resource/handler.js';
import { ocmSourceAdapter } from '../../../functions/adapters/ocm-source.js';
import { MemoryKube } from '../../../functions/adapters/memory-kube.js';
import { reconcileObject } from '../../../shared/ports/kit/index.js';
import { TransientError, type ArtifactStore, type KubeObject, type SnapshotObject } from '../../../shared/ports/index.js';
import { componentVersion } from '../../support/components.js';
import { NS, harness } from './harness.js';

type H = Awaited<ReturnType<typeof harness>>;

describe('concurrent reconciles', () => {
  let h: H;
  afterEach(async () => h.close());

  it('a worker whose input changed while it worked retries instead of keeping a stale snapshot', async () => {
    h = await harness();
    await h.addVersions([await componentVersion({ version: '1.0.0' })]);
    await h.apply('OCMRepository', 'repo', { repositorySpec: { type: 'CommonTransportFormat', filePath: h.ctf } });
    await h.apply('Component', 'podinfo', { repositoryRef: { name: 'repo' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0' });
    await h.apply('Resource', 'manifests', { componentRef: { name: 'podinfo' }, resource: { byReference: { resource: { name: 'manifests' } } } });
    await h.bus.drain();

    // a second resource worker whose push waits on a gate: it reads the component at 1.0.0... then 1.1.0 lands
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const slowStore: ArtifactStore = {
      ...h.store,
      flux: h.store.flux,
      referenceFor: (r) => h.store.referenceFor(r),
      async pushSingleLayer(req) {
        entered();
        await gate;
        return h.store.pushSingleLayer(req);
      },
    };
    const slow = createResourceStage({ kube: h.kube, store: slowStore, ocm: ocmSourceAdapter() });
    // force work: the input digest differs from the recorded one once the resource spec changes
    await h.apply('Resource', 'manifests', {
      componentRef: { name: 'podinfo' },
      resource: { byReference: { resource: { name: 'manifests' } } },
      skipVerify: true,
    });
    const work = slow.handle({ type: 'object', action: 'update', ref: { kind: 'Resource', namespace: NS, name: 'manifests' } });
    await inside;
    await h.addVersions([await componentVersion({ version: '1.1.0' })]);
    h.intervalPassed();
    h.bus.resync();
    await h.bus.drain();
    const fresh = (await h.get<SnapshotObject>('Snapshot', 'resource-manifests'))!;
    expect(fresh.spec!.tag).toBe('1.1.0');
    release();
    await expect(work).rejects.toBeInstanceOf(TransientError);
    // the retry (the broker redelivers) converges on the newest input
    await slow.handle({ type: 'object', action: 'update', ref: { kind: 'Resource', namespace: NS, name: 'manifests' } });
    await h.bus.drain();
    const final = (await h.get<SnapshotObject>('Snapshot', 'resource-manifests'))!;
    expect(final.spec!.tag).toBe('1.1.0');
    expect(await h.store.hasManifest(final.spec!.repository, final.spec!.digest)).toBe(true);
  });
});

describe('events for one object while it is being reconciled', () => {
  it('a burst joins the one waiting reconcile: 20 events, 2 runs, and the second run sees what changed during the first', async () => {
    const kube = new MemoryKube();
    await kube.upsert({ apiVersion: 'serverless.ocm.software/v1alpha1', kind: 'Component', metadata: { name: 'c', namespace: NS, labels: { round: '0' } }, spec: {} });
    const deps = { kube };
    const key = { kind: 'Component' as const, namespace: NS, name: 'c' };
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const run = async (obj: KubeObject) => {
      seen.push(obj.metadata.labels?.['round'] ?? '?');
      if (seen.length === 1) await gate;
      return { outcome: 'unchanged' as const, message: 'ok', fields: {} };
    };
    const first = reconcileObject(deps, key, run);
    await new Promise((r) => setTimeout(r, 5));
    // the object changes while the first run waits; then 19 more events arrive
    await kube.upsert({ apiVersion: 'serverless.ocm.software/v1alpha1', kind: 'Component', metadata: { name: 'c', namespace: NS, labels: { round: '1' } }, spec: {} });
    const burst = Array.from({ length: 19 }, () => reconcileObject(deps, key, run));
    release();
    const results = await Promise.all([first, ...burst]);
    expect(results).toHaveLength(20);
    // the first run wrote the Ready condition; the joined ones share the second run's result
    expect(results.map((r) => r.outcome)).toEqual(['applied', ...Array(19).fill('unchanged')]);
    expect(seen).toEqual(['0', '1']);
    // and once that is done, the next event runs again
    await reconcileObject(deps, key, run);
    expect(seen).toEqual(['0', '1', '1']);
  });
});
