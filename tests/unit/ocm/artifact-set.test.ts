import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MediaType } from '../../../shared/oci/index.js';
import { ArtifactSetError, copyArtifactSet, extractChartFromArtifactSet, readArtifactSet } from '../../../shared/ocm/artifact-set.js';
import { LayoutStore } from '../../../shared/snapshot/index.js';
import { artifactSet, image, imageIndex, type SetOptions } from './artifact-sets.js';
import { minimalChart } from '../../support/charts.js';
import { scratch } from '../snapshot/helpers.js';

const noLarge = async (): Promise<void> => {
  throw new Error('no large blobs expected');
};

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** An image whose second layer (1.5 MiB) is larger than what the reader keeps in memory. */
function sampleImage(): { opts: SetOptions; layers: Buffer[] } {
  const layers = [Buffer.from('layer one'), randomBytes(1536 * 1024)];
  const img = image(Buffer.from('{"architecture":"amd64","os":"linux"}'), layers.map((bytes) => ({ bytes, mediaType: MediaType.LayerGzip })));
  return { opts: { main: img.manifest, blobs: [img.manifest.bytes, ...img.blobs] }, layers };
}

async function copyInto(set: Buffer, expectMain?: string): Promise<{ store: LayoutStore; digest: string }> {
  const store = new LayoutStore(await scratch());
  const root = await copyArtifactSet(Readable.from([set]), store.repository('ns/resource/img'), { what: 'resource img', tag: '1.0.0', ...(expectMain ? { expectMain } : {}) });
  return { store, digest: root.digest };
}

