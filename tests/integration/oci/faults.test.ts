import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthError,
  credentialsFromDockerConfig,
  DigestMismatchError,
  digestFile,
  digestOf,
  fileSource,
  OciError,
  RegistryClient,
  TransientError,
} from '../../../shared/oci/index.js';

import { services } from '../../infra/services.js';
import { sha256Of } from '../../support/digest.js';
import { freePort } from '../../support/free-port.js';
import { drainCount, randomFile, repoName, scratchDir } from './helpers.js';
import { OwnRegistry } from './own-registry.js';

describe('faults', () => {
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
      expect(await sha256Of(await repo.blobs.fetch(desc))).toBe(desc.digest);
    } finally {
      await client.close();
    }
  });

  it('registry down for longer than the retry budget: a TransientError naming the operation', async () => {
    const client = new RegistryClient({ url: `http://127.0.0.1:${await freePort()}`, retry: { maxAttempts: 2, baseDelayMs: 10 } });
    await expect(client.repository('nobody/home').manifests.resolve('v1')).rejects.toThrow(TransientError);
    await expect(client.repository('nobody/home').manifests.resolve('v1')).rejects.toThrow(/HEAD manifest nobody\/home:v1: network error: ECONNREFUSED/);
    await client.close();
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
