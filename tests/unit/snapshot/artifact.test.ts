import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { digestOf, InvalidArgumentError, MediaType, type ImageManifest } from '../../../shared/oci/index.js';
import { buildArtifact, sniffFormat, type ArtifactInput } from '../../../shared/snapshot/index.js';
import { tarOf } from '../../support/tar.js';
import { minimalChart } from '../../support/charts.js';
import { scratch } from './helpers.js';

async function entriesOf(tgz: Buffer): Promise<tar.Header[]> {
  const ex = tar.extract();
  Readable.from([gunzipSync(tgz)]).pipe(ex);
  const out: tar.Header[] = [];
  for await (const e of ex) {
    out.push(e.header);
    e.resume();
  }
  return out;
}

const provenance = { source: 'ghcr.io/acme/ocm', component: 'acme.org/app', version: '1.0.0', identity: { name: 'cfg', arch: 'amd64' } };

describe('buildArtifact', () => {
  it('wraps a non-archive blob in a one-entry tar+gzip with fixed header fields and a gzip header without name/mtime', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'cfg.yaml'), 'key: value\n');
    const built = await buildArtifact({ content: { path: join(dir, 'cfg.yaml') }, mediaType: 'application/x-yaml', name: 'cfg', provenance });
    try {
      const layer = await readFile(built.layer.path);
      // gzip: magic, deflate, FLG=0 (no FNAME/FCOMMENT), MTIME=0
      expect([...layer.subarray(0, 8)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
      expect(digestOf(layer)).toBe(built.layer.descriptor.digest);
      const headers = await entriesOf(layer);
      expect(headers).toHaveLength(1);
      expect(headers[0]).toMatchObject({ name: 'cfg', size: 11, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '' });
      expect(headers[0]?.mtime?.getTime()).toBe(0);

      const m = JSON.parse(built.manifest.bytes.toString()) as ImageManifest;
      expect(digestOf(built.manifest.bytes)).toBe(built.manifest.descriptor.digest);
      expect(m.artifactType).toBe(MediaType.SnapshotArtifact);
      expect(m.config).toEqual({ mediaType: MediaType.Empty, digest: digestOf('{}'), size: 2 });
      expect(m.layers[0]?.mediaType).toBe(MediaType.LayerGzip);
      expect(m.layers[0]?.annotations).toEqual({
        'org.opencontainers.image.title': 'cfg.tar.gz',
        'software.ocm.resource.mediaType': 'application/x-yaml',
      });
      expect(m.annotations).toEqual({
        'org.opencontainers.image.revision': 'acme.org/app@1.0.0',
        'org.opencontainers.image.source': 'ghcr.io/acme/ocm',
        'software.ocm.componentversion': 'acme.org/app:1.0.0',
        'software.ocm.identity': '{"arch":"amd64","name":"cfg"}',
        'software.ocm.resource.mediaType': 'application/x-yaml',
      });
      expect(built.manifest.bytes.toString()).not.toMatch(/created|date|time/i);
    } finally {
      await built.dispose();
    }
  });

  it('gzips a plain tar and keeps a tar+gzip byte for byte', async () => {
    const dir = await scratch();
    const plain = await tarOf({ 'a.txt': 'A', 'b/c.txt': 'C' });
    await writeFile(join(dir, 'x.tar'), plain);
    const fromTar = await buildArtifact({ content: { path: join(dir, 'x.tar') }, mediaType: 'application/x-tar', name: 'x' });
    expect(await sniffFormat(join(dir, 'x.tar'))).toBe('tar');
    expect(gunzipSync(await readFile(fromTar.layer.path))).toEqual(plain);
    expect(fromTar.layer.descriptor.mediaType).toBe(MediaType.LayerGzip);
    const tgz = await readFile(fromTar.layer.path);
    await fromTar.dispose();

    await writeFile(join(dir, 'x.tgz'), tgz);
    expect(await sniffFormat(join(dir, 'x.tgz'))).toBe('tar+gzip');
    const fromTgz = await buildArtifact({ content: { path: join(dir, 'x.tgz') }, mediaType: 'application/x-tgz', name: 'x' });
    expect(fromTgz.layer.descriptor.digest).toBe(digestOf(tgz));
    await fromTgz.dispose();
  });

  it('builds a Helm chart artifact: helm config from Chart.yaml, helm layer type, chart version as tag', async () => {
    const built = await buildArtifact({
      content: { stream: Readable.from([await minimalChart()]) },
      mediaType: MediaType.HelmChart,
      name: 'chart',
    });
    try {
      const m = JSON.parse(built.manifest.bytes.toString()) as ImageManifest;
      expect(m.artifactType).toBeUndefined();
      expect(m.config.mediaType).toBe(MediaType.HelmConfig);
      expect(JSON.parse(built.config.bytes.toString())).toEqual({ apiVersion: 'v2', name: 'mychart', version: '0.3.1', description: 'test chart' });
      expect(m.layers[0]?.mediaType).toBe(MediaType.HelmChart);
      expect(m.layers[0]?.annotations?.['org.opencontainers.image.title']).toBe('mychart-0.3.1.tgz');
      expect(built.chartVersion).toBe('0.3.1');
    } finally {
      await built.dispose();
    }
  });

  it('keeps component descriptors as a YAML layer', async () => {
    const built = await buildArtifact({
      content: { stream: Readable.from([Buffer.from('components: []\n')]) },
      mediaType: MediaType.ComponentDescriptors,
      name: 'descriptors',
    });
    expect(built.layer.descriptor).toMatchObject({ mediaType: MediaType.ComponentDescriptors, digest: digestOf('components: []\n'), size: 15 });
    await built.dispose();
  });

  it('rejects a Helm chart without Chart.yaml or that is not an archive', async () => {
    const noChart = await tarOf({ 'x/values.yaml': 'a: 1' }, { gzip: true });
    await expect(
      buildArtifact({ content: { stream: Readable.from([noChart]) }, mediaType: MediaType.HelmChart, name: 'c' }),
    ).rejects.toThrow(/no <chart>\/Chart.yaml/);
    await expect(
      buildArtifact({ content: { stream: Readable.from([Buffer.from('nope')]) }, mediaType: MediaType.HelmChart, name: 'c' }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('is deterministic: same input => same manifest digest, in this process and in another process', async () => {
    const dir = await scratch();
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
    await writeFile(join(dir, 'blob.bin'), data);
    const input: ArtifactInput = { content: { path: join(dir, 'blob.bin') }, mediaType: 'application/octet-stream', name: 'blob', provenance };
    const a = await buildArtifact(input);
    const b = await buildArtifact({ ...input, content: { stream: Readable.from([data]) }, provenance: { ...provenance, identity: { arch: 'amd64', name: 'cfg' } } });
    expect(b.manifest.bytes).toEqual(a.manifest.bytes);
    await a.dispose();
    await b.dispose();

    const script = `import { buildArtifact } from ${JSON.stringify(join(process.cwd(), 'shared/snapshot/index.ts'))};
const b = await buildArtifact(${JSON.stringify(input)}); console.log(b.manifest.descriptor.digest); await b.dispose();`;
    await writeFile(join(dir, 'child.mts'), script);
    const { stdout } = await promisify(execFile)(join(process.cwd(), 'node_modules/.bin/tsx'), [join(dir, 'child.mts')]);
    expect(stdout.trim()).toBe(a.manifest.descriptor.digest);
  });
});
