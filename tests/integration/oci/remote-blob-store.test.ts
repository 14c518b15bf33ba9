import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DigestMismatchError,
  digestFile,
  digestOf,
  fileSource,
  OciError,
  RegistryClient,
  type SocketTransferEvent,
} from '../../../shared/oci/index.js';
import { freePort } from '../../support/free-port.js';
import { useBearerProxy } from './bearer-proxy.js';
import { drainCount, randomFile, repoName, scratchDir } from './helpers.js';
import { OwnRegistry } from './own-registry.js';

describe('RemoteBlobStore', () => {
  describe('via a test-local token server + reverse proxy in front of docker-registry', () => {
    const fx = useBearerProxy('remote-blob-store');

    it('large blobs on the raw-socket path carry the Bearer token of their scope; a revoked token falls back, refreshes, and the next transfer is on the socket again; 503 + Retry-After retried, 400 never', async () => {
      const events: SocketTransferEvent[] = [];
      const client = new RegistryClient({ url: fx.proxy.url, credentials: { username: 'robot', password: 'robot-pw' }, onSocketTransfer: (e) => events.push(e) });
      fx.keep(client);
      const repo = client.repository(repoName('bearer-socket'));
      const file = await randomFile(join(fx.dir, 'big.bin'), 12 * 1024 * 1024 + 3);
      const desc = await digestFile(file);
      await repo.blobs.push(desc, fileSource(file));
      expect(events.map((e) => e.op)).toEqual(['PUT']);
      const puts = fx.proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/'));
      expect(puts.at(-1)?.bearer).toBe(true);

      fx.proxy.revokeAll();
      const tokensBefore = fx.proxy.tokenRequests.length;
      const out = join(fx.dir, 'big-out.bin');
      await repo.blobs.fetchToFile(desc, out);
      // the socket GET met a 401, so undici fetched it, refreshing the pull token on the way
      expect(events.map((e) => e.op)).toEqual(['PUT']);
      expect(fx.proxy.tokenRequests.length).toBe(tokensBefore + 1);
      expect((await digestFile(out)).digest).toBe(desc.digest);

      await repo.blobs.fetchToFile(desc, out);
      expect(events.map((e) => e.op)).toEqual(['PUT', 'GET']);
      expect(fx.proxy.tokenRequests.length).toBe(tokensBefore + 1);
      expect((await digestFile(out)).digest).toBe(desc.digest);

      // retry policy on the socket path: a 503 with Retry-After is retried after the delay, a 400 never
      fx.proxy.faults.push({ status: 503, retryAfter: '1', method: 'GET' });
      const t0 = Date.now();
      await repo.blobs.fetchToFile(desc, out);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      expect(events.map((e) => e.op)).toEqual(['PUT', 'GET', 'GET']);
      fx.proxy.faults.push({ status: 400, method: 'GET' });
      const n = fx.proxy.requests.length;
      const err = await repo.blobs.fetchToFile(desc, out).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 400 });
      expect(fx.proxy.requests.length - n).toBe(1);
    });

    it('honours OCI-Chunk-Min-Length: chunked PATCHes are at least that large', async () => {
      const client = new RegistryClient({
        url: fx.proxy.url,
        credentials: { username: 'robot', password: 'robot-pw' },
        chunkBytes: 256 * 1024,
        monolithicMaxBytes: 0,
      });
      fx.keep(client);
      fx.proxy.chunkMinLength = 1024 * 1024;
      const data = Buffer.alloc(3 * 1024 * 1024 + 5, 7);
      await writeFile(join(fx.dir, 'chunks.bin'), data);
      const before = fx.proxy.patchSizes.length;
      const repo = client.repository(repoName('chunkmin'));
      await repo.blobs.push({ digest: digestOf(data), size: data.length }, fileSource(join(fx.dir, 'chunks.bin')));
      expect(fx.proxy.patchSizes.slice(before)).toEqual([1 << 20, 1 << 20, 1 << 20, 5]);
      expect(await repo.blobs.exists(digestOf(data))).toBe(true);
    });
  });

  describe('faults, on a registry of its own', () => {
    let dir: string;
    let own: OwnRegistry;
    beforeAll(async () => {
      dir = await scratchDir('faults');
      own = new OwnRegistry(dir, await freePort());
      await own.start();
    });
    afterAll(async () => {
      await own.stop();
    });

    it('registry killed mid-upload and restarted: the upload restarts from byte 0 and succeeds', { timeout: 120_000 }, async () => {
      const file = await randomFile(join(dir, 'crash.bin'), 200 * 1024 * 1024);
      const desc = await digestFile(file);
      const retries: string[] = [];
      const client = new RegistryClient({
        url: own.url,
        retry: { maxAttempts: 10, baseDelayMs: 300, maxDelayMs: 2000 },
        onRetry: (err, n) => retries.push(`${n}: ${err.message}`),
      });
      let sent = 0;
      let killed: Promise<void> | undefined;
      const source = {
        open: (): Readable => {
          const s = fileSource(file).open() as Readable;
          s.on('data', (c: Buffer) => {
            sent += c.length;
            // first attempt: crash the registry once 40 MiB have gone out, bring it back 1 s later
            if (!killed && sent > 40 * 1024 * 1024) {
              killed = own.kill().then(() => new Promise((r) => setTimeout(r, 1000))).then(() => own.start());
            }
          });
          return s;
        },
      };
      try {
        const repo = client.repository(repoName('crash'));
        await repo.blobs.push(desc, source);
        await killed;
        expect(retries.length).toBeGreaterThan(0);
        expect(await repo.blobs.exists(desc.digest)).toBe(true);
        const h = createHash('sha256');
        for await (const c of await repo.blobs.fetch(desc)) h.update(c as Buffer);
        expect(`sha256:${h.digest('hex')}`).toBe(desc.digest);
      } finally {
        await client.close();
      }
    });

    it('wrong digest => typed errors: declared digest rejected on push, corrupted blob detected on pull', async () => {
      const client = new RegistryClient({ url: own.url });
      try {
        const repo = client.repository(repoName('wrong-digest'));
        const data = Buffer.from('the real content');
        await writeFile(join(dir, 'w.txt'), data);
        const lie = { digest: digestOf('something else'), size: data.length };
        const err = await repo.blobs.push(lie, fileSource(join(dir, 'w.txt'))).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OciError);
        expect(err).toMatchObject({ status: 400, code: 'DIGEST_INVALID' });

        // corrupt a stored blob in the registry's own storage and pull it
        const good = { digest: digestOf(data), size: data.length };
        await repo.blobs.push(good, fileSource(join(dir, 'w.txt')));
        const hex = good.digest.slice('sha256:'.length);
        const blobDir = join(dir, 'data/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex);
        expect(await readdir(blobDir)).toContain('data');
        await writeFile(join(blobDir, 'data'), 'the fake content');
        const stream = await repo.blobs.fetch(good);
        const pulled = await drainCount(stream).catch((e: unknown) => e);
        expect(pulled).toBeInstanceOf(DigestMismatchError);
        expect((pulled as DigestMismatchError).expected).toBe(good.digest);
        expect((pulled as Error).message).toMatch(/digest mismatch/);
      } finally {
        await client.close();
      }
    });
  });
});
