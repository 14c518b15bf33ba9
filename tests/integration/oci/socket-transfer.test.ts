import { execFile } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthError,
  digestFile,
  DigestMismatchError,
  fileSource,
  RegistryClient,
  SizeMismatchError,
  type RegistryClientOptions,
  type SocketTransferEvent,
} from '../../../shared/oci/index.js';
import { copyArtifact, LayoutStore, pushFileArtifact } from '../../../shared/snapshot/index.js';

import { services } from '../../infra/services.js';
import { sha256File } from '../../support/digest.js';
import { freePort } from '../../support/free-port.js';
import { randomFile, repoName, scratchDir, throttlingRelay, tool } from './helpers.js';
import { OwnRegistry } from './own-registry.js';

const MiB = 1024 * 1024;
/** above the client's default socketTransferMinBytes (8 MiB), with an odd tail */
const BIG = 24 * MiB + 17;

/** A single-layer artifact (the file as its layer) in a new OCI layout, tagged v1. */
async function layoutWith(root: string, file: string, title: string): Promise<{ layer: { digest: string; size: number }; manifest: string }> {
  const repo = new LayoutStore(root).repository('src');
  const { layer, manifest } = await pushFileArtifact(repo, file, { artifactType: 'application/vnd.example.big', title, tag: 'v1' });
  return { layer, manifest: manifest.digest };
}

