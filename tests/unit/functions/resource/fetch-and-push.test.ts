/**
 * The resource stage on OCM artifact sets (by-value transport: an OCI artifact packed into a localBlob), over
 * MemoryKube + LayoutStore: a Helm chart set becomes a Helm snapshot, an image set is copied whole with its
 * manifest digest, and a set changed inside is Ready=False VerifyResourceFailed naming the blob.
 */
import { randomBytes } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MediaType } from '../../../../shared/oci/index.js';
import { localBlobResource, type ComponentDescriptor, type Resource } from '../../../../shared/ocm/index.js';
import type { SnapshotObject } from '../../../../shared/ports/index.js';
import { artifactSet, image, type SetOptions } from '../../ocm/artifact-sets.js';
import { COMPONENT, helmChart } from '../../../support/components.js';
import { harness } from '../../../support/stage-harness.js';
import { ready } from '../../../support/ready.js';
import { sha256 } from '../../../support/digest.js';

type H = Awaited<ReturnType<typeof harness>>;
const SET_TYPE = 'application/vnd.oci.image.manifest.v1+tar+gzip';

async function setResource(name: string, type: string, opts: SetOptions): Promise<Awaited<ReturnType<typeof localBlobResource>>> {
  const lb = await localBlobResource({ name, version: '1.0.0', type }, { mediaType: SET_TYPE, data: await artifactSet({ ...opts, gzip: true }) });
  // what `ocm transfer --copy-resources` records for a set: the main manifest digest
  const resource: Resource = { ...lb.resource, digest: { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'ociArtifactDigest/v1', value: opts.main.desc.digest.slice('sha256:'.length) } };
  return { resource, blob: lb.blob };
}

// the whole pipeline runs per test; on a shared, loaded machine that can take longer than the 10 s default
describe('resource stage: artifact sets', { timeout: 60_000 }, () => {
  let h: H;
  let chartTgz: Buffer;
  let img: ReturnType<typeof image>;
  let largeLayer: Buffer;

  beforeEach(async () => {
    h = await harness();
    chartTgz = await helmChart('0.4.0');
    const chart = image(Buffer.from('{"name":"podinfo","version":"0.4.0"}'), [{ bytes: chartTgz, mediaType: MediaType.HelmChart }], MediaType.HelmConfig);
    largeLayer = randomBytes(1280 * 1024); // above the 1 MiB the reader keeps in memory: streamed
    img = image(Buffer.from('{"architecture":"amd64","os":"linux"}'), [
      { bytes: Buffer.from('small layer'), mediaType: MediaType.LayerGzip },
      { bytes: largeLayer, mediaType: MediaType.LayerGzip },
    ]);
    const changed = Buffer.from(img.manifest.bytes.toString().replace('"schemaVersion":2', '"schemaVersion": 2'));
    const chartSet = await setResource('chart', 'helmChart', { main: chart.manifest, blobs: [chart.manifest.bytes, ...chart.blobs], tag: '0.4.0' });
    // the same image, its set file rewritten in the CTF after it was written (below)
    const rewritten = await setResource('rewritten', 'ociImage', { main: img.manifest, blobs: [img.manifest.bytes, ...img.blobs], tag: 'other' });
    const resources = [
      chartSet,
      rewritten,
      await setResource('image', 'ociImage', { main: img.manifest, blobs: [img.manifest.bytes, ...img.blobs] }),
      await setResource('tampered', 'ociImage', { main: img.manifest, blobs: [img.manifest.bytes, ...img.blobs], replace: { digest: img.manifest.desc.digest, bytes: changed } }),
    ];
    const descriptor: ComponentDescriptor = {
      schemaVersion: 'v2',
      name: COMPONENT,
      version: '1.0.0',
      provider: { name: 'ocm-knative-tests' },
      repositoryContexts: [],
      sources: [],
      references: [],
      resources: resources.map((r) => r.resource),
      signatures: [],
    };
    await h.addVersions([{ descriptor, blobs: resources.map((r) => r.blob) }]);
    // a valid set of another artifact in place of the image's: the stage does not hash the set file against its own
    // name (every blob in it is hashed), so the pinned main digest is what must catch it
    const file = join(h.ctf, 'blobs', String(rewritten.resource.access!['localReference']).replace(':', '.'));
    await chmod(file, 0o644);
    if (!chartSet.blob.data) throw new Error('the chart set is built in memory');
    await writeFile(file, chartSet.blob.data);
    await h.apply('OCMRepository', 'repo', { repositorySpec: { type: 'CommonTransportFormat', filePath: h.ctf } });
    await h.apply('Component', 'app', { repositoryRef: { name: 'repo' }, component: COMPONENT, semver: '>=1.0.0' });
    for (const name of ['chart', 'image', 'tampered', 'rewritten']) {
      await h.apply('Resource', name, { componentRef: { name: 'app' }, resource: { byReference: { resource: { name } } } });
    }
    await h.bus.drain();
  }, 60_000);
  afterEach(async () => h.close());

  it('a Helm chart set becomes a Helm snapshot of its chart layer, tagged with the chart version', async () => {
    expect(ready(await h.get('Resource', 'chart'))).toMatchObject({ status: 'True' });
    const snap = (await h.get<SnapshotObject>('Snapshot', 'resource-chart'))!;
    expect(snap.spec!.tag).toBe('0.4.0');
    const blob = await h.store.fetchLayer(snap.spec!.repository, snap.spec!.digest);
    try {
      expect(blob.mediaType).toBe(MediaType.HelmChart);
      expect(blob.digest).toBe(sha256(chartTgz));
    } finally {
      await blob.dispose();
    }
  });

  it('an image set is copied whole with its manifest digest unchanged', async () => {
    expect(ready(await h.get('Resource', 'image'))).toMatchObject({ status: 'True' });
    const snap = (await h.get<SnapshotObject>('Snapshot', 'resource-image'))!;
    expect(snap.spec!.digest).toBe(img.manifest.desc.digest);
    expect(await h.store.hasManifest(snap.spec!.repository, img.manifest.desc.digest)).toBe(true);
  });

  it('a manifest changed inside the set is VerifyResourceFailed naming the blob, with no snapshot', async () => {
    const r = ready(await h.get('Resource', 'tampered'));
    expect(r).toMatchObject({ status: 'False', reason: 'VerifyResourceFailed' });
    expect(r.message).toContain(img.manifest.desc.digest);
    expect(r.message).toMatch(/does not match its name/);
    expect(await h.get('Snapshot', 'resource-tampered')).toBeUndefined();
  });

  it('a set file replaced in the CTF by another valid set is VerifyResourceFailed on the pinned main digest', async () => {
    const r = ready(await h.get('Resource', 'rewritten'));
    expect(r).toMatchObject({ status: 'False', reason: 'VerifyResourceFailed' });
    expect(r.message).toContain(`says ${img.manifest.desc.digest}`);
    expect(await h.get('Snapshot', 'resource-rewritten')).toBeUndefined();
  });
});
