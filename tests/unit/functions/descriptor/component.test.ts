/**
 * Component spec.interval and the reconcile.fluxcd.io/requestedAt annotation: resync ticks ask the repository for
 * new versions only once the interval has passed since the last check; `flux reconcile`'s annotation asks now.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseComponent } from '../../../../functions/descriptor/spec.js';
import { API_VERSION, type ComponentObject, type OCMRepositoryObject, type SnapshotObject } from '../../../../shared/ports/index.js';
import { componentVersion } from '../../../support/components.js';
import { NS, harness } from '../../../support/stage-harness.js';
import { ready } from '../../../support/ready.js';

type H = Awaited<ReturnType<typeof harness>>;
const MIN = 60_000;

describe('Component spec.interval on resync ticks', () => {
  let h: H;
  const component = async () => (await h.get<ComponentObject>('Component', 'podinfo'))!;
  const version = async () => (await component()).status?.component?.version;

  beforeEach(async () => {
    h = await harness();
    await h.addVersions([await componentVersion({ version: '1.0.0' })]);
    await h.apply('OCMRepository', 'repo', { repositorySpec: { type: 'CommonTransportFormat', filePath: h.ctf } });
  });
  afterEach(async () => h.close());

  it('asks the repository again only once the interval has passed, and records when it asked', async () => {
    await h.apply('Component', 'podinfo', { repositoryRef: { name: 'repo' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0', interval: '1h' });
    await h.bus.drain();
    expect(ready(await component())).toMatchObject({ status: 'True' });
    const firstCheck = (await component()).status?.lastCheckedAt;
    expect(Date.parse(firstCheck ?? '')).toBe(h.clock.now());

    await h.addVersions([await componentVersion({ version: '1.1.0' })]);
    h.clock.advance(30 * MIN);
    h.bus.resync();
    await h.bus.drain();
    expect(await version()).toBe('1.0.0');
    expect((await component()).status?.lastCheckedAt).toBe(firstCheck);

    h.clock.advance(30 * MIN);
    h.bus.resync();
    await h.bus.drain();
    expect(await version()).toBe('1.1.0');
    expect(Date.parse((await component()).status?.lastCheckedAt ?? '')).toBe(h.clock.now());
  });

  it('with a clock that moves on every reading, the status it writes settles (no event loop through lastCheckedAt)', async () => {
    h.clock.step = 1000;
    await h.apply('Component', 'podinfo', { repositoryRef: { name: 'repo' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0' });
    // the bus throws when it has not settled after this many deliveries
    await h.bus.drain(200);
    const repo = await h.get<OCMRepositoryObject>('OCMRepository', 'repo');
    expect(ready(repo)).toMatchObject({ status: 'True' });
    expect(repo!.status?.lastCheckedAt).toEqual(expect.any(String));
    expect(ready(await component())).toMatchObject({ status: 'True' });
    const checked = (await component()).status?.lastCheckedAt;
    // a tick within the interval writes nothing, so it makes no events either
    h.bus.resync();
    await h.bus.drain(200);
    expect((await component()).status?.lastCheckedAt).toBe(checked);
    expect((await h.get<OCMRepositoryObject>('OCMRepository', 'repo'))!.status?.lastCheckedAt).toBe(repo!.status?.lastCheckedAt);
  });

  it('a tick within the interval still restores a Snapshot manifest the registry lost', async () => {
    await h.apply('Component', 'podinfo', { repositoryRef: { name: 'repo' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0' });
    await h.bus.drain();
    const snap = (await h.get<SnapshotObject>('Snapshot', 'component-podinfo'))!;
    expect(await h.store.deleteManifest(snap.spec!.repository, snap.spec!.digest)).toBe(true);
    expect(await h.store.hasManifest(snap.spec!.repository, snap.spec!.digest)).toBe(false);
    h.clock.advance(MIN);
    h.bus.resync();
    await h.bus.drain();
    const now = (await h.get<SnapshotObject>('Snapshot', 'component-podinfo'))!;
    expect(await h.store.hasManifest(now.spec!.repository, now.spec!.digest)).toBe(true);
    expect(ready(await component())).toMatchObject({ status: 'True' });
  });

  it('reconcile.fluxcd.io/requestedAt asks now, once per new value', async () => {
    await h.apply('Component', 'podinfo', { repositoryRef: { name: 'repo' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0' });
    await h.bus.drain();
    await h.addVersions([await componentVersion({ version: '1.1.0' })]);

    const annotate = async (value: string): Promise<void> => {
      const obj = await component();
      await h.kube.apply({ ...obj, metadata: { ...obj.metadata, annotations: { 'reconcile.fluxcd.io/requestedAt': value } } });
      await h.bus.drain();
    };
    await annotate('2026-11-29T18:00:00Z');
    expect(await version()).toBe('1.1.0');
    expect((await component()).status?.lastHandledReconcileAt).toBe('2026-11-29T18:00:00Z');

    // the same value again (any other update of the object) does not ask again
    await h.addVersions([await componentVersion({ version: '1.2.0' })]);
    await annotate('2026-11-29T18:00:00Z');
    expect(await version()).toBe('1.1.0');
    await annotate('2026-11-29T18:05:00Z');
    expect(await version()).toBe('1.2.0');
  });

  it('an interval that is not a duration is refused by the CRD schema, and by the stage with a SpecInvalid naming the field', async () => {
    const spec = { repositoryRef: { name: 'repo' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0', interval: 'soon' };
    await expect(h.apply('Component', 'podinfo', spec)).rejects.toThrow(/interval/);
    // what the stage says if such an object got past admission (an older CRD without the pattern)
    const obj = { apiVersion: API_VERSION, kind: 'Component', metadata: { name: 'podinfo', namespace: NS }, spec } as ComponentObject;
    expect(() => parseComponent(obj)).toThrow(expect.objectContaining({ reason: 'SpecInvalid', message: expect.stringContaining('spec.interval "soon"') }));
  });
});
