/**
 * HEAD requests (manifest resolve, blob exists: the no-op check of every event) reuse the connection. undici closes
 * it after each HEAD by default; a TCP relay written here counts the connections the client opens to the registry.
 */
import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bufferSource, digestOf, MediaType, RegistryClient } from '../../../shared/oci/index.js';
import { services } from '../../infra/services.js';
import { repoName } from './helpers.js';

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
