/**
 * OCM sigstore / sigstore-v2 signatures verified offline (shared/ocm/sigstore.ts): two real signatures the OCM CLI
 * made against the public Fulcio and Rekor (upstream test data), and signatures made here in exactly OCM's layout
 * (api/tech/signing/handlers/sigstore: base64 JSON Rekor answer, hashedrekord body, ECDSA over the digest) with a
 * self-made CA standing in for Fulcio.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateError,
  descriptorSet,
  DigestMismatchError,
  normaliseDescriptor,
  parseComponentDescriptor,
  SignatureInvalidError,
  UnsupportedSignatureError,
  verifyComponent,
  type ComponentDescriptor,
  type Signature,
} from '../../../shared/ocm/index.js';
import { parseSigstoreValue } from '../../../shared/ocm/sigstore.js';
import { MediaType } from '../../../shared/oci/media-types.js';
import { createPki, fulcioIssuerExtension, type Issued, type Pki } from '../../fixtures/ocm/pki.js';
import { sigstoreSignature } from '../../fixtures/ocm/sigstore.js';
import { TESTDATA } from './testdata.js';

const UPSTREAM = join(TESTDATA, 'signed', 'sigstore');
const upstream = (): ComponentDescriptor => parseComponentDescriptor(readFileSync(join(UPSTREAM, 'component-descriptor-signed.yaml')));
const fulcioChain = readFileSync(join(UPSTREAM, 'fulcio-chain.pem'), 'utf8');
const rekorKey = readFileSync(join(UPSTREAM, 'rekor.pub'), 'utf8');
const GITHUB = 'https://github.com/login/oauth';
const SIGNER = 'gerald.gm.morrison@gmail.com';

const verify = (cd: ComponentDescriptor, key: { signature: string; publicKey: string | Buffer; issuer?: string; subject?: string; rekorKey?: string }) =>
  verifyComponent(descriptorSet(cd, []), { keys: [key], skipResourceDigests: true });
const failure = async (p: Promise<unknown>): Promise<Error> => p.then(() => new Error('verified, but should not have'), (e: unknown) => e as Error);

/** The key material inside the first Rekor entry of a signature. */
const entryMaterial = (cd: ComponentDescriptor, name: string): string =>
  parseSigstoreValue(cd.signatures.find((s) => s.name === name)!.signature.value, (d) => new SignatureInvalidError('t', name, d))[0]!.publicMaterial;

