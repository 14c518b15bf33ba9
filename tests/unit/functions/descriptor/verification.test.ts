/**
 * Component.spec.verify through the stages (MemoryKube with the CRD schemas, a CTF, the in-process bus): sigstore-v2
 * signatures against a CA with the expected identity and a Rekor key from a Secret, RSA signatures with an X.509
 * chain against a root CA with an issuer, and every failure a Ready=False ComponentVerificationFailed naming the
 * signature.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { descriptorSet, signComponent, type ComponentVersionInput } from '../../../../shared/ocm/index.js';
import { createPki, fulcioIssuerExtension, type Issued, type Pki } from '../../../fixtures/ocm/pki.js';
import { sigstoreSignature } from '../../../fixtures/ocm/sigstore.js';
import { componentVersion } from '../../../support/components.js';
import { harness, NS } from '../../../support/stage-harness.js';
import { ready } from '../../../support/ready.js';

type H = Awaited<ReturnType<typeof harness>>;

let pki: Pki;
let fulcio: Issued;
let keyless: Issued;
let signingCa: Issued;
let signer: Issued;
const identity = { issuer: 'https://issuer.example', subject: 'release@acme.example' };
const rekor = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rekorPub = rekor.publicKey.export({ type: 'spki', format: 'pem' }).toString();

beforeAll(async () => {
  pki = await createPki();
  fulcio = await pki.ca('fulcio', { ec: true });
  keyless = await pki.issue('keyless', 'fulcio', '/O=sigstore.dev', [
    'extendedKeyUsage=codeSigning',
    `subjectAltName=email:${identity.subject}`,
    fulcioIssuerExtension(identity.issuer),
  ], { ec: true });
  signingCa = await pki.ca('acme-ca');
  signer = await pki.issue('signer', 'acme-ca', '/O=Acme/CN=acme release', ['basicConstraints=critical,CA:FALSE', 'extendedKeyUsage=codeSigning']);
});
afterAll(async () => pki.close());

/** 1.0.0 signed twice: `keyless` (sigstore-v2, logged by our Rekor key) and `release` (RSA with the chain). */
async function signed(): Promise<ComponentVersionInput> {
  const cv = await componentVersion({ version: '1.0.0' });
  const rsa = await signComponent(descriptorSet(cv.descriptor), { signatureName: 'release', privateKey: signer.key, certificateChain: signer.cert + signingCa.cert });
  const root = rsa.root;
  const sig = sigstoreSignature(root, createPrivateKey(keyless.key), keyless.cert, { name: 'keyless', rekor: { key: rekor.privateKey, integratedTime: Math.floor(Date.now() / 1000) } });
  return { ...cv, descriptor: { ...root, signatures: [...root.signatures, sig] } };
}

describe('Component.spec.verify', () => {
  let h: H;
  beforeEach(async () => {
    h = await harness();
    await h.addVersions([await signed()]);
    h.kube.setSecret(NS, 'sigstore-trust', { keyless: fulcio.cert, 'rekor.pub': rekorPub });
    await h.apply('OCMRepository', 'repo', { repositorySpec: { type: 'CommonTransportFormat', filePath: h.ctf } });
  });
  afterEach(async () => h.close());

  const component = (verify: Record<string, unknown>[]) =>
    h.apply('Component', 'app', { repositoryRef: { name: 'repo' }, component: 'ocm.software/test/podinfo', semver: '1.0.0', verify });

  it('a sigstore-v2 signature verifies against the CA in a Secret with the expected identity and Rekor key; an RSA chain with its issuer', async () => {
    await component([
      { signature: 'keyless', secretRef: { name: 'sigstore-trust' }, ...identity },
      { signature: 'release', value: signingCa.cert, issuer: 'CN=acme release,O=Acme' },
    ]);
    await h.bus.drain();
    expect(ready(await h.get('Component', 'app'))).toMatchObject({ status: 'True', reason: 'Succeeded' });
  });

  it('a Secret with one trust entry under another name still works beside rekor.pub', async () => {
    h.kube.setSecret(NS, 'one-entry', { 'fulcio.pem': fulcio.cert, 'rekor.pub': rekorPub });
    await component([{ signature: 'keyless', secretRef: { name: 'one-entry' }, ...identity }]);
    await h.bus.drain();
    expect(ready(await h.get('Component', 'app'))).toMatchObject({ status: 'True', reason: 'Succeeded' });
  });

  it('another identity verifies again and fails in words naming the signature', async () => {
    await component([{ signature: 'keyless', secretRef: { name: 'sigstore-trust' }, ...identity }]);
    await h.bus.drain();
    expect(ready(await h.get('Component', 'app')).status).toBe('True');
    await component([{ signature: 'keyless', secretRef: { name: 'sigstore-trust' }, ...identity, subject: 'mallory@acme.example' }]);
    await h.bus.drain();
    const r = ready(await h.get('Component', 'app'));
    expect(r).toMatchObject({ status: 'False', reason: 'ComponentVerificationFailed' });
    expect(r.message).toMatch(/signature "keyless" of ocm.software\/test\/podinfo:1.0.0 is invalid: certificate in Rekor entry .* certifies release@acme.example, expected mallory@acme.example/);
  });

  it('a wrong issuer, a missing identity, another Rekor key: each its own words', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ signature: 'release', value: signingCa.cert, issuer: 'CN=someone else' }, /signature "release" .* issuer "CN=someone else" does not match certificate subject "CN=acme release,O=Acme"/],
      [{ signature: 'keyless', secretRef: { name: 'sigstore-trust' } }, /signature "keyless" .* needs the expected identity: set both issuer .* and subject/],
      [{ signature: 'keyless', secretRef: { name: 'other-rekor' }, ...identity }, /signature "keyless" .* was logged by Rekor log [0-9a-f]{64}, not by the log whose key is given/],
      [{ signature: 'keyless', value: signingCa.cert, ...identity }, /signature "keyless" of ocm.software\/test\/podinfo:1.0.0: signature certificate in Rekor entry .* is not issued by a trusted certificate/],
    ];
    const otherRekor = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    h.kube.setSecret(NS, 'other-rekor', { keyless: fulcio.cert, 'rekor.pub': otherRekor });
    for (const [entry, message] of cases) {
      await component([entry]);
      await h.bus.drain();
      const r = ready(await h.get('Component', 'app'));
      expect(r, JSON.stringify(entry)).toMatchObject({ status: 'False', reason: 'ComponentVerificationFailed' });
      expect(r.message).toMatch(message);
    }
  });

  it('the CRD takes issuer and subject, and nothing unknown', async () => {
    await expect(component([{ signature: 'keyless', secretRef: { name: 'sigstore-trust' }, ...identity, rekor: 'x' }])).rejects.toThrow(/rekor/);
  });
});
