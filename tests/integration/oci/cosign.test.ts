/**
 * Our cosign-compatible signatures (shared/oci/cosign.ts), checked by cosign itself (github.com/sigstore/cosign/v3,
 * built by tests/infra/install into the Flux tool folder): `cosign verify --key --insecure-ignore-tlog` against the
 * pipeline's registry (zot with the shipped config: TLS, htpasswd, access control), reading as a tenant's read user
 * the way Flux does, accepts what we push and rejects a signature by another key.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CosignSigner, MediaType, pushCosignSignature, RegistryClient, signatureTag } from '../../../shared/oci/index.js';
import { fluxBinary } from '../../infra/flux.js';
import { services } from '../../infra/services.js';
import { peerToolEnv, ZOT_TENANT } from '../../infra/zot.js';
import { pushSingleLayerManifest } from '../../support/oci-artifacts.js';

const run = promisify(execFile);
const p256 = (): CosignSigner =>
  new CosignSigner(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());

describe('cosign verify accepts our signatures (real cosign v3)', () => {
  let dir: string;
  let client: RegistryClient;
  let cosign: string;
  // in the tenant's part of the registry, which its read user (Flux's identity) may read
  const repository = `${ZOT_TENANT}/cosign-${Date.now().toString(36)}/app`;
  let digest: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const zot = services().registry.zot;
    cosign = fluxBinary('cosign');
    dir = await mkdtemp(join(tmpdir(), 'cosign-it-'));
    client = new RegistryClient({ url: zot.url, caFile: zot.caFile, credentials: zot.push });
    // a small single-layer artifact, the shape our snapshots have
    ({ digest } = await pushSingleLayerManifest(client.repository(repository), {
      artifactType: 'application/vnd.ocm.test',
      config: Buffer.from('{}'),
      configMediaType: MediaType.Empty,
      layer: Buffer.from('hello flux'),
      layerMediaType: MediaType.LayerGzip,
      tag: '1.0.0',
    }));
    // cosign reads registry credentials from DOCKER_CONFIG and trusts the run's CA through SSL_CERT_FILE
    env = { ...(await peerToolEnv(zot, dir, 'read')), HOME: dir, NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' };
  });
  afterAll(async () => {
    await client?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const verify = async (publicKeyPem: string) => {
    const key = join(dir, `key-${Math.random().toString(36).slice(2)}.pub`);
    await writeFile(key, publicKeyPem);
    const ref = `${services().registry.zot.host}/${repository}@${digest}`;
    return run(cosign, ['verify', '--key', key, '--insecure-ignore-tlog', '--output', 'json', ref], { env }).then(
      ({ stdout, stderr }) => ({ ok: true, stdout, stderr }),
      (err: { stdout?: string; stderr?: string }) => ({ ok: false, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
    );
  };

  it('verifies the simple-signing signature we push under sha256-<hex>.sig', async () => {
    const signer = p256();
    const { host } = services().registry.zot;
    await pushCosignSignature(client.repository(repository), `${host}/${repository}`, digest, signer);
    expect(await client.repository(repository).manifests.resolve(signatureTag(digest))).toBeDefined();
    const res = await verify(signer.publicKeyPem);
    expect(res.ok, res.stderr).toBe(true);
    const out = JSON.parse(res.stdout) as Array<{ critical: { image: { 'docker-manifest-digest': string }; identity: { 'docker-reference': string } } }>;
    expect(out[0]!.critical.image['docker-manifest-digest']).toBe(digest);
    expect(out[0]!.critical.identity['docker-reference']).toBe(`${host}/${repository}`);

    // the same signature does not verify with another public key
    const other = await verify(p256().publicKeyPem);
    expect(other.ok).toBe(false);
    expect(other.stderr).toMatch(/no matching signatures|invalid signature|verification/i);
  });
});
