import { writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthError,
  bufferSource,
  credentialsFromDockerConfig,
  digestOf,
  fileSource,
  MediaType,
  OciError,
  RegistryClient,
  RegistryUnavailableError,
} from '../../../shared/oci/index.js';
import { RegistryStore } from '../../../shared/snapshot/index.js';
import { freePort } from '../../support/free-port.js';
import { services } from '../../infra/services.js';
import { useBearerProxy } from './bearer-proxy.js';
import { drainCount, repoName } from './helpers.js';

describe('RegistryClient', () => {
  describe('auth and retries via a test-local token server + reverse proxy in front of docker-registry', () => {
    const fx = useBearerProxy('registry-client');

    it('challenge -> token per scope (Basic to the token server) -> Bearer; tokens are cached and refreshed after a 401', async () => {
      const store = new RegistryStore({ url: fx.proxy.url, credentials: { username: 'robot', password: 'robot-pw' } });
      fx.keep(store);
      const file = join(fx.dir, 'a.txt');
      await writeFile(file, 'bearer content');
      const repo = repoName('bearer');
      const pushed = await store.pushArtifact(repo, { content: { path: file }, mediaType: 'text/plain', name: 'a' }, { tag: 'v1' });
      const art = await store.fetchArtifact(repo, 'v1');
      expect(art.descriptor.digest).toBe(pushed.manifest.digest);
      expect(await drainCount(await store.openBlob(repo, art.blob))).toBe(pushed.blob.size);
      expect(await store.listTags(repo)).toEqual(['v1']);

      const scopes = fx.proxy.tokenRequests.map((t) => t.scope);
      expect(new Set(scopes)).toEqual(new Set([`repository:${repo}:pull`, `repository:${repo}:pull,push`]));
      expect(scopes.length).toBe(2); // one token per scope, then cached
      expect(fx.proxy.tokenRequests.every((t) => t.basicUser === 'robot' && t.service === 'test-registry')).toBe(true);
      const unauthenticated = fx.proxy.requests.filter((r) => !r.bearer);
      expect(unauthenticated.length).toBe(1); // only the very first request, which learned the challenge

      fx.proxy.revokeAll();
      const before = fx.proxy.tokenRequests.length;
      expect((await store.resolve(repo, 'v1'))?.digest).toBe(pushed.manifest.digest);
      expect(fx.proxy.tokenRequests.length).toBe(before + 1);
    });

    it('503 and 429 with Retry-After are retried after the given delay; a 400 is never retried', async () => {
      const client = new RegistryClient({ url: fx.proxy.url, credentials: { username: 'robot', password: 'robot-pw' } });
      fx.keep(client);
      const repo = client.repository(repoName('retry'));
      const data = Buffer.from('retry me');
      await writeFile(join(fx.dir, 'r.txt'), data);
      await repo.blobs.push({ digest: digestOf(data), size: data.length }, fileSource(join(fx.dir, 'r.txt')));

      fx.proxy.faults.push({ status: 503, retryAfter: '1', method: 'HEAD' }, { status: 429, retryAfter: '1', method: 'HEAD' });
      const t0 = Date.now();
      expect(await repo.blobs.exists(digestOf(data))).toBe(true);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
      expect(fx.proxy.faults).toEqual([]);

      fx.proxy.faults.push({ status: 400, method: 'GET' });
      const n = fx.proxy.requests.length;
      const err = await repo.manifests.fetch('v1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OciError);
      expect(err).toMatchObject({ status: 400 });
      expect(fx.proxy.requests.length - n).toBe(1);
    });
  });

  describe('connections', () => {
    // HEAD requests (manifest resolve, blob exists: the no-op check of every event) reuse the connection. undici
    // closes it after each HEAD by default; a TCP relay written here counts the connections the client opens.
    let relay: Server;
    let connections = 0;
    let url: string;
    beforeAll(async () => {
      const target = new URL(services().registry.fs.url);
      relay = createServer((down) => {
        connections++;
        const up = connect(Number(target.port), target.hostname);
        down.pipe(up).pipe(down);
        up.on('error', () => down.destroy());
        down.on('error', () => up.destroy());
      });
      await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
      const addr = relay.address();
      if (addr === null || typeof addr === 'string') throw new Error('relay has no port');
      url = `http://127.0.0.1:${addr.port}`;
    });
    afterAll(async () => {
      await new Promise((r) => relay.close(r));
    });

    it('30 HEADs of manifests and blobs go over one kept-alive connection', async () => {
      const client = new RegistryClient({ url });
      const repo = client.repository(repoName('keepalive'));
      const config = Buffer.from('{}');
      await repo.blobs.push({ digest: digestOf(config), size: 2 }, bufferSource(config));
      const manifest = Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: { mediaType: MediaType.Empty, digest: digestOf(config), size: 2 }, layers: [] }),
      );
      const pushed = await repo.manifests.push(manifest, MediaType.ImageManifest, 'v1');
      const before = connections;
      for (let i = 0; i < 15; i++) {
        expect((await repo.manifests.resolve(pushed.digest))?.digest).toBe(pushed.digest);
        expect(await repo.blobs.exists(digestOf(config))).toBe(true);
      }
      expect(await repo.manifests.resolve('absent')).toBeUndefined();
      expect(connections - before).toBeLessThanOrEqual(1);
      await client.close();
    });
  });

  describe('errors in words', () => {
    it('registry down for longer than the retry budget: a TransientError naming the operation', async () => {
      const client = new RegistryClient({ url: `http://127.0.0.1:${await freePort()}`, retry: { maxAttempts: 2, baseDelayMs: 10 } });
      await expect(client.repository('nobody/home').manifests.resolve('v1')).rejects.toThrow(RegistryUnavailableError);
      await expect(client.repository('nobody/home').manifests.resolve('v1')).rejects.toThrow(/HEAD manifest nobody\/home:v1: network error: ECONNREFUSED/);
      await client.close();
    });

    it('401 => AuthError that says what is wrong (no credentials, wrong password); dockerconfigjson credentials work', async () => {
      const tls = services().registry.tls;
      const anon = new RegistryClient({ url: tls.url, caFile: tls.caFile });
      const anonErr = await anon.repository('private/x').manifests.resolve('v1').catch((e: unknown) => e);
      expect(anonErr).toBeInstanceOf(AuthError);
      expect((anonErr as Error).message).toMatch(/authentication required \(Basic realm ".+"\): no credentials are configured for 127\.0\.0\.1:\d+/);
      const wrong = new RegistryClient({ url: tls.url, caFile: tls.caFile, credentials: { username: tls.username, password: 'wrong' } });
      const wrongErr = await wrong.ping().catch((e: unknown) => e);
      expect(wrongErr).toBeInstanceOf(AuthError);
      expect((wrongErr as Error).message).toMatch(/credentials configured for .* were rejected/);
      expect((wrongErr as Error).message).not.toContain('wrong');
      const auth = Buffer.from(`${tls.username}:${tls.password}`).toString('base64');
      const ok = new RegistryClient({
        url: tls.url,
        caFile: tls.caFile,
        credentials: credentialsFromDockerConfig(JSON.stringify({ auths: { [`https://${tls.host}`]: { auth } } })),
      });
      await ok.ping();
      expect(await ok.repository('private/x').manifests.resolve('v1')).toBeUndefined();
      // without the CA the TLS handshake fails (custom CA is added to, not a replacement of, the defaults)
      const noCa = new RegistryClient({ url: tls.url, retry: { maxAttempts: 1 } });
      await expect(noCa.ping()).rejects.toThrow();
      await Promise.all([anon.close(), wrong.close(), ok.close(), noCa.close()]);
    });
  });
});
