/**
 * Registry events in the loop (shared/stagekit/lost-output.ts): a hint saying the registry lost a manifest
 * is routed to the producing stage, which re-pushes it when its Ready Snapshot references it, and does nothing for a
 * manifest it no longer references (its own cleanup of a replaced result makes such events too).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Hint, SnapshotObject, StageResult } from '../../../shared/ports/index.js';
import { componentVersion } from '../../support/components.js';
import { ready } from '../../support/ready.js';
import { NS, harness } from '../../support/stage-harness.js';

type H = Awaited<ReturnType<typeof harness>>;

describe('a registry event about a lost manifest', () => {
  let h: H;
  beforeEach(async () => {
    h = await harness();
    await h.addVersions([await componentVersion({ version: '1.0.0' })]);
    await h.apply('OCMRepository', 'repo', { repositorySpec: { type: 'CommonTransportFormat', filePath: h.ctf } });
    await h.apply('Component', 'podinfo', { repositoryRef: { name: 'repo' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0' });
    await h.apply('Resource', 'chart', { componentRef: { name: 'podinfo' }, resource: { byReference: { resource: { name: 'chart' } } } });
    await h.bus.drain();
    // a whole pipeline run: slow on a loaded machine
  }, 60_000);
  afterEach(async () => h.close());

  /** Delivers the hint to every stage that routes it, as the three registry Triggers do. */
  async function deliver(hint: Hint): Promise<{ stage: string; result: StageResult }[]> {
    const out: { stage: string; result: StageResult }[] = [];
    for (const stage of h.stages) if (stage.routes(hint)) out.push({ stage: stage.name, result: await stage.handle(hint) });
    return out;
  }
  const lostHint = (kind: string, name: string, snap: SnapshotObject): Hint => ({
    type: 'object',
    action: 'update',
    ref: { apiVersion: 'serverless.ocm.software/v1alpha1', kind, namespace: NS, name },
    lost: { repository: snap.spec!.repository, digest: snap.spec!.digest },
  });

  for (const [kind, name, stage] of [
    ['Resource', 'chart', 'resource'],
    ['Component', 'podinfo', 'descriptor'],
  ] as const) {
    it(`${kind}: the producing stage (${stage}) alone re-pushes the manifest its Ready Snapshot references`, async () => {
      const snap = (await h.get<SnapshotObject>('Snapshot', `${kind.toLowerCase()}-${name}`))!;
      // remembered as present by the store: the event must make it ask again
      expect(await h.store.hasManifest(snap.spec!.repository, snap.spec!.digest)).toBe(true);
      expect(await h.store.deleteManifest(snap.spec!.repository, snap.spec!.digest)).toBe(true);
      const results = await deliver(lostHint(kind, name, snap));
      expect(results.map((r) => r.stage)).toEqual([stage]);
      expect(results[0]!.result.objects[0]).toMatchObject({ kind, name, outcome: 'applied' });
      const now = (await h.get<SnapshotObject>('Snapshot', `${kind.toLowerCase()}-${name}`))!;
      expect(now.spec!.digest).toBe(snap.spec!.digest);
      expect(await h.store.hasManifest(now.spec!.repository, now.spec!.digest, { fresh: true })).toBe(true);
      expect(ready(now)).toMatchObject({ status: 'True' });
    });
  }

  it('a manifest the Snapshot no longer references, or one that is still there, changes nothing', async () => {
    const snap = (await h.get<SnapshotObject>('Snapshot', 'resource-chart'))!;
    const superseded: SnapshotObject = { ...snap, spec: { ...snap.spec!, digest: `sha256:${'0'.repeat(64)}` } };
    const [a] = await deliver(lostHint('Resource', 'chart', superseded));
    expect(a!.result.objects[0]).toMatchObject({ outcome: 'unchanged', reason: 'NotCurrentOutput' });
    // a stale event: the manifest is there
    const [b] = await deliver(lostHint('Resource', 'chart', snap));
    expect(b!.result.objects[0]).toMatchObject({ outcome: 'unchanged', reason: 'NotCurrentOutput' });
    expect((await h.get<SnapshotObject>('Snapshot', 'resource-chart'))!.metadata.resourceVersion).toBe(snap.metadata.resourceVersion);
  });
});
