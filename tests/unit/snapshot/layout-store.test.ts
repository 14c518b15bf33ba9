import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  bufferSource,
  DigestMismatchError,
  digestOf,
  InvalidArgumentError,
  MediaType,
  NotFoundError,
  type ImageIndex,
} from '../../../shared/oci/index.js';
import { copyArtifact, LayoutStore, type ArtifactInput } from '../../../shared/snapshot/index.js';
import { minimalChart } from '../../support/charts.js';
import { scratch } from './helpers.js';

async function text(stream: Readable): Promise<string> {
  let s = '';
  for await (const c of stream) s += (c as Buffer).toString();
  return s;
}

const input = (content: string, name = 'res'): ArtifactInput => ({
  content: { stream: Readable.from([Buffer.from(content)]) },
  mediaType: 'text/plain',
  name,
});

describe('LayoutStore', () => {
  it('writes zot-format layouts: oci-layout, index.json with ref.name tags, blobs/sha256', async () => {
    const root = await scratch();
    const store = new LayoutStore(root);
    const pushed = await store.pushArtifact('ns/resource/app', input('hello'), { tag: '1.0.0' });
    const dir = join(root, 'ns/resource/app');
    expect(JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ImageIndex;
    expect(index.manifests).toEqual([
      {
        mediaType: MediaType.ImageManifest,
        digest: pushed.manifest.digest,
        size: pushed.manifest.size,
        artifactType: MediaType.SnapshotArtifact,
        annotations: { 'org.opencontainers.image.ref.name': '1.0.0' },
      },
    ]);
    const blobs = (await readdir(join(dir, 'blobs/sha256'))).sort();
    expect(blobs).toEqual(
      [pushed.manifest.digest, pushed.config.digest, pushed.blob.digest].map((d) => d.slice('sha256:'.length)).sort(),
    );
    expect(await store.resolve('ns/resource/app', '1.0.0')).toMatchObject({ digest: pushed.manifest.digest });
    const art = await store.fetchArtifact('ns/resource/app', pushed.manifest.digest);
    expect(art.blob).toMatchObject({ digest: pushed.blob.digest, mediaType: MediaType.LayerGzip });
    expect(await store.listTags('ns/resource/app')).toEqual(['1.0.0']);
  });

  it('moves a tag, deletes by digest, and reports absence', async () => {
    const store = new LayoutStore(await scratch());
    const a = await store.pushArtifact('r', input('a'), { tag: 'v1' });
    const b = await store.pushArtifact('r', input('b'), { tag: 'v1' });
    expect(a.manifest.digest).not.toBe(b.manifest.digest);
    expect((await store.resolve('r', 'v1'))?.digest).toBe(b.manifest.digest);
    expect(await store.listTags('r')).toEqual(['v1']);
    expect(await store.deleteManifest('r', b.manifest.digest)).toBe(true);
    expect(await store.deleteManifest('r', b.manifest.digest)).toBe(false);
    expect(await store.resolve('r', 'v1')).toBeUndefined();
    await expect(store.fetchManifest('r', 'v1')).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.listTags('never-pushed')).toEqual([]);
  });

  it('keeps every tag when many writers push concurrently in one process', async () => {
    const store = new LayoutStore(await scratch());
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => store.pushArtifact('busy/repo', input(`content-${i % 5}`), { tag: `t${i}` })),
    );
    expect((await store.listTags('busy/repo')).sort()).toEqual(Array.from({ length: 25 }, (_, i) => `t${i}`).sort());
    for (const [i, r] of results.entries()) expect((await store.resolve('busy/repo', `t${i}`))?.digest).toBe(r.manifest.digest);
  });

  it('rejects wrong digests, unsafe repository names and bad tags', async () => {
    const root = await scratch();
    const store = new LayoutStore(root);
    const blobs = store.repository('x').blobs;
    await expect(blobs.push({ digest: digestOf('other'), size: 5 }, bufferSource(Buffer.from('hello')))).rejects.toBeInstanceOf(
      DigestMismatchError,
    );
    expect(await blobs.exists(digestOf('other'))).toBe(false);
    expect(await readdir(join(root, 'x/.uploads'))).toEqual([]);
    expect(() => store.repository('../escape')).toThrow(InvalidArgumentError);
    await expect(store.pushArtifact('x', input('a'), { tag: 'bad tag' })).rejects.toBeInstanceOf(InvalidArgumentError);

    // a corrupted blob on disk is detected while streaming
    const p = await store.pushArtifact('x', input('abc'), { tag: 'v' });
    await writeFile(join(root, 'x/blobs/sha256', p.blob.digest.slice(7)), 'tampered');
    await expect(text(await store.openBlob('x', p.blob))).rejects.toThrow(/mismatch/);
  });

  it('copies an image index with its child manifests and blobs between layouts, keeping digests', async () => {
    const src = new LayoutStore(await scratch());
    const dst = new LayoutStore(await scratch());
    const one = await src.pushArtifact('multi', input('one'));
    const two = await src.pushArtifact('multi', input('two'));
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [one.manifest, two.manifest] }),
    );
    const root = await src.repository('multi').manifests.push(index, MediaType.ImageIndex, 'all');
    const copied = await copyArtifact(src.repository('multi'), 'all', dst.repository('copy/multi'), { tag: 'all' });
    expect(copied.digest).toBe(root.digest);
    expect((await dst.fetchManifest('copy/multi', 'all')).bytes).toEqual(index);
    for (const p of [one, two]) {
      expect((await dst.resolve('copy/multi', p.manifest.digest))?.digest).toBe(p.manifest.digest);
      expect(await text(await dst.openBlob('copy/multi', p.blob))).toBe(await text(await src.openBlob('multi', p.blob)));
    }
    // second copy is a no-op that still succeeds
    expect((await copyArtifact(src.repository('multi'), 'all', dst.repository('copy/multi'), { tag: 'all' })).digest).toBe(root.digest);
  });

  it('tags a Helm chart with its chart version, `+` written as `_` like helm push', async () => {
    const store = new LayoutStore(await scratch());
    const pushed = await store.pushArtifact('charts/demo', {
      content: { stream: Readable.from([await minimalChart('demo', '1.0.0+build.7')]) },
      mediaType: MediaType.HelmChart,
      name: 'chart',
    });
    expect(pushed.tag).toBe('1.0.0_build.7');
    expect(await store.listTags('charts/demo')).toEqual(['1.0.0_build.7']);
  });
});