describe('upstream signatures made by the OCM CLI with the public Fulcio and Rekor', () => {
  it('sigstore (a bare key in the entry) verifies with that key and fails with another', async () => {
    const cd = upstream();
    const res = await verify(cd, { signature: 'sigstore-legacy', publicKey: entryMaterial(cd, 'sigstore-legacy') });
    expect(res.signatures[0]).toMatchObject({ name: 'sigstore-legacy', algorithm: 'sigstore' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const e = await failure(verify(cd, { signature: 'sigstore-legacy', publicKey: other }));
    expect(e).toBeInstanceOf(SignatureInvalidError);
    expect(e.message).toMatch(/signature "sigstore-legacy" of ocm.software\/podinfo-comp:1.0.0 .*not the public key given in verify\[\]/);
  });

  it('sigstore-v2 verifies against the Fulcio root with the expected identity, and only with it', async () => {
    const cd = upstream();
    await expect(verify(cd, { signature: 'sigstore-recommended', publicKey: fulcioChain, issuer: GITHUB, subject: SIGNER })).resolves.toBeTruthy();
    const wrongSubject = await failure(verify(cd, { signature: 'sigstore-recommended', publicKey: fulcioChain, issuer: GITHUB, subject: 'mallory@example.com' }));
    expect(wrongSubject.message).toMatch(/certifies gerald.gm.morrison@gmail.com, expected mallory@example.com/);
    const wrongIssuer = await failure(verify(cd, { signature: 'sigstore-recommended', publicKey: fulcioChain, issuer: 'https://accounts.google.com', subject: SIGNER }));
    expect(wrongIssuer.message).toMatch(/OIDC issuer https:\/\/github.com\/login\/oauth, expected https:\/\/accounts.google.com/);
    // a CA alone would accept everybody it ever certified
    const noIdentity = await failure(verify(cd, { signature: 'sigstore-recommended', publicKey: fulcioChain }));
    expect(noIdentity).toBeInstanceOf(SignatureInvalidError);
    expect(noIdentity.message).toMatch(/needs the expected identity: set both issuer .* and subject/);
    // the certificate's own key works as a plain public key too
    const leafKey = createPublicKey(entryMaterial(cd, 'sigstore-recommended')).export({ type: 'spki', format: 'pem' }).toString();
    await expect(verify(cd, { signature: 'sigstore-recommended', publicKey: leafKey })).resolves.toBeTruthy();
  });

  it("with Rekor's key, the signed entry timestamps verify and the certificate was valid when the entry was logged", async () => {
    const cd = upstream();
    await expect(verify(cd, { signature: 'sigstore-recommended', publicKey: fulcioChain, issuer: GITHUB, subject: SIGNER, rekorKey })).resolves.toBeTruthy();
    await expect(verify(cd, { signature: 'sigstore-legacy', publicKey: entryMaterial(cd, 'sigstore-legacy'), rekorKey })).resolves.toBeTruthy();
    // another log's key
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const foreign = await failure(verify(cd, { signature: 'sigstore-legacy', publicKey: entryMaterial(cd, 'sigstore-legacy'), rekorKey: other }));
    expect(foreign.message).toMatch(/was logged by Rekor log c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d, not by the log whose key is given/);
    // a moved integratedTime no longer matches what Rekor signed
    const moved = upstream();
    const sig = moved.signatures.find((s) => s.name === 'sigstore-recommended')!;
    const log = JSON.parse(Buffer.from(sig.signature.value, 'base64').toString()) as Record<string, { integratedTime: number }>;
    Object.values(log)[0]!.integratedTime += 3600;
    sig.signature.value = Buffer.from(JSON.stringify(log)).toString('base64');
    const e = await failure(verify(moved, { signature: 'sigstore-recommended', publicKey: fulcioChain, issuer: GITHUB, subject: SIGNER, rekorKey }));
    expect(e.message).toMatch(/the signed entry timestamp of Rekor entry .* does not verify with the given Rekor key/);
  });

  it('a bare-key (sigstore) entry cannot be checked against a CA', async () => {
    const e = await failure(verify(upstream(), { signature: 'sigstore-legacy', publicKey: fulcioChain, issuer: GITHUB, subject: SIGNER }));
    expect(e.message).toMatch(/carries a bare public key, no certificate to check against the given CA/);
  });

  it('a changed descriptor or a changed signature byte fails', async () => {
    const changed = upstream();
    changed.resources[0]!.version = '6.6.6';
    await expect(verify(changed, { signature: 'sigstore-recommended', publicKey: fulcioChain, issuer: GITHUB, subject: SIGNER })).rejects.toBeInstanceOf(DigestMismatchError);
    const cd = upstream();
    const sig = cd.signatures.find((s) => s.name === 'sigstore-legacy')!;
    const log = JSON.parse(Buffer.from(sig.signature.value, 'base64').toString()) as Record<string, { body: string }>;
    const entry = Object.values(log)[0]!;
    const body = JSON.parse(Buffer.from(entry.body, 'base64').toString()) as { spec: { signature: { content: string } } };
    const bytes = Buffer.from(body.spec.signature.content, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    body.spec.signature.content = bytes.toString('base64');
    entry.body = Buffer.from(JSON.stringify(body)).toString('base64');
    sig.signature.value = Buffer.from(JSON.stringify(log)).toString('base64');
    const e = await failure(verify(cd, { signature: 'sigstore-legacy', publicKey: entryMaterial(upstream(), 'sigstore-legacy') }));
    expect(e.message).toMatch(/the ECDSA signature in Rekor entry .* does not verify/);
  });
});

const unsigned = (): ComponentDescriptor => {
  const cd = upstream();
  cd.signatures = [];
  return cd;
};
const withSignature = (s: Signature): ComponentDescriptor => ({ ...unsigned(), signatures: [s] });

describe('signatures made here in OCM\'s layout', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecPub = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();

  it('sigstore with a bare key, P-256 and P-384, several entries', async () => {
    await expect(verify(withSignature(sigstoreSignature(unsigned(), ec.privateKey, ecPub, { algorithm: 'sigstore', entries: 2 })), { signature: 'keyless', publicKey: ecPub })).resolves.toBeTruthy();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const pub384 = p384.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await expect(verify(withSignature(sigstoreSignature(unsigned(), p384.privateKey, pub384, { algorithm: 'sigstore' })), { signature: 'keyless', publicKey: pub384 })).resolves.toBeTruthy();
  });

  it('each broken part of the entry is named', async () => {
    const cases: [Signature, RegExp][] = [
      [sigstoreSignature(unsigned(), ec.privateKey, ecPub, { digest: 'ab'.repeat(32) }), /is for digest abab.*not the component digest/],
      [sigstoreSignature(unsigned(), ec.privateKey, ecPub, { kind: 'rekord' }), /is a rekord 0.0.1 entry, expected hashedrekord 0.0.1/],
      [sigstoreSignature(unsigned(), ec.privateKey, 'no key here'), /carries no usable key/],
      [{ ...sigstoreSignature(unsigned(), ec.privateKey, ecPub), signature: { algorithm: 'sigstore-v2', mediaType: MediaType.SignatureSigstore, value: 'not base64!' } }, /the sigstore signature value is not base64/],
      [{ ...sigstoreSignature(unsigned(), ec.privateKey, ecPub), signature: { algorithm: 'sigstore-v2', mediaType: MediaType.SignatureSigstore, value: Buffer.from('{}').toString('base64') } }, /holds no Rekor log entry/],
    ];
    for (const [sig, message] of cases) {
      const e = await failure(verify(withSignature(sig), { signature: 'keyless', publicKey: ecPub }));
      expect(e).toBeInstanceOf(SignatureInvalidError);
      expect(e.message).toMatch(/^signature "keyless" of ocm.software\/podinfo-comp:1.0.0 is invalid: /);
      expect(e.message).toMatch(message);
    }
  });

  it('an RSA key in the entry, a SHA-512 digest and an unknown algorithm are refused in words', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaPub = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const e = await failure(verify(withSignature(sigstoreSignature(unsigned(), rsa.privateKey, rsaPub)), { signature: 'keyless', publicKey: rsaPub }));
    expect(e.message).toMatch(/carries a rsa key; sigstore signatures are ECDSA/);
    const sha512 = sigstoreSignature(unsigned(), ec.privateKey, ecPub);
    sha512.digest = { ...sha512.digest, hashAlgorithm: 'SHA-512', value: createHash('sha512').update(normaliseDescriptor(unsigned(), 'jsonNormalisation/v3')).digest('hex') };
    expect((await failure(verify(withSignature(sha512), { signature: 'keyless', publicKey: ecPub }))).message).toMatch(/cover SHA-256 digests only/);
    const unknown = sigstoreSignature(unsigned(), ec.privateKey, ecPub, { algorithm: 'sigstore-v9' });
    const u = await failure(verify(withSignature(unknown), { signature: 'keyless', publicKey: ecPub }));
    expect(u).toBeInstanceOf(UnsupportedSignatureError);
    expect(u.message).toMatch(/^signature "keyless" of .*: signature algorithm sigstore-v9 is not supported: ocm-knative verifies RSASSA-PKCS1-V1_5, RSASSA-PSS, sigstore, sigstore-v2/);
  });

  describe('with a self-made CA standing in for Fulcio', () => {
    let pki: Pki;
    let fulcio: Issued;
    let leaf: Issued;
    const identity = { issuer: 'https://issuer.example', subject: 'dev@acme.example' };
    beforeAll(async () => {
      pki = await createPki();
      fulcio = await pki.ca('fulcio', { ec: true });
      leaf = await pki.issue('leaf', 'fulcio', '/O=sigstore.dev', [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=codeSigning',
        `subjectAltName=email:${identity.subject}`,
        fulcioIssuerExtension(identity.issuer),
      ], { ec: true });
    });
    afterAll(async () => pki.close());

    it('verifies the chain and the identity; another CA, identity or usage fails', async () => {
      const cd = withSignature(sigstoreSignature(unsigned(), createPrivateKey(leaf.key), leaf.cert));
      await expect(verify(cd, { signature: 'keyless', publicKey: fulcio.cert, ...identity })).resolves.toBeTruthy();
      const other = await pki.ca('other', { ec: true });
      const foreign = await failure(verify(cd, { signature: 'keyless', publicKey: other.cert, ...identity }));
      expect(foreign).toBeInstanceOf(CertificateError);
      expect(foreign.message).toMatch(/^signature "keyless" of ocm.software\/podinfo-comp:1.0.0: signature certificate in Rekor entry .* is not issued by a trusted certificate/);
      expect((await failure(verify(cd, { signature: 'keyless', publicKey: fulcio.cert, ...identity, subject: 'eve@acme.example' }))).message).toMatch(/certifies dev@acme.example, expected eve@acme.example/);
      const server = await pki.issue('server', 'fulcio', '/O=sigstore.dev', ['extendedKeyUsage=serverAuth', `subjectAltName=email:${identity.subject}`, fulcioIssuerExtension(identity.issuer)], { ec: true });
      const notForCode = withSignature(sigstoreSignature(unsigned(), createPrivateKey(server.key), server.cert));
      expect((await failure(verify(notForCode, { signature: 'keyless', publicKey: fulcio.cert, ...identity }))).message).toMatch(/is not for code signing/);
    });

    it("with a Rekor key, the certificate must have been valid when the entry was logged", async () => {
      const rekor = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const rekorKey = rekor.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const now = Math.floor(Date.now() / 1000);
      const logged = withSignature(sigstoreSignature(unsigned(), createPrivateKey(leaf.key), leaf.cert, { rekor: { key: rekor.privateKey, integratedTime: now } }));
      await expect(verify(logged, { signature: 'keyless', publicKey: fulcio.cert, ...identity, rekorKey })).resolves.toBeTruthy();
      const late = withSignature(sigstoreSignature(unsigned(), createPrivateKey(leaf.key), leaf.cert, { rekor: { key: rekor.privateKey, integratedTime: now + 10 * 86_400 } }));
      expect((await failure(verify(late, { signature: 'keyless', publicKey: fulcio.cert, ...identity, rekorKey }))).message).toMatch(/was not valid when Rekor logged the entry/);
      // without the Rekor key the unproven time is not used: the chain is checked at the certificate's issuance
      await expect(verify(late, { signature: 'keyless', publicKey: fulcio.cert, ...identity })).resolves.toBeTruthy();
    });
  });
});
