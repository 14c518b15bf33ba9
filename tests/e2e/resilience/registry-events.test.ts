/**
 * Registry events in the loop (issue 16): zot (the shipped config, its events extension on) posts its CloudEvents
 * straight to the functions' HTTP hosts, one http sink per Snapshot-producing stage, as the three
 * `*-registry-deleted` Triggers of knative/eventing/registry-events.yaml deliver them through the Broker. A manifest
 * a Ready Snapshot references is deleted by hand (as an operator would, with the push user): the producing stage
 * re-pushes it on zot's `zotregistry.image.deleted` alone, with no resync tick. A deleted manifest no Snapshot
 * references (the pipeline's own cleanup of a replaced result) changes nothing.
 */
import { request, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotObject } from '../../../shared/ports/index.js';
import { waitFor } from '../../support/wait.js';
import type { ChaosBroker } from './broker.js';
import { Cluster, verifyReadySnapshots, type RegistryAccess } from './cluster.js';
import type { FunctionProcess } from './functions.js';
import { errorLogs, startOwnZotPipeline, type OwnZotPipeline } from './rig.js';
import { MediaType } from '../../../shared/oci/media-types.js';

const PRODUCERS = ['descriptor', 'resource', 'configure'];

describe('resilience: zot registry events re-push a deleted manifest', () => {
  let p: OwnZotPipeline;
  let c: Cluster;
  let fns: Record<string, FunctionProcess>;
  let broker: ChaosBroker;
  let reg: RegistryAccess;
  let manifestStatus: OwnZotPipeline['manifestStatus'];

  beforeAll(async () => {
    // the shipped events extension, its Broker sink replaced by the function hosts (what the Triggers deliver to)
    p = await startOwnZotPipeline('registry-events', {
      seed: 11,
      edit: (cfg, functions) => {
        const shipped = cfg.extensions!.events!;
        cfg.extensions!.events = {
          ...shipped,
          enable: true,
          sinks: PRODUCERS.map((stage) => ({ ...shipped.sinks![0]!, address: functions[stage]!.url })),
        };
      },
    });
    ({ c, fns, broker, reg, manifestStatus } = p);
  });
  afterAll(async () => {
    await p?.stop();
  });

  const registryEventLines = (stage: string) =>
    fns[stage]!.logs.filter((l) => l['eventType'] === 'zotregistry.image.deleted' && typeof l['status'] === 'number');

  for (const [snapName, producer] of [
    ['resource-chart', 'resource'],
    ['configuration-manifests', 'configure'],
    ['component-app', 'descriptor'],
  ] as const) {
    it(`a manual delete of ${snapName}'s manifest: ${producer} re-pushes it on zot's event, without a resync`, async () => {
      const snap = (await c.get('Snapshot', snapName)) as SnapshotObject;
      const { repository, digest } = snap.spec!;
      const seenBefore = Object.fromEntries(PRODUCERS.map((p) => [p, registryEventLines(p).length]));
      const t0 = performance.now();
      expect(await manifestStatus(repository, digest, 'DELETE')).toBe(202);
      expect(await manifestStatus(repository, digest)).toBe(404);
      await waitFor(`${repository}@${digest} back in zot`, async () => (await manifestStatus(repository, digest)) === 200, 90_000);
      const ms = performance.now() - t0;
      console.log(`registry-events: ${snapName} manifest deleted by hand, re-pushed by ${producer} ${ms.toFixed(0)} ms later (no resync tick)`);
      // it was zot's event that did it: the producer answered it and did work (logged once its status is written,
      // which may be after the manifest is back); the others got the same event and skipped it
      const kind = { resource: 'Resource', configure: 'Configuration', descriptor: 'Component' }[producer];
      const object = `${kind} ${c.namespace}/${snapName.slice(snapName.indexOf('-') + 1)}`;
      const about = (stage: string) => registryEventLines(stage).slice(seenBefore[stage]).filter((l) => l['object'] === object);
      await waitFor(`${producer} to log the event`, async () => about(producer).some((l) => l['outcome'] === 'done'), 30_000);
      for (const other of PRODUCERS.filter((x) => x !== producer)) {
        await waitFor(`${other} to answer the event`, async () => about(other).length > 0, 30_000);
        expect(about(other).map((l) => l['outcome']), other).toEqual(['skipped']);
      }
      const after = (await c.get('Snapshot', snapName)) as SnapshotObject;
      expect(after.spec!.digest).toBe(digest);
      const verified = await verifyReadySnapshots(c, reg);
      expect(verified.problems).toEqual([]);
      expect(verified.checked).toBe(5);
    });
  }

  it('a deleted manifest no Snapshot references changes nothing; no errors were logged', async () => {
    await broker.settle(1000, 60_000);
    const before = await c.all();
    // an artifact in a producer's repository that no Snapshot references (like a replaced result)
    const repository = ((await c.get('Snapshot', 'resource-chart')) as SnapshotObject).spec!.repository;
    const send = async (method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<number> => {
      const res = await request(`${reg.url}/v2/${repository}/${path}`, { method, dispatcher: reg.dispatcher as Dispatcher, headers: { authorization: p.pushAuth, ...headers }, ...(body !== undefined ? { body } : {}) });
      await res.body.dump();
      return res.statusCode;
    };
    const empty = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
    expect(await send('POST', `blobs/uploads/?digest=${empty}`, { 'content-type': 'application/octet-stream' }, Buffer.from('{}'))).toBe(201);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      artifactType: 'application/vnd.ocm-knative.test',
      config: { mediaType: MediaType.Empty, digest: empty, size: 2 },
      layers: [{ mediaType: MediaType.Empty, digest: empty, size: 2 }],
    });
    expect(await send('PUT', 'manifests/stale', { 'content-type': MediaType.ImageManifest }, manifest)).toBe(201);
    const seen = Object.fromEntries(PRODUCERS.map((p) => [p, registryEventLines(p).length]));
    expect(await send('DELETE', 'manifests/stale', {})).toBe(202);
    await waitFor('each producer to answer the event', async () => PRODUCERS.every((p) => registryEventLines(p).length > seen[p]!), 30_000);
    for (const p of PRODUCERS) {
      // the owner looked and found its Snapshot's manifest in place; the others are not routed
      expect(registryEventLines(p).slice(seen[p]!)[0], p).toMatchObject({ outcome: 'skipped', status: 202 });
    }
    await broker.settle(500, 30_000);
    const rv = (objs: typeof before) => Object.fromEntries(objs.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]));
    expect(rv(await c.all())).toEqual(rv(before));
    expect(errorLogs(fns)).toEqual([]);
  });
});
