/**
 * GC and retention are safe (issue 16). zot runs the shipped `gc`/`retention` settings with the delays shortened
 * (gcDelay, gcInterval, retention.delay: seconds instead of hours). Then:
 * - after GC has demonstrably run (an untagged manifest, a result whose tag moved on, is removed), every manifest a
 *   Ready Snapshot references is still there, layer included; a result the pipeline replaced is gone;
 * - with retention misconfigured (keepTags matching nothing) GC removes the pipeline's manifests anyway, which
 *   sends no registry event; once the configuration is fixed, the resync tick restores them and every Ready
 *   Snapshot verifies again.
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { request, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PLURALS, VERSION } from '../../../shared/kube/index.js';
import type { SnapshotObject } from '../../../shared/ports/index.js';
import type { ZotConfig } from '../../infra/zot.js';
import { isReady } from '../../support/ready.js';
import { waitFor } from '../../support/wait.js';
import type { ChaosBroker } from './broker.js';
import { Cluster, STANDARD_COUNT, STANDARD_KINDS, verifyReadySnapshots, type RegistryAccess } from './cluster.js';
import { startOwnZotPipeline, type OwnZotPipeline } from './rig.js';
import { MediaType } from '../../../shared/oci/media-types.js';

/** the shipped GC and retention, only faster */
function shortDelays(cfg: ZotConfig): void {
  cfg.storage.gcDelay = '1s';
  cfg.storage.gcInterval = '2s';
  cfg.storage.retention = { ...cfg.storage.retention, delay: '1s' };
}

/** retention misconfigured: no tag is kept */
function keepNoTags(cfg: ZotConfig): void {
  shortDelays(cfg);
  cfg.storage.retention = {
    ...cfg.storage.retention,
    policies: (cfg.storage.retention?.policies ?? []).map((p) => ({ ...p, keepTags: [{ patterns: ['^keep-nothing$'] }] })),
  };
}

describe('resilience: zot GC and retention never take what a Ready Snapshot references', () => {
  let p: OwnZotPipeline;
  let c: Cluster;
  let broker: ChaosBroker;
  let reg: RegistryAccess;
  let pushAuth: string;
  let manifestStatus: OwnZotPipeline['manifestStatus'];

  beforeAll(async () => {
    p = await startOwnZotPipeline('registry-gc', { seed: 13, edit: shortDelays });
    ({ c, broker, reg, pushAuth, manifestStatus } = p);
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('with the shipped settings: GC removes an untagged result and the replaced one, never a Ready Snapshot\'s', async () => {
    // a replaced result: the Configuration's rules change, configure pushes new content under the same tag
    const old = (await c.get('Snapshot', 'configuration-chart')) as SnapshotObject;
    await c.kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: c.namespace,
        plural: PLURALS.Configuration!,
        name: 'chart',
        body: [{ op: 'replace', path: '/spec/rules/0/yamlsubst/source/value', value: 4 }],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    const replaced = (await waitFor('configuration-chart to be replaced', async () => {
      const snap = (await c.get('Snapshot', 'configuration-chart')) as SnapshotObject;
      return snap.spec!.digest !== old.spec!.digest && isReady(snap) ? snap : undefined;
    }, 120_000)) as SnapshotObject;
    await c.waitAllReady(STANDARD_KINDS, STANDARD_COUNT, 120_000);
    await broker.settle(500, 60_000);

    // an untagged manifest GC must remove: a result whose tag moved on without the cleanup (the tag is re-pointed
    // at the current result by hand, the old manifest stays behind untagged)
    const resource = (await c.get('Snapshot', 'resource-manifests')) as SnapshotObject;
    const repo = resource.spec!.repository;
    const manifest = await request(`${reg.url}/v2/${repo}/manifests/${resource.spec!.digest}`, {
      dispatcher: reg.dispatcher as Dispatcher,
      headers: { authorization: pushAuth, accept: MediaType.ImageManifest },
    });
    const bytes = Buffer.from(await manifest.body.arrayBuffer());
    const doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    const orphan = JSON.stringify({ ...doc, annotations: { ...(doc.annotations as object), 'test.ocm-knative/orphan': 'yes' } });
    const put = async (ref: string, body: string | Buffer) => {
      const res = await request(`${reg.url}/v2/${repo}/manifests/${ref}`, {
        method: 'PUT',
        dispatcher: reg.dispatcher as Dispatcher,
        headers: { authorization: pushAuth, 'content-type': MediaType.ImageManifest },
        body,
      });
      await res.body.dump();
      return { status: res.statusCode, digest: res.headers['docker-content-digest'] as string };
    };
    const o = await put('orphan', orphan);
    expect(o.status).toBe(201);
    expect((await put('orphan', bytes)).status).toBe(201); // the tag moves on: the orphan is untagged now
    await waitFor('GC to remove the untagged manifest', async () => (await manifestStatus(repo, o.digest)) === 404, 120_000);

    // GC ran: what Ready Snapshots reference is intact, the replaced result is gone
    const verified = await verifyReadySnapshots(c, reg);
    expect(verified.problems).toEqual([]);
    expect(verified.checked).toBe(5);
    expect(await manifestStatus(old.spec!.repository, old.spec!.digest)).toBe(404);
    expect(await manifestStatus(replaced.spec!.repository, replaced.spec!.digest)).toBe(200);
  });

  it('retention misconfigured removes them anyway (no event); fixed config + the resync tick heal every Snapshot', async () => {
    const snaps = ((await c.list('Snapshot')) as SnapshotObject[]).filter((x) => isReady(x));
    expect(snaps).toHaveLength(5);
    await p.restartZot(keepNoTags);
    await waitFor(
      'the misconfigured retention to remove the pipeline\'s manifests',
      async () => (await Promise.all(snaps.map((x) => manifestStatus(x.spec!.repository, x.spec!.digest)))).every((st) => st === 404),
      120_000,
    );
    // the operator fixes the configuration
    await p.restartZot(shortDelays);
    const t0 = performance.now();
    const ticker = setInterval(() => broker.ping(), 3000);
    broker.ping();
    try {
      await waitFor(
        'the resync tick to restore every manifest',
        async () => (await verifyReadySnapshots(c, reg)).problems.length === 0 && (await c.list('Snapshot')).filter(isReady).length === 5,
        180_000,
      );
    } finally {
      clearInterval(ticker);
    }
    console.log(`registry-gc: all 5 Snapshots healed ${((performance.now() - t0) / 1000).toFixed(1)} s after the configuration was fixed`);
    await broker.settle(500, 60_000);
    const verified = await verifyReadySnapshots(c, reg);
    expect(verified.problems).toEqual([]);
    expect(verified.checked).toBe(5);
    for (const x of snaps) {
      const now = (await c.get('Snapshot', x.metadata.name)) as SnapshotObject;
      expect(now.spec!.digest, x.metadata.name).toBe(x.spec!.digest);
    }
  });
});
