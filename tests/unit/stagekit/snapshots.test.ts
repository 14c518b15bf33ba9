import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INPUT_DIGEST_ANNOTATION, INPUT_SNAPSHOT_ANNOTATION, SNAPSHOT_FINALIZER, type SnapshotObject } from '../../../shared/ports/index.js';
import { isReadyCurrent } from '../../../shared/kube/conditions.js';
import { inputStillCurrent, recordSnapshot, snapshotKeyFor, snapshotRefOf, upToDateSnapshot } from '../../../shared/stagekit/snapshots.js';
import { NS, rig } from './rig.js';

type Rig = Awaited<ReturnType<typeof rig>>;
const IDENTITY = { 'component-name': 'ocm.software/test/podinfo', 'component-version': '1.0.0' };

describe('recording a Snapshot', () => {
  let r: Rig;
  beforeEach(async () => (r = await rig()));
  afterEach(async () => r.close());

  it('is owned by its producer, carries the finalizer and input digest, and is Ready once the manifest is there', async () => {
    const owner = await r.component();
    const pushed = await r.push('podinfo', '1.0.0', 'components: []\n');
    const snap = await recordSnapshot(r.deps, owner, pushed, IDENTITY, 'sha256:in1');
    expect(snap.metadata.name).toBe('component-podinfo');
    expect(snap.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Component', name: 'podinfo', uid: owner.metadata.uid, controller: true })]);
    expect(snap.metadata.finalizers).toEqual([SNAPSHOT_FINALIZER]);
    expect(snap.metadata.annotations?.[INPUT_DIGEST_ANNOTATION]).toBe('sha256:in1');
    const stored = (await r.kube.get<SnapshotObject>(snapshotKeyFor(owner)))!;
    expect(stored.spec).toMatchObject({ repository: `${NS}/component/podinfo`, digest: pushed.digest, tag: '1.0.0', identity: IDENTITY });
    expect(isReadyCurrent(stored)).toBe(true);
    expect(stored.status?.repositoryURL).toBe(`oci://registry.local:5000/${NS}/component/podinfo`);
    expect(snapshotRefOf(r.store, stored)).toEqual({
      name: 'component-podinfo',
      namespace: NS,
      repository: `registry.local:5000/${NS}/component/podinfo`,
      digest: pushed.digest,
      tag: '1.0.0',
    });
  });

  it('is up to date for the same input digest while its manifest is there; a new result removes the manifest it replaced', async () => {
    const owner = await r.component();
    const first = await r.push('podinfo', '1.0.0', 'components: [1]\n');
    await recordSnapshot(r.deps, owner, first, IDENTITY, 'sha256:in1');
    expect((await upToDateSnapshot(r.deps, owner, 'sha256:in1'))?.spec?.digest).toBe(first.digest);
    expect(await upToDateSnapshot(r.deps, owner, 'sha256:in2')).toBeUndefined();

    const second = await r.push('podinfo', '1.1.0', 'components: [2]\n');
    await recordSnapshot(r.deps, owner, second, { ...IDENTITY, 'component-version': '1.1.0' }, 'sha256:in2');
    expect(await r.store.hasManifest(first.repository, first.digest, { fresh: true })).toBe(false);
    expect((await upToDateSnapshot(r.deps, owner, 'sha256:in2'))?.spec?.digest).toBe(second.digest);
    // a manifest lost from the registry is not up to date, whatever the Snapshot says
    await r.store.deleteManifest(second.repository, second.digest);
    expect(await upToDateSnapshot(r.deps, owner, 'sha256:in2')).toBeUndefined();
  });

  it('remembers its input Snapshot, and knows when that input has moved on', async () => {
    const input = await recordSnapshot(r.deps, await r.component('base'), await r.push('base', '1.0.0', 'a\n'), IDENTITY, 'sha256:a');
    const owner = await r.component('derived');
    const out = await recordSnapshot(r.deps, owner, await r.push('derived', '1.0.0', 'b\n'), IDENTITY, 'sha256:b', input);
    expect(out.metadata.annotations?.[INPUT_SNAPSHOT_ANNOTATION]).toBe(`component-base@${input.spec!.digest}`);
    expect(await inputStillCurrent(r.kube, out)).toBe(true);
    await recordSnapshot(r.deps, (await r.kube.get({ kind: 'Component', namespace: NS, name: 'base' }))!, await r.push('base', '2.0.0', 'c\n'), IDENTITY, 'sha256:c');
    expect(await inputStillCurrent(r.kube, out)).toBe(false);
  });
});
