import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SnapshotObject } from '../../../shared/ports/index.js';
import { finalizeSnapshot, sweepOrphans } from '../../../shared/stagekit/snapshot-cleanup.js';
import { recordSnapshot, snapshotKeyFor } from '../../../shared/stagekit/snapshots.js';
import { NS, rig } from './rig.js';

type Rig = Awaited<ReturnType<typeof rig>>;

describe('Snapshot cleanup', () => {
  let r: Rig;
  beforeEach(async () => (r = await rig()));
  afterEach(async () => r.close());

  it('the finalizer deletes the manifest, then lets the Snapshot go; a Snapshot not being deleted is left alone', async () => {
    const owner = await r.component();
    const pushed = await r.push('podinfo', '1.0.0', 'x\n');
    const snap = await recordSnapshot(r.deps, owner, pushed, { 'component-name': 'c' }, 'sha256:1');
    expect(await finalizeSnapshot(r.deps, snap)).toBe(false);
    await r.kube.delete(snapshotKeyFor(owner));
    const deleting = (await r.kube.get<SnapshotObject>(snapshotKeyFor(owner)))!;
    expect(deleting.metadata.deletionTimestamp).toBeDefined();
    expect(await finalizeSnapshot(r.deps, deleting)).toBe(true);
    expect(await r.kube.get(snapshotKeyFor(owner))).toBeUndefined();
    expect(await r.store.hasManifest(pushed.repository, pushed.digest, { fresh: true })).toBe(false);
  });

  it('sweeps Snapshots whose controlling owner is gone or was recreated, and only those of the kind asked for', async () => {
    r.kube.gc = false; // the local runner has no garbage collector: this is the sweep's job there
    const kept = await r.component('kept');
    const gone = await r.component('gone');
    await recordSnapshot(r.deps, kept, await r.push('kept', '1.0.0', 'k\n'), { 'component-name': 'c' }, 'sha256:k');
    await recordSnapshot(r.deps, gone, await r.push('gone', '1.0.0', 'g\n'), { 'component-name': 'c' }, 'sha256:g');
    await r.kube.delete({ kind: 'Component', namespace: NS, name: 'gone' });
    expect(await sweepOrphans(r.deps, 'Resource', NS)).toEqual([]);
    expect(await sweepOrphans(r.deps, 'Component', NS)).toEqual([`${NS}/component-gone`]);
    // the finalizer holds it until its stage deletes the manifest
    expect((await r.kube.get<SnapshotObject>(snapshotKeyFor(gone)))?.metadata.deletionTimestamp).toBeDefined();
    expect((await r.kube.get<SnapshotObject>(snapshotKeyFor(kept)))?.metadata.deletionTimestamp).toBeUndefined();
  });
});
