import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthError,
  credentialsFromDockerConfig,
  digestFile,
  digestOf,
  fileSource,
  OciError,
  RegistryClient,
  type SocketTransferEvent,
} from '../../../shared/oci/index.js';
import { RegistryStore } from '../../../shared/snapshot/index.js';
import { services } from '../../infra/services.js';
import { BearerProxy } from './bearer-proxy.js';
import { drainCount, randomFile, repoName, scratchDir } from './helpers.js';

describe('bearer token flow and retries via a test-local token server + reverse proxy in front of docker-registry', () => {
  let proxy: BearerProxy;
  let dir: string;
  const clients: Array<{ close(): Promise<void> }> = [];
  beforeAll(async () => {
    proxy = new BearerProxy(services().registry.fs.url, 'robot', 'robot-pw');
    await proxy.start();
    dir = await scratchDir('bearer');
  });
  afterEach(() => {
    proxy.faults.length = 0;
    proxy.chunkMinLength = undefined;
    proxy.tagPageSize = undefined;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await proxy.stop();
  });

  it('challenge -> token per scope (Basic to the token server) -> Bearer; tokens are cached and refreshed after a 401', async () => {
    const store = new RegistryStore({ url: proxy.url, credentials: { username: 'robot', password: 'robot-pw' } });
    clients.push(store);
    const file = join(dir, 'a.txt');
    await writeFile(file, 'bearer content');
    const repo = repoName('bearer');
    const pushed = await store.pushArtifact(repo, { content: { path: file }, mediaType: 'text/plain', name: 'a' }, { tag: 'v1' });
    const art = await store.fetchArtifact(repo, 'v1');
    expect(art.descriptor.digest).toBe(pushed.manifest.digest);
    expect(await drainCount(await store.openBlob(repo, art.blob))).toBe(pushed.blob.size);
    expect(await store.listTags(repo)).toEqual(['v1']);

    const scopes = proxy.tokenRequests.map((t) => t.scope);
    expect(new Set(scopes)).toEqual(new Set([`repository:${repo}:pull`, `repository:${repo}:pull,push`]));
    expect(scopes.length).toBe(2); // one token per scope, then cached
    expect(proxy.tokenRequests.every((t) => t.basicUser === 'robot' && t.service === 'test-registry')).toBe(true);
    const unauthenticated = proxy.requests.filter((r) => !r.bearer);
    expect(unauthenticated.length).toBe(1); // only the very first request, which learned the challenge

    proxy.revokeAll();
    const before = proxy.tokenRequests.length;
    expect((await store.resolve(repo, 'v1'))?.digest).toBe(pushed.manifest.digest);
    expect(proxy.tokenRequests.length).toBe(before + 1);
  });

  it('large blobs on the raw-socket path carry the Bearer token of their scope; a revoked token falls back, refreshes, and the next transfer is on the socket again; 503 + Retry-After retried, 400 never', async () => {
    const events: SocketTransferEvent[] = [];
    const client = new RegistryClient({ url: proxy.url, credentials: { username: 'robot', password: 'robot-pw' }, onSocketTransfer: (e) => events.push(e) });
    clients.push(client);
    const repo = client.repository(repoName('bearer-socket'));
    const file = await randomFile(join(dir, 'big.bin'), 12 * 1024 * 1024 + 3);
    const desc = await digestFile(file);
    await repo.blobs.push(desc, fileSource(file));
    expect(events.map((e) => e.op)).toEqual(['PUT']);
    const puts = proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/'));
    expect(puts.at(-1)?.bearer).toBe(true);

    proxy.revokeAll();
    const tokensBefore = proxy.tokenRequests.length;
    const out = join(dir, 'big-out.bin');
    await repo.blobs.fetchToFile(desc, out);
    // the socket GET met a 401, so undici fetched it, refreshing the pull token on the way
    expect(events.map((e) => e.op)).toEqual(['PUT']);
    expect(proxy.tokenRequests.length).toBe(tokensBefore + 1);
    expect((await digestFile(out)).digest).toBe(desc.digest);

    await repo.blobs.fetchToFile(desc, out);
    expect(events.map((e) => e.op)).toEqual(['PUT', 'GET']);
    expect(proxy.tokenRequests.length).toBe(tokensBefore + 1);
    expect((await digestFile(out)).digest).toBe(desc.digest);

    // retry policy on the socket path: a 503 with Retry-After is retried after the delay, a 400 never
    proxy.faults.push({ status: 503, retryAfter: '1', method: 'GET' });
    const t0 = Date.now();
    await repo.blobs.fetchToFile(desc, out);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(events.map((e) => e.op)).toEqual(['PUT', 'GET', 'GET']);
    proxy.faults.push({ status: 400, method: 'GET' });
    const n = proxy.requests.length;
    const err = await repo.blobs.fetchToFile(desc, out).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400 });
    expect(proxy.requests.length - n).toBe(1);
  });

  it('wrong credentials at the token server => AuthError naming the token server, without the password', async () => {
    const client = new RegistryClient({ url: proxy.url, credentials: { username: 'robot', password: 'nope-pw' } });
    clients.push(client);
    const err = await client.repository('x/y').manifests.resolve('v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(/token server 127\.0\.0\.1:\d+ rejected the configured credentials/);
    expect((err as Error).message).not.toContain('nope-pw');
  });

  it('503 and 429 with Retry-After are retried after the given delay; a 400 is never retried', async () => {
    const client = new RegistryClient({ url: proxy.url, credentials: { username: 'robot', password: 'robot-pw' } });
    clients.push(client);
    const repo = client.repository(repoName('retry'));
    const data = Buffer.from('retry me');
    await writeFile(join(dir, 'r.txt'), data);
    await repo.blobs.push({ digest: digestOf(data), size: data.length }, fileSource(join(dir, 'r.txt')));

    proxy.faults.push({ status: 503, retryAfter: '1', method: 'HEAD' }, { status: 429, retryAfter: '1', method: 'HEAD' });
    const t0 = Date.now();
    expect(await repo.blobs.exists(digestOf(data))).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(proxy.faults).toEqual([]);

    proxy.faults.push({ status: 400, method: 'GET' });
    const n = proxy.requests.length;
    const err = await repo.manifests.fetch('v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OciError);
    expect(err).toMatchObject({ status: 400 });
    expect(proxy.requests.length - n).toBe(1);
  });

  it('follows Link pagination of tags/list (pages of 2 served by the proxy)', async () => {
    const client = new RegistryClient({ url: proxy.url, credentials: { username: 'robot', password: 'robot-pw' } });
    clients.push(client);
    const store = new RegistryStore(client);
    const repo = repoName('paged');
    const file = join(dir, 't.txt');
    await writeFile(file, 'tagged');
    const tags = ['a', 'b', 'c', 'd', 'e'];
    for (const t of tags) await store.pushArtifact(repo, { content: { path: file }, mediaType: 'text/plain', name: 't' }, { tag: t });
    proxy.tagPageSize = 2;
    const before = proxy.requests.length;
    expect((await store.listTags(repo)).sort()).toEqual(tags);
    expect(proxy.requests.slice(before).filter((r) => r.path.endsWith('/tags/list')).length).toBe(3);
  });

  it('honours OCI-Chunk-Min-Length: chunked PATCHes are at least that large', async () => {
    const client = new RegistryClient({
      url: proxy.url,
      credentials: { username: 'robot', password: 'robot-pw' },
      chunkBytes: 256 * 1024,
      monolithicMaxBytes: 0,
    });
    clients.push(client);
    proxy.chunkMinLength = 1024 * 1024;
    const data = Buffer.alloc(3 * 1024 * 1024 + 5, 7);
    await writeFile(join(dir, 'chunks.bin'), data);
    const before = proxy.patchSizes.length;
    const repo = client.repository(repoName('chunkmin'));
    await repo.blobs.push({ digest: digestOf(data), size: data.length }, fileSource(join(dir, 'chunks.bin')));
    expect(proxy.patchSizes.slice(before)).toEqual([1 << 20, 1 << 20, 1 << 20, 5]);
    expect(await repo.blobs.exists(digestOf(data))).toBe(true);
  });

  it('dockerconfigjson identitytoken: OAuth2 refresh-token grant (POST) at the token server', async () => {
    const client = new RegistryClient({
      url: proxy.url,
      credentials: credentialsFromDockerConfig({ auths: { [new URL(proxy.url).host]: { identitytoken: proxy.refreshToken } } }),
    });
    clients.push(client);
    const before = proxy.tokenRequests.length;
    const repo = client.repository(repoName('oauth'));
    expect(await repo.manifests.resolve('v1')).toBeUndefined();
    expect(proxy.tokenRequests.slice(before)).toEqual([
      { scope: `repository:${repo.repository}:pull`, service: 'test-registry', grant: 'refresh_token' },
    ]);
    const bad = new RegistryClient({ url: proxy.url, credentials: { identityToken: 'stale' } });
    clients.push(bad);
    await expect(bad.repository('x/y').manifests.resolve('v1')).rejects.toBeInstanceOf(AuthError);
  });
});
