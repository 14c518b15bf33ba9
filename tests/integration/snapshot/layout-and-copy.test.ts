import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType, type ImageIndex } from '../../../shared/oci/index.js';
import { copyArtifact, LayoutStore, RegistryStore, type ArtifactInput } from '../../../shared/snapshot/index.js';
import { services } from '../../infra/services.js';
import { sha256 } from '../../support/digest.js';
import { minimalChart } from '../../support/charts.js';
import { randomFile, repoName, tool } from '../oci/helpers.js';

describe('LayoutStore read by skopeo/oras; whole-artifact copy registry <-> layout', () => {
  let dir: string;
  let layout: LayoutStore;
  let registry: RegistryStore;
  let host: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(services().workDir, 'snapshot-'));
    layout = new LayoutStore(join(dir, 'registry'));
    registry = new RegistryStore({ url: services().registry.fs.url });
    host = services().registry.fs.host;
  });
  afterAll(async () => {
    await registry.close();
  });

  it('skopeo (oci: transport) and oras (--oci-layout) read our layout; same digests as a registry push', async () => {
    const file = await randomFile(join(dir, 'payload.bin'), 1024 * 1024);
    const input: ArtifactInput = {
      content: { path: file },
      mediaType: 'application/octet-stream',
      name: 'payload',
      provenance: { component: 'acme.org/app', version: '1.0.0+build.1' },
    };
    const repo = 'default/resource/payload';
    const pushed = await layout.pushArtifact(repo, input, { tag: '1.0.0.build-build.1' });
    const viaRegistry = await registry.pushArtifact(repoName('same-input'), input);
    expect(viaRegistry.manifest.digest).toBe(pushed.manifest.digest);

    const dirOf = join(layout.root, repo);
    const raw = Buffer.from(await tool(services().bin.skopeo, ['inspect', '--raw', `oci:${dirOf}:1.0.0.build-build.1`]));
    expect(sha256(raw)).toBe(pushed.manifest.digest);
    const out = join(dir, 'skopeo-copy');
    await tool(services().bin.skopeo, ['copy', `oci:${dirOf}:1.0.0.build-build.1`, `oci:${out}:x`]);
    const idx = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as ImageIndex;
    expect(idx.manifests[0]?.digest).toBe(pushed.manifest.digest);

    const orasOut = join(dir, 'oras-out');
    await tool(services().bin.oras, ['pull', '--oci-layout', '-o', orasOut, `${dirOf}:1.0.0.build-build.1`]);
    expect(sha256(await readFile(join(orasOut, 'payload.tar.gz')))).toBe(pushed.blob.digest);
    const fetched = Buffer.from(await tool(services().bin.oras, ['manifest', 'fetch', '--oci-layout', `${dirOf}@${pushed.manifest.digest}`]));
    expect(sha256(fetched)).toBe(pushed.manifest.digest);
  });

  it('copies a Helm chart artifact layout -> registry -> layout; helm media types and digests survive', async () => {
    const chart = await minimalChart('demo', '1.2.3');
    const pushed = await layout.pushArtifact('default/resource/chart', {
      content: { stream: Readable.from([chart]) },
      mediaType: MediaType.HelmChart,
      name: 'chart',
    });
    expect(pushed.tag).toBe('1.2.3');
    const remoteRepo = repoName('chart');
    const toRegistry = await copyArtifact(layout.repository('default/resource/chart'), '1.2.3', registry.repository(remoteRepo), { tag: '1.2.3' });
    expect(toRegistry.digest).toBe(pushed.manifest.digest);
    const manifest = JSON.parse(await tool(services().bin.crane, ['manifest', '--insecure', `${host}/${remoteRepo}:1.2.3`])) as {
      config: { mediaType: string };
      layers: Array<{ mediaType: string }>;
    };
    expect(manifest.config.mediaType).toBe(MediaType.HelmConfig);
    expect(manifest.layers[0]?.mediaType).toBe(MediaType.HelmChart);
    const configJson = JSON.parse(await tool(services().bin.crane, ['config', '--insecure', `${host}/${remoteRepo}:1.2.3`])) as { name: string };
    expect(configJson.name).toBe('demo');

    const back = new LayoutStore(join(dir, 'back'));
    const copied = await copyArtifact(registry.repository(remoteRepo), '1.2.3', back.repository('x/chart'), { tag: '1.2.3' });
    expect(copied.digest).toBe(pushed.manifest.digest);
    const art = await back.fetchArtifact('x/chart', '1.2.3');
    const chunks: Buffer[] = [];
    for await (const c of await back.openBlob('x/chart', art.blob)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(chart)).toBe(true);
  });

  it('copies a multi-manifest image index from the registry into a layout that skopeo can read', async () => {
    const parts = await Promise.all(
      ['amd64', 'arm64'].map(async (arch) => {
        const f = join(dir, `${arch}.txt`);
        await writeFile(f, `binary for ${arch}`);
        return layout.pushArtifact('tmp/parts', { content: { path: f }, mediaType: 'text/plain', name: arch });
      }),
    );
    const remote = registry.repository(repoName('index'));
    for (const p of parts) await copyArtifact(layout.repository('tmp/parts'), p.manifest.digest, remote);
    const indexBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ImageIndex,
        manifests: parts.map((p, i) => ({ ...p.manifest, platform: { os: 'linux', architecture: ['amd64', 'arm64'][i] } })),
      }),
    );
    const root = await remote.manifests.push(indexBytes, MediaType.ImageIndex, 'multi');
    const dest = new LayoutStore(join(dir, 'index-copy'));
    const copied = await copyArtifact(remote, 'multi', dest.repository('copied/index'), { tag: 'multi' });
    expect(copied).toMatchObject({ digest: root.digest, mediaType: MediaType.ImageIndex });
    const raw = Buffer.from(await tool(services().bin.skopeo, ['inspect', '--raw', `oci:${join(dest.root, 'copied/index')}:multi`]));
    expect(sha256(raw)).toBe(root.digest);
    for (const p of parts) expect((await dest.resolve('copied/index', p.manifest.digest))?.digest).toBe(p.manifest.digest);
  });
});
