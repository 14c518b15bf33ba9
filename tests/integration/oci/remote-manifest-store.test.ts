import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferSource, digestOf, MediaType, NotFoundError, RegistryClient } from '../../../shared/oci/index.js';
import { RegistryStore } from '../../../shared/snapshot/index.js';
import { services } from '../../infra/services.js';
import { useBearerProxy } from './bearer-proxy.js';
import { repoName } from './helpers.js';

describe('RemoteManifestStore', () => {
  describe('via a test-local token server + reverse proxy in front of docker-registry', () => {
    const fx = useBearerProxy('remote-manifest-store');

    it('follows Link pagination of tags/list (pages of 2 served by the proxy)', async () => {
      const client = new RegistryClient({ url: fx.proxy.url, credentials: { username: 'robot', password: 'robot-pw' } });
      fx.keep(client);
      const store = new RegistryStore(client);
      const repo = repoName('paged');
      const file = join(fx.dir, 't.txt');
      await writeFile(file, 'tagged');
      const tags = ['a', 'b', 'c', 'd', 'e'];
      for (const t of tags) await store.pushArtifact(repo, { content: { path: file }, mediaType: 'text/plain', name: 't' }, { tag: t });
      fx.proxy.tagPageSize = 2;
      const before = fx.proxy.requests.length;
      expect((await store.listTags(repo)).sort()).toEqual(tags);
      expect(fx.proxy.requests.slice(before).filter((r) => r.path.endsWith('/tags/list')).length).toBe(3);
    });
  });

  it('push by tag and by digest, resolve, fetch the exact bytes, tags, delete (docker-registry fs)', async () => {
    const client = new RegistryClient({ url: services().registry.fs.url });
    try {
      const repo = client.repository(repoName('manifests'));
      const config = Buffer.from('{}');
      await repo.blobs.push({ digest: digestOf(config), size: config.length }, bufferSource(config));
      // pretty-printed on purpose: the bytes are pushed and read back verbatim, not re-serialised
      const bytes = Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: { mediaType: MediaType.Empty, digest: digestOf(config), size: 2 }, layers: [] }, null, 2),
      );
      const pushed = await repo.manifests.push(bytes, MediaType.ImageManifest, 'v1');
      expect(pushed).toEqual({ mediaType: MediaType.ImageManifest, digest: digestOf(bytes), size: bytes.length });
      expect(await repo.manifests.resolve('v1')).toEqual(pushed);
      expect(await repo.manifests.resolve(pushed.digest)).toEqual(pushed);
      const fetched = await repo.manifests.fetch('v1');
      expect(fetched.bytes.equals(bytes)).toBe(true);
      expect(fetched.descriptor).toEqual(pushed);

      const untagged = Buffer.from(bytes.toString().replace('"layers": []', '"layers": [], "annotations": {"a": "b"}'));
      const byDigest = await repo.manifests.push(untagged, MediaType.ImageManifest);
      expect((await repo.manifests.fetch(byDigest.digest)).bytes.equals(untagged)).toBe(true);
      expect(await repo.manifests.tags()).toEqual(['v1']);

      expect(await repo.manifests.delete(pushed.digest)).toBe(true);
      expect(await repo.manifests.resolve('v1')).toBeUndefined();
      await expect(repo.manifests.fetch('v1')).rejects.toBeInstanceOf(NotFoundError);
      expect(await repo.manifests.delete(pushed.digest)).toBe(false);
    } finally {
      await client.close();
    }
  });
});
