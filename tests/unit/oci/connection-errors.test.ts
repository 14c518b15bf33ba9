import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactStoreAdapter } from '../../../functions/adapters/artifact-store.js';
import { describeConnectionError, RegistryClient } from '../../../shared/oci/index.js';
import { TransientError } from '../../../shared/ports/index.js';
import { LayoutStore } from '../../../shared/snapshot/index.js';

/** A plain-HTTP server on a free loopback port that answers every request with 404 (as an empty registry would). */
let server: Server;
let host: string;
let dir: string;
beforeAll(async () => {
  server = createServer((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NAME_UNKNOWN"}]}'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'ocmk-conn-'));
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe('connection and TLS failures in words', () => {
  it('TLS to a plain-HTTP registry says so (not OpenSSL text)', async () => {
    const client = new RegistryClient({ url: `https://${host}`, retry: { maxAttempts: 1 } });
    const err = await client.repository('a/b').manifests.resolve('1.0.0').then(() => undefined, (e: unknown) => e);
    await client.close();
    expect(err).toBeDefined();
    expect(describeConnectionError(err, host)).toEqual({
      message: `registry ${host} answered plain HTTP on a TLS connection; write the reference with http:// or list ${host} as an insecure (plain HTTP) registry`,
      transient: false,
    });
  });

  it('copyIn honours http:// (plain HTTP) and words a TLS mismatch without it', async () => {
    const store = artifactStoreAdapter(new LayoutStore(dir));
    try {
      const tls = await store.copyIn({ source: `${host}/a/b:1.0.0`, repository: 'ns/resource/x', tag: '1.0.0' }).then(() => undefined, (e: unknown) => e as Error);
      expect(tls?.message).toMatch(/answered plain HTTP on a TLS connection/);
      expect(tls).not.toBeInstanceOf(TransientError);
      // with the scheme the request goes out as plain HTTP and reaches the server: its 404 comes back
      const plain = await store.copyIn({ source: `http://${host}/a/b:1.0.0`, repository: 'ns/resource/x', tag: '1.0.0' }).then(() => undefined, (e: unknown) => e as Error);
      expect(plain?.message).toMatch(/not found/i);
      expect(plain?.message).not.toMatch(/TLS/);
    } finally {
      await store.close();
    }
  });

  it('a refused connection is transient and says which registry', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const client = new RegistryClient({ url: `http://127.0.0.1:${port}`, retry: { maxAttempts: 1 } });
    const err = await client.repository('a/b').manifests.resolve('1').then(() => undefined, (e: unknown) => e);
    await client.close();
    expect(describeConnectionError(err, `127.0.0.1:${port}`)).toMatchObject({ transient: true, message: `registry 127.0.0.1:${port} refused the connection (nothing listens there)` });
  });
});
