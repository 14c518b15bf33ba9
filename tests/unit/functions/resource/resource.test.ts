/**
 * The resource stage's reconcile: a slow worker must not leave an older result in place. Deliveries are concurrent
 * and unordered, so a reconcile that started from an older input may finish after one that started from a newer one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createResourceStage } from '../../../../functions/resource/handler.js';
import { layerText } from '../../../../functions/adapters/layer-text.js';
import { ocmSourceAdapter } from '../../../../functions/adapters/ocm-source.js';
import { TransientError, type ArtifactStore, type SnapshotObject } from '../../../../shared/ports/index.js';
import { componentVersion } from '../../../support/components.js';
import { NS, harness } from '../../../support/stage-harness.js';

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
    const slow = createResourceStage({ kube: h.kube, store: slowStore, ocm: ocmSourceAdapter(), layerText });
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
