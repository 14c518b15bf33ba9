import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { layerText } from '../../../functions/adapters/layer-text.js';
import { Reason, TransientError, type SnapshotObject } from '../../../shared/ports/index.js';
import { assertInputUnchanged, fetchInputLayer, readComponentSet, readySnapshotOf } from '../../../shared/stagekit/dependencies.js';
import { InProgress, WaitingFor } from '../../../shared/stagekit/results.js';
import { recordSnapshot, snapshotKeyFor } from '../../../shared/stagekit/snapshots.js';
import { NS, rig } from './rig.js';

type Rig = Awaited<ReturnType<typeof rig>>;
const ID = { 'component-name': 'c' };

describe('input Snapshots', () => {
  let r: Rig;
  beforeEach(async () => (r = await rig()));
  afterEach(async () => r.close());

  it('waits for a producer that is missing or has no Snapshot yet, naming it; then returns both', async () => {
    const missing = await readySnapshotOf(r.kube, 'Component', NS, 'podinfo').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(WaitingFor);
    expect(missing).toMatchObject({ reason: Reason.ComponentIsNotReady, message: 'Component podinfo not found' });
    const owner = await r.component();
    await expect(readySnapshotOf(r.kube, 'Component', NS, 'podinfo', Reason.ConfigFetchFailed)).rejects.toMatchObject({
      reason: Reason.ConfigFetchFailed,
      message: 'Component podinfo has no snapshot yet',
    });
    const snap = await recordSnapshot(r.deps, owner, await r.push('podinfo', '1.0.0', 'components: []\n'), ID, 'sha256:1');
    const got = await readySnapshotOf(r.kube, 'Component', NS, 'podinfo');
    expect(got.owner.metadata.uid).toBe(owner.metadata.uid);
    expect(got.snapshot.spec?.digest).toBe(snap.spec?.digest);
  });

  it('a Snapshot that is being deleted or updated is in progress, not a failure', async () => {
    const owner = await r.component();
    await recordSnapshot(r.deps, owner, await r.push('podinfo', '1.0.0', 'a\n'), ID, 'sha256:1');
    await r.kube.delete(snapshotKeyFor(owner));
    await expect(readySnapshotOf(r.kube, 'Component', NS, 'podinfo')).rejects.toBeInstanceOf(InProgress);
  });

  it('reads the component set of a descriptor Snapshot through the LayerText port', async () => {
    const owner = await r.component();
    const snap = await recordSnapshot(r.deps, owner, await r.push('podinfo', '1.0.0', 'components:\n  - x\n'), ID, 'sha256:1');
    expect(await readComponentSet({ ...r.deps, layerText }, snap)).toBe('components:\n  - x\n');
  });

  it('an input whose manifest is gone because the Snapshot moved on is in progress; one truly lost is retried', async () => {
    const owner = await r.component();
    const first = await recordSnapshot(r.deps, owner, await r.push('podinfo', '1.0.0', 'one\n'), ID, 'sha256:1');
    // recording the next result deletes the manifest the first one named
    await recordSnapshot(r.deps, owner, await r.push('podinfo', '1.1.0', 'two\n'), ID, 'sha256:2');
    await expect(fetchInputLayer(r.kube, r.store, first, Reason.ComponentIsNotReady)).rejects.toBeInstanceOf(InProgress);
    const current = (await r.kube.get<SnapshotObject>(snapshotKeyFor(owner)))!;
    await r.store.deleteManifest(current.spec!.repository, current.spec!.digest);
    const lost = await fetchInputLayer(r.kube, r.store, current, Reason.ComponentIsNotReady).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(TransientError);
    expect(lost).not.toBeInstanceOf(InProgress);
  });

  it('a result computed from an input that changed meanwhile is retried', async () => {
    const owner = await r.component();
    const input = await recordSnapshot(r.deps, owner, await r.push('podinfo', '1.0.0', 'one\n'), ID, 'sha256:1');
    await expect(assertInputUnchanged(r.kube, input, 'Resource chart')).resolves.toBeUndefined();
    await recordSnapshot(r.deps, owner, await r.push('podinfo', '1.1.0', 'two\n'), ID, 'sha256:2');
    await expect(assertInputUnchanged(r.kube, input, 'Resource chart')).rejects.toThrow(
      'Resource chart: input Snapshot component-podinfo changed while this result was being written; recomputing',
    );
  });
});