describe('artifact sets (OCM localBlob with an OCI artifact inside)', () => {
  const variants: [string, Partial<SetOptions>][] = [
    ['tar+gzip, index.json, flat blobs/sha256.<hex>', { gzip: true }],
    ['plain tar', {}],
    ['nested blobs/sha256/<hex> (oci/v1+compliant)', { gzip: true, nested: true }],
    ['older artifact-descriptor.json', { gzip: true, descriptorFile: 'artifact-descriptor.json' }],
    ['main named by tag (software.ocm/tags)', { gzip: true, mainByTag: true }],
    ['single manifest without software.ocm/main', { noMainAnnotation: true }],
  ];
  for (const [name, extra] of variants) {
    it(`copies an image whole with its manifest digest unchanged: ${name}`, async () => {
      const { opts, layers } = sampleImage();
      const set = await artifactSet({ ...opts, ...extra });
      const { store, digest } = await copyInto(set, opts.main.desc.digest);
      expect(digest).toBe(opts.main.desc.digest);
      expect((await store.resolve('ns/resource/img', '1.0.0'))?.digest).toBe(digest);
      const fetched = await store.fetchManifest('ns/resource/img', digest);
      expect(fetched.bytes.equals(opts.main.bytes)).toBe(true);
      const manifest = JSON.parse(fetched.bytes.toString()) as { layers: { digest: string; size: number }[] };
      for (const [i, l] of manifest.layers.entries()) {
        expect((await bytesOf(await store.openBlob('ns/resource/img', l))).equals(layers[i]!)).toBe(true);
      }
    });
  }

  it('copies a multi-platform index with its child manifests', async () => {
    const a = image(Buffer.from('{"os":"linux","architecture":"amd64"}'), [{ bytes: Buffer.from('amd64 layer'), mediaType: MediaType.LayerGzip }]);
    const b = image(Buffer.from('{"os":"linux","architecture":"arm64"}'), [{ bytes: Buffer.from('arm64 layer'), mediaType: MediaType.LayerGzip }]);
    const idx = imageIndex([a.manifest, b.manifest]);
    const set = await artifactSet({ main: idx, blobs: [idx.bytes, a.manifest.bytes, b.manifest.bytes, ...a.blobs, ...b.blobs], gzip: true });
    const { store, digest } = await copyInto(set, idx.desc.digest);
    expect(digest).toBe(idx.desc.digest);
    expect((await store.fetchManifest('ns/resource/img', a.manifest.desc.digest)).bytes.equals(a.manifest.bytes)).toBe(true);
    expect((await store.fetchManifest('ns/resource/img', b.manifest.desc.digest)).bytes.equals(b.manifest.bytes)).toBe(true);
  });

  it('extracts the chart layer of a Helm chart set', async () => {
    const chart = await minimalChart('mychart', '0.3.1');
    const img = image(Buffer.from('{"name":"mychart","version":"0.3.1"}'), [{ bytes: chart, mediaType: MediaType.HelmChart }], MediaType.HelmConfig);
    const set = await artifactSet({ main: img.manifest, blobs: [img.manifest.bytes, ...img.blobs], gzip: true, tag: '0.3.1' });
    const dir = await scratch();
    const out = await extractChartFromArtifactSet(Readable.from([set]), dir, { what: 'resource chart', expectMain: img.manifest.desc.digest });
    expect((await readFile(out.path)).equals(chart)).toBe(true);
    expect(out.layer.mediaType).toBe(MediaType.HelmChart);
  });

  it('says when the main manifest has no chart layer', async () => {
    const { opts } = sampleImage();
    const set = await artifactSet({ ...opts, gzip: true });
    await expect(extractChartFromArtifactSet(Readable.from([set]), await scratch(), { what: 'resource chart' })).rejects.toThrow(
      /has no Helm chart layer .*its layers: application\/vnd.oci.image.layer.v1.tar\+gzip/,
    );
  });

  it('rejects a main artifact other than the resource digest', async () => {
    const { opts } = sampleImage();
    const set = await artifactSet(opts);
    const other = `sha256:${'0'.repeat(64)}`;
    await expect(copyInto(set, other)).rejects.toThrow(/main artifact is sha256:[0-9a-f]{64}, but the resource digest \(ociArtifactDigest\/v1\) says sha256:0{64}/);
  });

  it('rejects a manifest changed in place under its old name (the blob rebuilt around it)', async () => {
    const { opts } = sampleImage();
    const changed = Buffer.from(opts.main.bytes.toString().replace('"schemaVersion":2', '"schemaVersion":2 '));
    const tampered = await artifactSet({ ...opts, gzip: true, replace: { digest: opts.main.desc.digest, bytes: changed } });
    const err = await copyInto(tampered, opts.main.desc.digest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactSetError);
    expect((err as ArtifactSetError).blob).toBe(opts.main.desc.digest);
    expect((err as Error).message).toMatch(/blob sha256:[0-9a-f]{64} does not match its name/);
  });

  it('rejects a changed byte in a large (streamed) layer, naming it', async () => {
    const { opts, layers } = sampleImage();
    const big = layers[1]!;
    const changed = Buffer.from(big);
    changed[12345] = changed[12345]! ^ 1;
    const bigDigest = JSON.parse(opts.main.bytes.toString()).layers[1].digest as string;
    const tampered = await artifactSet({ ...opts, gzip: true, replace: { digest: bigDigest, bytes: changed } });
    const err = await copyInto(tampered, opts.main.desc.digest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactSetError);
    expect((err as ArtifactSetError).blob).toBe(bigDigest);
  });

  it('names a blob the manifest refers to that the set lacks', async () => {
    const { opts } = sampleImage();
    const set = await artifactSet({ ...opts, blobs: opts.blobs.slice(0, 2) });
    await expect(copyInto(set)).rejects.toThrow(/names blob sha256:[0-9a-f]{64}, which is not in the set/);
  });

  it('leaves no manifest behind when the set is broken', async () => {
    const { opts } = sampleImage();
    const set = await artifactSet({ ...opts, blobs: opts.blobs.slice(0, 2) });
    const store = new LayoutStore(await scratch());
    await expect(copyArtifactSet(Readable.from([set]), store.repository('r/x'), { what: 'x', tag: '1.0.0' })).rejects.toThrow();
    expect(await store.resolve('r/x', '1.0.0')).toBeUndefined();
  });

  it('rejects a set without a descriptor file, and one listing several artifacts without a main one', async () => {
    await expect(readArtifactSet(Readable.from([Buffer.alloc(1024)]), { what: 'x', large: noLarge })).rejects.toThrow(/neither index.json nor artifact-descriptor.json/);
    const a = image(Buffer.from('{}'), []);
    const b = image(Buffer.from('{"x":1}'), []);
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [a.manifest.desc, b.manifest.desc] }));
    const set = await artifactSet({ main: a.manifest, blobs: [a.manifest.bytes, b.manifest.bytes, ...a.blobs, ...b.blobs], index });
    await expect(readArtifactSet(Readable.from([set]), { what: 'x', large: noLarge })).rejects.toThrow(/lists 2 artifacts and names no main one/);
  });

  it('property: a byte flipped anywhere in the set is rejected, or leaves the artifact exactly as it was', async () => {
    const { opts } = sampleImageSmall();
    for (const gzip of [false, true]) {
      const set = await artifactSet({ ...opts, gzip });
      const reference = await readArtifactSet(Readable.from([set]), { what: 'x', large: noLarge, expectMain: opts.main.desc.digest });
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: set.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
          const bad = Buffer.from(set);
          bad[at] = bad[at]! ^ xor;
          let got;
          try {
            got = await readArtifactSet(Readable.from([bad]), { what: 'x', large: noLarge, expectMain: opts.main.desc.digest });
          } catch (err) {
            // every rejection is one of ours, in words (no library noise)
            expect(err).toBeInstanceOf(ArtifactSetError);
            return;
          }
          // accepted: the flip was in tar padding or ignored metadata, the artifact is byte for byte the same
          expect(got.main).toEqual(reference.main);
          expect(got.manifests.map((m) => m.bytes.toString('hex'))).toEqual(reference.manifests.map((m) => m.bytes.toString('hex')));
          expect([...got.kept.entries()].map(([k, v]) => [k, v.toString('hex')])).toEqual([...reference.kept.entries()].map(([k, v]) => [k, v.toString('hex')]));
        }),
        { numRuns: 150 },
      );
    }
  });
});

/** An image small enough to keep whole (the property test inspects every kept byte). */
function sampleImageSmall(): { opts: SetOptions } {
  const img = image(Buffer.from('{"architecture":"amd64","os":"linux"}'), [
    { bytes: Buffer.from('first layer bytes'), mediaType: MediaType.LayerGzip },
    { bytes: randomBytes(3000), mediaType: MediaType.LayerGzip },
  ]);
  return { opts: { main: img.manifest, blobs: [img.manifest.bytes, ...img.blobs] } };
}

