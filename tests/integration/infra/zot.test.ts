/**
 * tests/infra/zot.ts: the rendered config is the shipped registry/config.json with only a user's overrides, and the
 * zot started with it (services().registry.zot) serves over TLS with the shipped users; a second zot on the same
 * bucket prefix sees what the first stored (state lives in S3, not in the local data directory).
 */
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goTool } from '../../infra/binaries.js';
import { services } from '../../infra/services.js';
import { readShippedZotConfig, renderZotConfig, startZot, type RunningZot } from '../../infra/zot.js';
import { sha256 } from '../../support/digest.js';
import { MediaType } from '../../../shared/oci/media-types.js';

/** JSON paths whose values differ between a and b */
function changedPaths(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) => changedPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`));
}

const basic = (c: { username: string; password: string }): string => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

describe('zot starter (tests/infra/zot.ts)', () => {
  it('renders the shipped config with only what a user overrides', async () => {
    const shipped = await readShippedZotConfig();
    const rendered = renderZotConfig(shipped, {
      port: 5555,
      dataDir: '/tmp/x',
      tls: { certFile: '/c', keyFile: '/k' },
      htpasswdFile: '/h',
      s3: { endpoint: 'http://127.0.0.1:1', region: 'r' },
      bucket: 'b',
    });
    const allowed = [
      '.storage.rootDirectory',
      '.storage.storageDriver.regionendpoint',
      '.storage.storageDriver.region',
      '.storage.storageDriver.bucket',
      '.storage.storageDriver.secure',
      '.http.address',
      '.http.port',
      '.http.tls.cert',
      '.http.tls.key',
      '.http.auth.htpasswd.path',
      // the shipped sink is the in-cluster Broker, which a test run has no name for
      '.extensions.events.enable',
    ];
    const changed = changedPaths(shipped, rendered);
    expect(changed.filter((p) => !allowed.includes(p))).toEqual([]);
    expect(changed).toContain('.storage.storageDriver.regionendpoint');
    // GC, retention, access control and extensions are the shipped ones
    expect(rendered.storage.retention).toEqual(shipped.storage.retention);
    expect(rendered.http.accessControl).toEqual(shipped.http.accessControl);
  });

  describe('running', () => {
    let agent: Agent;
    beforeAll(async () => {
      agent = new Agent({ connect: { ca: await readFile(services().registry.zot.caFile) } });
    });
    afterAll(async () => {
      await agent?.close();
    });

    it('serves /v2/ over TLS (the run CA) to the shipped users only', async () => {
      const zot = services().registry.zot;
      const status = async (headers: Record<string, string> = {}): Promise<number> => {
        const res = await request(`${zot.url}/v2/`, { dispatcher: agent, headers });
        await res.body.dump();
        return res.statusCode;
      };
      expect(await status()).toBe(401);
      expect(await status({ authorization: basic(zot.push) })).toBe(200);
      expect(await status({ authorization: basic(zot.read) })).toBe(200);
      expect(await status({ authorization: basic({ username: zot.push.username, password: zot.read.password }) })).toBe(401);
    });

    it('a second zot on the same bucket prefix finds what the first stored', async () => {
      const s = services();
      const rootDirectory = `/zot-restart-${Date.now().toString(36)}`;
      const common = { bin: goTool('zot'), workDir: s.workDir, ca: s.ca, s3: s.s3, rootDirectory };
      let zot: RunningZot | undefined = await startZot({ ...common, name: `zot-a-${Date.now().toString(36)}` });
      let zot2: RunningZot | undefined;
      try {
        const creds = zot.endpoint.push;
        const push = await pushSmall(zot.endpoint.url, agent, creds);
        await zot.stop();
        zot = undefined;
        zot2 = await startZot({ ...common, name: `zot-b-${Date.now().toString(36)}`, passwords: { push: creds.password } });
        const res = await request(`${zot2.endpoint.url}/v2/restart/demo/manifests/${push}`, {
          method: 'HEAD',
          dispatcher: agent,
          headers: { authorization: basic(zot2.endpoint.push), accept: MediaType.ImageManifest },
        });
        await res.body.dump();
        expect(res.statusCode).toBe(200);
        expect(res.headers['docker-content-digest']).toBe(push);
      } finally {
        await zot?.stop();
        await zot2?.stop();
      }
    });
  });
});

/** Pushes an empty-config manifest with one small layer to restart/demo:1; returns the manifest digest. */
async function pushSmall(url: string, agent: Agent, creds: { username: string; password: string }): Promise<string> {
  const auth = { authorization: basic(creds) };
  const layer = Buffer.from(`layer ${Date.now()}`);
  const config = Buffer.from('{}');
  for (const blob of [layer, config]) {
    const res = await request(`${url}/v2/restart/demo/blobs/uploads/?digest=${sha256(blob)}`, {
      method: 'POST',
      dispatcher: agent,
      headers: { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(blob.length) },
      body: blob,
    });
    await res.body.dump();
    expect(res.statusCode).toBe(201);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      artifactType: 'application/vnd.ocm-knative.test',
      config: { mediaType: MediaType.Empty, digest: sha256(config), size: config.length },
      layers: [{ mediaType: MediaType.OctetStream, digest: sha256(layer), size: layer.length }],
    }),
  );
  const res = await request(`${url}/v2/restart/demo/manifests/1`, {
    method: 'PUT',
    dispatcher: agent,
    headers: { ...auth, 'content-type': MediaType.ImageManifest },
    body: manifest,
  });
  await res.body.dump();
  expect(res.statusCode).toBe(201);
  return sha256(manifest);
}
