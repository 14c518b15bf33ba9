import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  digestFile,
  digestOf,
  fileSource,
  MediaType,
  NotFoundError,
  RegistryClient,
  type RegistryClientOptions,
} from '../../../shared/oci/index.js';
import { RegistryStore, type ArtifactInput } from '../../../shared/snapshot/index.js';
import { services } from '../../infra/services.js';
import { sha256File, sha256Of } from '../../support/digest.js';
import { drainCount, randomFile, repoName, scratchDir } from './helpers.js';

function endpoints(): Array<[string, RegistryClientOptions]> {
  const s = services();
  return [
    ['fs', { url: s.registry.fs.url }],
    ['s3', { url: s.registry.s3.url }],
    [
      'tls+auth',
      {
        url: s.registry.tls.url,
        caFile: s.registry.tls.caFile,
        credentials: { username: s.registry.tls.username, password: s.registry.tls.password },
      },
    ],
    // zot with the shipped config: S3, TLS, htpasswd, access control (the push user may delete)
    ['zot', { url: s.registry.zot.url, caFile: s.registry.zot.caFile, credentials: s.registry.zot.push }],
  ];
}

describe('RegistryStore round trips against docker-registry 2.8 (fs, S3, TLS+htpasswd) and zot (S3, TLS+htpasswd)', () => {
  let dir: string;
  let big: string;
  beforeAll(async () => {
    dir = await scratchDir('roundtrip');
    big = await randomFile(join(dir, 'big.bin'), 200 * 1024 * 1024);
  });
  const stores: RegistryStore[] = [];
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
  });

  for (const name of ['fs', 's3', 'tls+auth', 'zot'] as const) {
    it(`small artifact: push, resolve, fetch, tags, delete (${name})`, async () => {
      const store = new RegistryStore(endpoints().find(([n]) => n === name)![1]);
      stores.push(store);
      const file = join(dir, `small-${name}.yaml`);
      await writeFile(file, `hello: ${name}\n`);
      const repo = repoName(`small-${name.replace('+', '-')}`);
      const input: ArtifactInput = { content: { path: file }, mediaType: 'application/x-yaml', name: 'cfg' };
      const pushed = await store.pushArtifact(repo, input, { tag: '1.0.0' });
      expect(await store.resolve(repo, '1.0.0')).toMatchObject({ digest: pushed.manifest.digest, mediaType: MediaType.ImageManifest });
      const art = await store.fetchArtifact(repo, '1.0.0');
      expect(art.descriptor.digest).toBe(pushed.manifest.digest);
      expect(art.blob).toMatchObject({ digest: pushed.blob.digest, size: pushed.blob.size, mediaType: MediaType.LayerGzip });
      expect(await drainCount(await store.openBlob(repo, art.blob))).toBe(pushed.blob.size);
      expect(await store.listTags(repo)).toEqual(['1.0.0']);
      // a repeat push is HEADs only and yields the same digest
      expect((await store.pushArtifact(repo, input, { tag: '1.0.0' })).manifest.digest).toBe(pushed.manifest.digest);
      expect(await store.deleteManifest(repo, pushed.manifest.digest)).toBe(true);
      expect(await store.resolve(repo, pushed.manifest.digest)).toBeUndefined();
      await expect(store.fetchManifest(repo, '1.0.0')).rejects.toBeInstanceOf(NotFoundError);
    });
  }

  for (const name of ['fs', 's3', 'zot'] as const) {
    it(`200 MiB blob: streaming push and digest-verified pull (${name})`, { timeout: 120_000 }, async () => {
      const client = new RegistryClient(endpoints().find(([n]) => n === name)![1]);
      try {
        const repo = client.repository(repoName(`big-${name}`));
        const desc = await digestFile(big);
        await repo.blobs.push(desc, fileSource(big));
        expect(await repo.blobs.exists(desc.digest)).toBe(true);
        expect(await sha256Of(await repo.blobs.fetch(desc))).toBe(desc.digest);
        // chunked upload of the same content to another repository (unknown size, 16 MiB PATCHes)
        const chunkedRepo = new RegistryClient({ ...endpoints().find(([n]) => n === name)![1], chunkBytes: 16 << 20 }).repository(
          repoName(`chunked-${name}`),
        );
        expect(await chunkedRepo.blobs.pushUnknown(fileSource(big))).toEqual(desc);
        expect(await chunkedRepo.blobs.exists(desc.digest)).toBe(true);
        await chunkedRepo.client.close();
      } finally {
        await client.close();
      }
    });
  }

  for (const name of ['fs', 'zot'] as const) it(`chunked push of a known blob above monolithicMaxBytes, and cross-repository mount with fallback (${name})`, async () => {
    const opts = endpoints().find(([n]) => n === name)![1];
    const client = new RegistryClient({ ...opts, monolithicMaxBytes: 1 << 20, chunkBytes: 3 << 20 });
    try {
      const file = await randomFile(join(dir, `ten-${name}.bin`), 10 * 1024 * 1024 + 17);
      const desc = await digestFile(file);
      const a = client.repository(repoName(`mount-a-${name}`));
      await a.blobs.push(desc, fileSource(file));
      const b = client.repository(repoName(`mount-b-${name}`));
      // zot mounts across repositories only with dedupe on; the shipped config has it off (S3), so zot answers the
      // mount with a plain upload session (202) and the client reports false
      const mounts = name === 'fs';
      expect(await b.blobs.mount(desc.digest, a.repository)).toBe(mounts);
      expect(await b.blobs.exists(desc.digest)).toBe(mounts);
      const missing = digestOf('never pushed');
      expect(await b.blobs.mount(missing, a.repository)).toBe(false);
      // push with mountFrom falls back to a normal upload when the source lacks the blob
      const c = client.repository(repoName(`mount-c-${name}`));
      const small = Buffer.from('mount fallback');
      await writeFile(join(dir, `mf-${name}.txt`), small);
      await c.blobs.push({ digest: digestOf(small), size: small.length }, fileSource(join(dir, `mf-${name}.txt`)), { mountFrom: a.repository });
      expect(await c.blobs.exists(digestOf(small))).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('keeps big-file digests stable: local sha256 equals what the registry stores', async () => {
    expect((await digestFile(big)).digest).toBe(await sha256File(big));
    expect((await readFile(join(dir, 'ten-fs.bin'))).length).toBe(10 * 1024 * 1024 + 17);
  });
});
