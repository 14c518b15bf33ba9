/**
 * shared/ocm/signing.ts: signing a digest and checking a signature value (the upstream compat-rsa vector), and PEM
 * signatures carrying a certificate chain (verified against a root CA and an issuer; openssl makes the PKI).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateError,
  descriptorSet,
  DigestMismatchError,
  fetchWithReferences,
  parseComponentDescriptor,
  signComponent,
  signDigest,
  SignatureInvalidError,
  verifyComponent,
  verifySignatureValue,
} from '../../../shared/ocm/index.js';
import { APP } from '../../fixtures/ocm/sample.js';
import { rsaKeys } from '../../support/components.js';
import { TESTDATA } from './testdata.js';
import { signedSampleCtf } from './signed-sample.js';

const run = promisify(execFile);
const keys = rsaKeys({ privateKeyEncoding: 'pkcs1' });

const sample = signedSampleCtf(keys.privateKey);

describe('compat-rsa golden signature', () => {
  const d = join(TESTDATA, 'signed/compat-rsa');
  const exp = JSON.parse(readFileSync(join(d, 'expected.json'), 'utf8')) as {
    signature: { digest: { value: string }; signature: { value: string; algorithm: string; mediaType: string } };
  };
  it('signing the digest with rsa.priv reproduces the upstream sign-hash vector', () => {
    const s = signDigest(exp.signature.digest.value, readFileSync(join(d, 'rsa.priv')));
    // literal on purpose: the signature media type OCM writes
    expect(s).toEqual({ algorithm: 'RSASSA-PKCS1-V1_5', mediaType: 'application/vnd.ocm.signature.rsa', value: exp.signature.signature.value });
  });
  it('the stored signature verifies with rsa.pub (PKCS#1 public key)', () => {
    expect(() =>
      verifySignatureValue({ component: 'c', signatureName: 'test', digestHex: exp.signature.digest.value, hashAlgorithm: 'sha256', signature: exp.signature.signature, key: readFileSync(join(d, 'rsa.pub')) }),
    ).not.toThrow();
  });
  it('full verification reports the legacy digest as a digest mismatch (as the current upstream library does)', async () => {
    const cd = parseComponentDescriptor(readFileSync(join(d, 'component-archive/component-descriptor.yaml')));
    await expect(verifyComponent(descriptorSet(cd), { keys: [{ signature: 'test', publicKey: readFileSync(join(d, 'rsa.pub')) }], skipResourceDigests: true })).rejects.toBeInstanceOf(
      DigestMismatchError,
    );
  });
});

describe('PEM signatures with certificate chains', () => {
  let pki: string;
  const ossl = (args: string[]) => run('openssl', args, { cwd: pki });
  beforeAll(async () => {
    pki = await mkdtemp(join(tmpdir(), 'ocm-pki-'));
    await writeFile(join(pki, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
    await writeFile(join(pki, 'leaf.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n');
    for (const n of ['root', 'int', 'leaf', 'other']) await ossl(['genrsa', '-traditional', '-out', `${n}.key`, '2048']);
    await ossl(['req', '-x509', '-new', '-key', 'root.key', '-subj', '/CN=ocm root', '-days', '2', '-out', 'root.pem', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    await ossl(['req', '-x509', '-new', '-key', 'other.key', '-subj', '/CN=other root', '-days', '2', '-out', 'other.pem', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    await ossl(['req', '-new', '-key', 'int.key', '-subj', '/CN=ocm intermediate', '-out', 'int.csr']);
    await ossl(['x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', '2', '-extfile', 'ca.ext', '-out', 'int.pem']);
    await ossl(['req', '-new', '-key', 'leaf.key', '-subj', '/O=Acme/CN=acme signer', '-out', 'leaf.csr']);
    await ossl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-days', '2', '-extfile', 'leaf.ext', '-out', 'leaf.pem']);
  });
  afterAll(async () => rm(pki, { recursive: true, force: true }));

  it('verifies against the root CA, checks the issuer, rejects a foreign root and a wrong issuer', async () => {
    const chain = (await readFile(join(pki, 'leaf.pem'), 'utf8')) + (await readFile(join(pki, 'int.pem'), 'utf8'));
    const set = await fetchWithReferences(sample.repo, { name: APP, version: '1.1.0' });
    const signed = await signComponent(set, { signatureName: 'pem', privateKey: await readFile(join(pki, 'leaf.key')), certificateChain: chain });
    const sig = signed.root.signatures.find((s) => s.name === 'pem')!;
    expect(sig.signature.mediaType).toBe('application/x-pem-file');
    expect(sig.signature.value).toContain('-----BEGIN SIGNATURE-----\nSignature Algorithm: RSASSA-PKCS1-V1_5');
    expect(sig.signature.issuer).toBe('CN=acme signer,O=Acme');
    const root = await readFile(join(pki, 'root.pem'));
    await expect(verifyComponent(signed, { keys: [{ signature: 'pem', publicKey: root, issuer: 'CN=acme signer' }], skipResourceDigests: true })).resolves.toBeTruthy();
    await expect(verifyComponent(signed, { keys: [{ signature: 'pem', publicKey: await readFile(join(pki, 'other.pem')) }], skipResourceDigests: true })).rejects.toBeInstanceOf(CertificateError);
    await expect(verifyComponent(signed, { keys: [{ signature: 'pem', publicKey: root, issuer: 'CN=someone else' }], skipResourceDigests: true })).rejects.toBeInstanceOf(SignatureInvalidError);
    // sigstore's identity and log key mean nothing to an RSA signature: said, not ignored
    await expect(verifyComponent(signed, { keys: [{ signature: 'pem', publicKey: root, subject: 'dev@acme.example' }], skipResourceDigests: true })).rejects.toThrow(/subject applies to sigstore signatures only/);
    await expect(verifyComponent(signed, { keys: [{ signature: 'pem', publicKey: root, rekorKey: keys.publicKey }], skipResourceDigests: true })).rejects.toThrow(/a Rekor key applies to sigstore signatures only/);
    const forged = structuredClone(signed.root);
    forged.signatures.find((s) => s.name === 'pem')!.signature.issuer = 'CN=mallory';
    await expect(verifyComponent(descriptorSet(forged, signed.all.slice(1)), { keys: [{ signature: 'pem', publicKey: root }], skipResourceDigests: true })).rejects.toThrow(/issuer "CN=mallory"/);
  });
});