function blobFile(layoutRepoDir: string, digest: string): string {
  return join(layoutRepoDir, 'blobs/sha256', digest.slice('sha256:'.length));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Polls `size()` every 5 ms and runs `then` once it passes `bytes` (the kill switch of the crash tests). */
function whenPast(size: () => Promise<number>, bytes: number, then: () => Promise<void>): { done: Promise<boolean>; stop: () => void } {
  let stopped = false;
  const done = (async (): Promise<boolean> => {
    while (!stopped) {
      if ((await size()) > bytes) {
        await then();
        return true;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    return false;
  })();
  return { done, stop: () => void (stopped = true) };
}

interface RecordingProxy {
  url: string;
  requests: Array<{ method: string; url: string; authorization: string | undefined; status: number }>;
  close(): Promise<void>;
}

/** A plain HTTP forwarder in front of `target` that records each request's method, URL and Authorization. */
async function recordingProxy(target: URL): Promise<RecordingProxy> {
  const requests: RecordingProxy['requests'] = [];
  const server = createServer((req, res) => {
    const entry = { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, status: 0 };
    requests.push(entry);
    // the Host header is forwarded unchanged: the registry signed its S3 requests (and presigned URLs) for it
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        entry.status = up.statusCode ?? 0;
        res.writeHead(entry.status, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('large blobs on raw sockets (socket-transfer.ts) against docker-registry 2.8', () => {
  let dir: string;
  let big: string;
  let src: { layer: { digest: string; size: number }; manifest: string };
  beforeAll(async () => {
    dir = await scratchDir('socket');
    big = await randomFile(join(dir, 'big.bin'), BIG);
    src = await layoutWith(join(dir, 'src-layout'), big, 'big.bin');
  });

  const endpoints = (): Array<[string, RegistryClientOptions, string[]]> => {
    const s = services();
    const tls = s.registry.tls;
    return [
      ['fs', { url: s.registry.fs.url }, ['--plain-http']],
      ['s3', { url: s.registry.s3.url }, ['--plain-http']],
      [
        'tls+auth',
        { url: tls.url, caFile: tls.caFile, credentials: { username: tls.username, password: tls.password } },
        ['--ca-file', tls.caFile, '-u', tls.username, '-p', tls.password],
      ],
    ];
  };

  for (const name of ['fs', 's3', 'tls+auth'] as const) {
    it(`layout -> registry -> layout of a 24 MiB layer on the socket path, read back by oras (${name})`, { timeout: 90_000 }, async () => {
      const [, opts, orasFlags] = endpoints().find(([n]) => n === name)!;
      const events: SocketTransferEvent[] = [];
      const client = new RegistryClient({ ...opts, onSocketTransfer: (e) => events.push(e) });
      const host = new URL(opts.url).host;
      try {
        const repo = client.repository(repoName(`socket-${name.replace('+', '-')}`));
        const layoutSrc = new LayoutStore(join(dir, 'src-layout')).repository('src');
        expect((await copyArtifact(layoutSrc, 'v1', repo, { tag: 'v1' })).digest).toBe(src.manifest);
        expect(events).toEqual([{ op: 'PUT', repository: repo.repository, digest: src.layer.digest, bytes: BIG, host, ms: expect.any(Number) }]);

        const outRoot = join(dir, `pulled-${name}`);
        expect((await copyArtifact(repo, 'v1', new LayoutStore(outRoot).repository('dst'), { tag: 'v1' })).digest).toBe(src.manifest);
        expect(events[1]).toEqual({ op: 'GET', repository: repo.repository, digest: src.layer.digest, bytes: BIG, host, ms: expect.any(Number), smallWrites: expect.any(Boolean) });
        expect(await sha256File(blobFile(join(outRoot, 'dst'), src.layer.digest))).toBe(src.layer.digest);

        // oras reads what we pushed (from the registry) and what we pulled (our layout)
        const fromRegistry = join(dir, `oras-registry-${name}`);
        await tool(services().bin.oras, ['pull', ...orasFlags, '-o', fromRegistry, `${host}/${repo.repository}:v1`]);
        expect(await sha256File(join(fromRegistry, 'big.bin'))).toBe(src.layer.digest);
        const fromLayout = join(dir, `oras-layout-${name}`);
        await tool(services().bin.oras, ['pull', '--oci-layout', '-o', fromLayout, `${join(outRoot, 'dst')}:v1`]);
        expect(await sha256File(join(fromLayout, 'big.bin'))).toBe(src.layer.digest);
      } finally {
        await client.close();
      }
    });
  }

  describe('S3-backed registry that redirects blob GETs to presigned SeaweedFS URLs, behind htpasswd', () => {
    let own: OwnRegistry;
    let storage: RecordingProxy;
    const user = 'redirect-user';
    const password = 'redirect-password';
    beforeAll(async () => {
      const s3 = services().s3;
      // the registry reaches SeaweedFS (and signs the presigned URLs it hands out) through a recording proxy
      storage = await recordingProxy(new URL(s3.endpoint));
      const htpasswd = join(dir, 'htpasswd');
      const { stdout } = await promisify(execFile)('htpasswd', ['-Bbn', user, password]);
      await writeFile(htpasswd, stdout);
      own = new OwnRegistry(await scratchDir('socket-redirect'), await freePort(), {
        redirect: true,
        htpasswd,
        storage: {
          s3: {
            accesskey: s3.accessKeyId,
            secretkey: s3.secretAccessKey,
            region: s3.region,
            regionendpoint: storage.url,
            bucket: s3.bucket,
            secure: false,
            v4auth: true,
            chunksize: 5 * MiB,
            rootdirectory: `/socket-redirect-${process.pid}-${Date.now().toString(36)}`,
          },
        },
      });
      await own.start();
    }, 60_000);
    afterAll(async () => {
      await own?.stop();
      await storage?.close();
    });

    it('the download follows the 307 to storage (without the registry credentials) and verifies the bytes', { timeout: 90_000 }, async () => {
      const events: SocketTransferEvent[] = [];
      const client = new RegistryClient({ url: own.url, credentials: { username: user, password }, onSocketTransfer: (e) => events.push(e) });
      try {
        const repo = client.repository(repoName('redirect'));
        const layer = await digestFile(big);
        await repo.blobs.push(layer, fileSource(big));
        const out = join(dir, 'redirected.bin');
        await repo.blobs.fetchToFile(layer, out);
        expect(await sha256File(out)).toBe(layer.digest);
        // the bytes came from storage, not the registry: it answered 307 with a presigned URL
        expect(events.map((e) => [e.op, e.host])).toEqual([
          ['PUT', new URL(own.url).host],
          ['GET', new URL(storage.url).host],
        ]);
        const presigned = storage.requests.filter((r) => r.url.includes('X-Amz-Signature=') && r.method === 'GET');
        expect(presigned).toHaveLength(1);
        // our registry credentials stayed with the registry
        expect(presigned[0]?.authorization).toBeUndefined();
        expect(presigned[0]?.status).toBe(200);
      } finally {
        await client.close();
      }
    });
  });

  describe('faults', () => {
    let own: OwnRegistry;
    beforeAll(async () => {
      own = new OwnRegistry(await scratchDir('socket-faults'), await freePort());
      await own.start();
    });
    afterAll(async () => {
      await own.stop();
    });

    it('wrong bytes in the registry: DigestMismatchError / SizeMismatchError, nothing renamed into the layout', { timeout: 60_000 }, async () => {
      const client = new RegistryClient({ url: own.url });
      try {
        const repo = client.repository(repoName('socket-corrupt'));
        const layoutSrc = new LayoutStore(join(dir, 'src-layout')).repository('src');
        await copyArtifact(layoutSrc, 'v1', repo, { tag: 'v1' });
        const hex = src.layer.digest.slice('sha256:'.length);
        const stored = join(own.dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
        const original = await readFile(stored);

        // same length, one byte flipped: caught by the digest at the end
        const flipped = Buffer.from(original);
        flipped[BIG - 1] = (flipped[BIG - 1] ?? 0) ^ 0xff;
        await writeFile(stored, flipped);
        const outRoot = join(dir, 'corrupt-layout');
        const err = await copyArtifact(repo, 'v1', new LayoutStore(outRoot).repository('dst')).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DigestMismatchError);
        expect(err).toMatchObject({ expected: src.layer.digest });
        expect((err as Error).message).toMatch(/GET blob .* digest mismatch/);
        expect(await exists(blobFile(join(outRoot, 'dst'), src.layer.digest))).toBe(false);
        expect(await readdir(join(outRoot, 'dst/.uploads'))).toEqual([]);

        // shorter: the registry announces another Content-Length, refused before any byte is written
        await writeFile(stored, original.subarray(0, BIG - 1000));
        const short = await repo.blobs.fetchToFile(src.layer, join(dir, 'short.bin')).catch((e: unknown) => e);
        expect(short).toBeInstanceOf(SizeMismatchError);
        expect((short as Error).message).toMatch(/Content-Length: size mismatch, expected 25165841 bytes but got 25164841/);
        await writeFile(stored, original);
      } finally {
        await client.close();
      }
    });

    it('registry killed mid-download and mid-upload, then restarted: each transfer restarts from byte 0 and succeeds', { timeout: 120_000 }, async () => {
      const file = await randomFile(join(dir, 'crash.bin'), 200 * MiB);
      const desc = await digestFile(file);
      const retries: string[] = [];
      const events: SocketTransferEvent[] = [];
      const clientOf = (url: string): RegistryClient =>
        new RegistryClient({
          url,
          retry: { maxAttempts: 10, baseDelayMs: 300, maxDelayMs: 2000 },
          onRetry: (e, n) => retries.push(`${n}: ${e.message}`),
          onSocketTransfer: (e) => events.push(e),
        });
      const client = clientOf(own.url);
      const crash = async (): Promise<void> => {
        await own.kill();
        await new Promise((r) => setTimeout(r, 1000));
        await own.start();
      };
      try {
        const repo = client.repository(repoName('socket-crash'));
        // upload: kill once the registry has stored 40 MiB of the upload session
        const uploads = join(own.dataDir, 'docker/registry/v2/repositories', repo.repository, '_uploads');
        const uploaded = async (): Promise<number> => {
          const sessions = await readdir(uploads).catch(() => [] as string[]);
          const sizes = await Promise.all(sessions.map((s) => stat(join(uploads, s, 'data')).then((st) => st.size, () => 0)));
          return Math.max(0, ...sizes);
        };
        const upKill = whenPast(uploaded, 40 * MiB, crash);
        await repo.blobs.push(desc, fileSource(file));
        upKill.stop();
        expect(await upKill.done).toBe(true);
        const afterPush = retries.length;
        expect(afterPush).toBeGreaterThan(0);

        // download: kill once 40 MiB are in our file. Through a relay passing 100 MiB/s, so the 200 MiB cannot
        // arrive before the kill does (at full speed it took 0.2 s, and on a busy machine the poll can lag that much)
        const relay = await throttlingRelay(new URL(own.url), 100 * MiB);
        const slowClient = clientOf(relay.url);
        const out = join(dir, 'crash-out.bin');
        const downKill = whenPast(() => stat(out).then((s) => s.size, () => 0), 40 * MiB, crash);
        try {
          await slowClient.repository(repo.repository).blobs.fetchToFile(desc, out);
        } finally {
          downKill.stop();
          await slowClient.close();
          await relay.close();
        }
        expect(await downKill.done).toBe(true);
        expect(retries.length).toBeGreaterThan(afterPush);
        expect(await sha256File(out)).toBe(desc.digest);
        expect(events.map((e) => e.op)).toEqual(['PUT', 'GET']);
      } finally {
        await client.close();
      }
    });
  });

  it('401 with a wrong password: AuthError saying the credentials were rejected, no bytes written', async () => {
    const tls = services().registry.tls;
    const good = new RegistryClient({ url: tls.url, caFile: tls.caFile, credentials: { username: tls.username, password: tls.password } });
    const wrong = new RegistryClient({ url: tls.url, caFile: tls.caFile, credentials: { username: tls.username, password: 'not-the-password' } });
    try {
      const name = repoName('socket-401');
      await good.repository(name).blobs.push(src.layer, fileSource(big));
      const out = join(dir, 'unauthorised.bin');
      const err = await wrong.repository(name).blobs.fetchToFile(src.layer, out).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect((err as Error).message).toMatch(/GET blob .*: authentication required \(Basic realm ".+"\): the credentials configured for 127\.0\.0\.1:\d+ were rejected/);
      expect((await stat(out).catch(() => ({ size: 0 }))).size).toBe(0);
    } finally {
      await Promise.all([good.close(), wrong.close()]);
    }
  });
});
