// Smoke tests of the real registries started by tests/infra: what skopeo pushes, crane pulls back
// byte-identical; the S3-backed registry really writes into the S3 bucket; the TLS registry enforces auth.
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { writeOciLayout } from '../../infra/oci-layout.js';
import { services } from '../../infra/services.js';
import { sha256 } from '../../support/digest.js';
import { MediaType } from '../../../shared/oci/media-types.js';

const run = promisify(execFile);

async function skopeoPush(layoutDir: string, tag: string, dest: string, extra: string[] = []): Promise<void> {
  await run(services().bin.skopeo, [
    '--insecure-policy', 'copy', '--preserve-digests', ...extra, `oci:${layoutDir}:${tag}`, `docker://${dest}`,
  ]);
}

async function cranePull(ref: string, layerDigest: string): Promise<{ digest: string; manifest: Buffer; layer: Buffer }> {
  const crane = services().bin.crane;
  const repo = ref.slice(0, ref.lastIndexOf(':'));
  const [{ stdout: digest }, manifest, layer] = await Promise.all([
    run(crane, ['digest', '--insecure', ref]),
    run(crane, ['manifest', '--insecure', ref], { encoding: 'buffer' }).then((r) => r.stdout),
    run(crane, ['blob', '--insecure', `${repo}@${layerDigest}`], { encoding: 'buffer', maxBuffer: 64 << 20 }).then((r) => r.stdout),
  ]);
  return { digest: digest.trim(), manifest, layer };
}

describe('registry (docker-registry 2.8)', () => {
  for (const variant of ['fs', 's3'] as const) {
    it(`${variant}: skopeo push, crane pull, digests equal`, async () => {
      const reg = services().registry[variant];
      const layout = await writeOciLayout(await mkdtemp(join(services().workDir, 'layout-')));
      const ref = `${reg.host}/infra/smoke-${variant}:${layout.tag}`;
      await skopeoPush(layout.dir, layout.tag, ref, ['--dest-tls-verify=false']);
      const pulled = await cranePull(ref, layout.layerDigest);
      expect(pulled.digest).toBe(layout.manifestDigest);
      expect(sha256(pulled.manifest)).toBe(layout.manifestDigest);
      expect(pulled.manifest.equals(layout.manifestBytes)).toBe(true);
      expect(sha256(pulled.layer)).toBe(layout.layerDigest);
    });
  }

  it('s3: the pushed layer is an object in the bucket', async () => {
    const { registry, s3 } = services();
    const layout = await writeOciLayout(await mkdtemp(join(services().workDir, 'layout-')), { layerBytes: 200_000 });
    await skopeoPush(layout.dir, layout.tag, `${registry.s3.host}/infra/in-bucket:${layout.tag}`, ['--dest-tls-verify=false']);
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    try {
      const hex = layout.layerDigest.slice('sha256:'.length);
      const prefix = `${registry.s3.rootDirectory.replace(/^\//, '')}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/`;
      const listed = await client.send(new ListObjectsV2Command({ Bucket: registry.s3.bucket, Prefix: prefix }));
      const data = listed.Contents?.find((o) => o.Key === `${prefix}data`);
      expect(data, `no ${prefix}data in bucket ${registry.s3.bucket}`).toBeDefined();
      expect(data?.Size).toBe(layout.layerSize);
    } finally {
      client.destroy();
    }
  });

  describe('tls + htpasswd', () => {
    const agents: Agent[] = [];
    afterAll(async () => Promise.all(agents.map((a) => a.close())));

    it('refuses anonymous access and accepts the bcrypt user over TLS with the run CA', async () => {
      const reg = services().registry.tls;
      const ca = await readFile(reg.caFile, 'utf8');
      const agent = new Agent({ connect: { ca } });
      agents.push(agent);
      const anon = await request(`${reg.url}/v2/`, { dispatcher: agent });
      await anon.body.dump();
      expect(anon.statusCode).toBe(401);
      expect(String(anon.headers['www-authenticate'])).toMatch(/^Basic /);

      const basic = `Basic ${Buffer.from(`${reg.username}:${reg.password}`).toString('base64')}`;
      const wrong = await request(`${reg.url}/v2/`, { dispatcher: agent, headers: { authorization: `Basic ${Buffer.from(`${reg.username}:nope`).toString('base64')}` } });
      await wrong.body.dump();
      expect(wrong.statusCode).toBe(401);
      const ok = await request(`${reg.url}/v2/`, { dispatcher: agent, headers: { authorization: basic } });
      await ok.body.dump();
      expect(ok.statusCode).toBe(200);

      // not trusted without the CA: the server's certificate is really self-made
      await expect(request(`${reg.url}/v2/`)).rejects.toThrow(/certificate/i);
    });

    it('skopeo push needs credentials; with them the manifest is there', async () => {
      const reg = services().registry.tls;
      const layout = await writeOciLayout(await mkdtemp(join(services().workDir, 'layout-')));
      const certDir = await mkdtemp(join(services().workDir, 'certs-'));
      await writeFile(join(certDir, 'ca.crt'), await readFile(reg.caFile));
      const ref = `${reg.host}/infra/tls:${layout.tag}`;
      await expect(skopeoPush(layout.dir, layout.tag, ref, ['--dest-cert-dir', certDir])).rejects.toThrow(/unauthorized|authentication required|401/i);
      await skopeoPush(layout.dir, layout.tag, ref, ['--dest-cert-dir', certDir, '--dest-creds', `${reg.username}:${reg.password}`]);

      const agent = new Agent({ connect: { ca: await readFile(reg.caFile, 'utf8') } });
      agents.push(agent);
      const res = await request(`${reg.url}/v2/infra/tls/manifests/${layout.tag}`, {
        dispatcher: agent,
        headers: {
          accept: MediaType.ImageManifest,
          authorization: `Basic ${Buffer.from(`${reg.username}:${reg.password}`).toString('base64')}`,
        },
      });
      const body = Buffer.from(await res.body.arrayBuffer());
      expect(res.statusCode).toBe(200);
      expect(res.headers['docker-content-digest']).toBe(layout.manifestDigest);
      expect(sha256(body)).toBe(layout.manifestDigest);
    });
  });
});
