import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CosignSigner,
  hasCosignSignature,
  pushCosignSignature,
  signatureTag,
  SigningKeyError,
  simpleSigningPayload,
  type ImageManifest,
} from '../../../shared/oci/index.js';
import { LayoutStore } from '../../../shared/snapshot/index.js';
import { sha256 } from '../../support/digest.js';

const p256 = (): string => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('cosign simple signing', () => {
  it('names the signature tag after the digest', () => {
    expect(signatureTag(DIGEST)).toBe(`sha256-${'ab'.repeat(32)}.sig`);
    expect(() => signatureTag('sha512:00')).toThrow(SigningKeyError);
  });

  it('writes the payload cosign writes (key order, type, optional null)', () => {
    expect(simpleSigningPayload('reg.local:5000/ns/app', DIGEST).toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"reg.local:5000/ns/app"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":null}`,
    );
  });

  it('signs with ECDSA P-256 over SHA-256 (DER), checkable with the exported public key', () => {
    const signer = new CosignSigner(p256());
    const payload = simpleSigningPayload('r/x', DIGEST);
    const sig = signer.sign(payload);
    expect(verify('sha256', payload, createPublicKey(signer.publicKeyPem), Buffer.from(sig, 'base64'))).toBe(true);
    expect(signer.verify(Buffer.from('other'), sig)).toBe(false);
    expect(signer.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('refuses keys cosign cannot verify, saying why', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => new CosignSigner(rsa)).toThrow(/must be ECDSA P-256.*got a rsa key/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => new CosignSigner(p384)).toThrow(/got an EC key on secp384r1/);
    expect(() => new CosignSigner('not a key')).toThrow(/not a readable unencrypted PEM private key/);
  });

  describe('in a repository', () => {
    let dir: string;
    let store: LayoutStore;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'cosign-'));
      store = new LayoutStore(dir);
    });
    afterAll(async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('pushes a one-layer signature manifest under the .sig tag, found again only for our key and that digest', async () => {
      const repo = store.repository('ns/configuration/app');
      const signer = new CosignSigner(p256());
      const desc = await pushCosignSignature(repo, 'reg.local:5000/ns/configuration/app', DIGEST, signer);
      const { bytes } = await repo.manifests.fetch(signatureTag(DIGEST));
      expect(sha256(bytes)).toBe(desc.digest);
      const manifest = JSON.parse(bytes.toString()) as ImageManifest;
      expect(manifest.layers).toHaveLength(1);
      expect(manifest.layers[0]).toMatchObject({ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json' });
      expect(manifest.layers[0]!.annotations?.['dev.cosignproject.cosign/signature']).toMatch(/^[A-Za-z0-9+/=]+$/);

      expect(await hasCosignSignature(repo, DIGEST, signer)).toBe(true);
      expect(await hasCosignSignature(repo, DIGEST, new CosignSigner(p256()))).toBe(false);
      expect(await hasCosignSignature(repo, `sha256:${'cd'.repeat(32)}`, signer)).toBe(false);

      // someone else's signature replaces ours under the same tag: no longer ours
      await pushCosignSignature(repo, 'reg.local:5000/ns/configuration/app', DIGEST, new CosignSigner(p256()));
      expect(await hasCosignSignature(repo, DIGEST, signer)).toBe(false);
    });
  });
});
