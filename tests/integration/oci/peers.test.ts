import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, MediaType, RegistryClient, type ImageIndex, type ImageManifest } from '../../../shared/oci/index.js';
import { RegistryStore, type PushedManifest } from '../../../shared/snapshot/index.js';
import { writeOciLayout } from '../../infra/oci-layout.js';
import { services } from '../../infra/services.js';
import { sha256 } from '../../support/digest.js';
import { randomFile, repoName, scratchDir, tool } from './helpers.js';

describe('peer tools read what we push and we read what they push (skopeo, oras, crane on docker-registry fs)', () => {
  let dir: string;
  let store: RegistryStore;
  let host: string;
  let repo: string;
  let pushed: PushedManifest;
  let layerBytes: Buffer;

  beforeAll(async () => {
    const s = services();
    host = s.registry.fs.host;
    store = new RegistryStore({ url: s.registry.fs.url });
    dir = await scratchDir('peers');
    const blob = await randomFile(join(dir, 'payload.bin'), 3 * 1024 * 1024);
    repo = repoName('peers');
    pushed = await store.pushArtifact(repo, { content: { path: blob }, mediaType: 'application/octet-stream', name: 'payload.bin' }, { tag: '1.0.0' });
    layerBytes = Buffer.alloc(0);
  });
  afterAll(async () => {
    await store.close();
  });

  it('skopeo copy docker:// -> oci: keeps the manifest and every blob digest', async () => {
    const out = join(dir, 'skopeo-oci');
    await tool(services().bin.skopeo, ['copy', '--src-tls-verify=false', `docker://${host}/${repo}:1.0.0`, `oci:${out}:copied`]);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as ImageIndex;
    expect(index.manifests[0]?.digest).toBe(pushed.manifest.digest);
    const blobs = await readdir(join(out, 'blobs/sha256'));
    for (const d of [pushed.manifest.digest, pushed.config.digest, pushed.blob.digest]) {
      const hex = d.slice('sha256:'.length);
      expect(blobs).toContain(hex);
      expect(sha256(await readFile(join(out, 'blobs/sha256', hex)))).toBe(d);
    }
    layerBytes = await readFile(join(out, 'blobs/sha256', pushed.blob.digest.slice(7)));
  });

  it('oras pull writes the layer under its title with the same digest', async () => {
    const out = join(dir, 'oras-pull');
    await tool(services().bin.oras, ['pull', '--plain-http', '-o', out, `${host}/${repo}:1.0.0`]);
    const file = await readFile(join(out, 'payload.bin.tar.gz'));
    expect(sha256(file)).toBe(pushed.blob.digest);
    expect(file.equals(layerBytes)).toBe(true);
  });

  it('crane manifest returns our exact bytes; crane validate --fast and crane digest agree', async () => {
    const ref = `${host}/${repo}:1.0.0`;
    const crane = services().bin.crane;
    const manifest = Buffer.from(await tool(crane, ['manifest', '--insecure', ref]));
    expect(sha256(manifest)).toBe(pushed.manifest.digest);
    const parsed = JSON.parse(manifest.toString()) as ImageManifest;
    expect(parsed.artifactType).toBe(MediaType.SnapshotArtifact);
    expect(parsed.layers.map((l) => l.mediaType)).toEqual([MediaType.LayerGzip]);
    // full `crane validate` needs an image config with rootfs.diff_ids; an artifact's empty config has none by design
    expect(await tool(crane, ['validate', '--fast', '--insecure', '--remote', ref])).toMatch(/PASS/);
    expect((await tool(crane, ['digest', '--insecure', ref])).trim()).toBe(pushed.manifest.digest);
  });

  it('reads an artifact oras pushed, digests verified', async () => {
    const file = join(dir, 'from-oras.txt');
    await writeFile(file, 'pushed by oras\n');
    const orasRepo = repoName('oras-push');
    await tool(services().bin.oras, ['push', '--plain-http', '--artifact-type', 'application/vnd.example', `${host}/${orasRepo}:v1`, 'from-oras.txt:text/plain'], { cwd: dir });
    const art = await store.fetchArtifact(orasRepo, 'v1');
    expect(art.manifest.artifactType).toBe('application/vnd.example');
    const chunks: Buffer[] = [];
    for await (const c of await store.openBlob(orasRepo, art.blob)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('pushed by oras\n');
    const craneDigest = (await tool(services().bin.crane, ['digest', '--insecure', `${host}/${orasRepo}:v1`])).trim();
    expect(art.descriptor.digest).toBe(craneDigest);
  });

  it('reads an image skopeo pushed from an OCI layout, and one crane appended (docker media types)', async () => {
    const layout = await writeOciLayout(join(dir, 'layout-src'), { tag: 'v7', layerBytes: 200_000 });
    const skRepo = repoName('skopeo-push');
    await tool(services().bin.skopeo, ['copy', '--dest-tls-verify=false', `oci:${layout.dir}:v7`, `docker://${host}/${skRepo}:v7`]);
    const fetched = await store.fetchManifest(skRepo, 'v7');
    expect(fetched.descriptor.digest).toBe(layout.manifestDigest);
    expect(fetched.bytes.equals(layout.manifestBytes)).toBe(true);
    const layer = await store.openBlob(skRepo, { digest: layout.layerDigest, size: layout.layerSize });
    let n = 0;
    for await (const c of layer) n += (c as Buffer).length;
    expect(n).toBe(layout.layerSize);

    const tarball = join(dir, 'layer.tar');
    await writeFile(tarball, Buffer.alloc(10240)); // an empty tar: two zero blocks and padding
    const crRepo = repoName('crane-append');
    const ref = `${host}/${crRepo}:latest`;
    await tool(services().bin.crane, ['append', '--insecure', '-f', tarball, '-t', ref]);
    const desc = await store.resolve(crRepo, 'latest');
    expect(desc?.digest).toBe((await tool(services().bin.crane, ['digest', '--insecure', ref])).trim());
    const client = new RegistryClient({ url: services().registry.fs.url });
    const m = await client.repository(crRepo).manifests.fetch('latest');
    expect(m.descriptor.digest).toBe(desc?.digest);
    expect(digestOf(m.bytes)).toBe(desc?.digest);
    await client.close();
  });
});
