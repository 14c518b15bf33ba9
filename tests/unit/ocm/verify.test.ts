import { writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  descriptorSet,
  DigestMismatchError,
  fetchWithReferences,
  KeyMissingError,
  openRepository,
  openResourceAccess,
  ReferenceCycleError,
  resolveComponentVersion,
  signComponent,
  SignatureInvalidError,
  SignatureMissingError,
  UnsupportedSignatureError,
  verifyComponent,
  writeCtfDirectory,
  DowngradeError,
  DOWNGRADABLE_LABEL,
  type ComponentDescriptor,
  type Resource,
} from '../../../shared/ocm/index.js';
import { readBounded } from '../../../shared/ocm/streams.js';
import { sha256Hex } from '../../support/digest.js';
import { packed } from '../../support/tar.js';
import { APP, BASE, sampleGraph } from '../../fixtures/ocm/sample.js';
import { rsaKeys } from '../../support/components.js';
import { digestResourceAccess, localBlobResource } from '../../../shared/ocm/index.js';
import { component } from './component.js';
import { MediaType } from '../../../shared/oci/media-types.js';
import { signedSampleCtf } from './signed-sample.js';

const keys = rsaKeys({ privateKeyEncoding: 'pkcs1' });
const otherKeys = rsaKeys({ privateKeyEncoding: 'pkcs1' });
const sample = signedSampleCtf(keys.privateKey);

describe('sign + verify a component graph (CTF written by our writer)', () => {
  it('resolves, fetches references once, and verifies references, resources, digest and signature', async () => {
    const { version, descriptor } = await resolveComponentVersion(sample.repo, APP, { semver: '>=1.0.0' });
    expect(version).toBe('1.1.0');
    const set = await fetchWithReferences(sample.repo, descriptor);
    expect(set.all.map((c) => `${c.name}:${c.version}`)).toEqual([`${APP}:1.1.0`, `${BASE}:1.0.0`]);
    const res = await verifyComponent(set, { keys: [{ signature: 'acme', publicKey: keys.publicKey }], access: { repository: sample.repo } });
    expect(res).toMatchObject({ component: APP, version: '1.1.0', referencesChecked: 1, resourcesChecked: 4 });
    expect(res.digest.normalisationAlgorithm).toBe('jsonNormalisation/v3');
  });

  it('RSASSA-PSS and jsonNormalisation/v1 signatures verify too', async () => {
    const set = await fetchWithReferences(sample.repo, { name: APP, version: '1.0.0' });
    const signed = await signComponent(set, { signatureName: 'pss', privateKey: keys.privateKey, algorithm: 'RSASSA-PSS' });
    const res = await verifyComponent(signed, { keys: [{ signature: 'pss', publicKey: keys.publicKey }, { signature: 'acme', publicKey: keys.publicKey }], skipResourceDigests: true });
    expect(res.signatures.map((s) => s.algorithm)).toEqual(['RSASSA-PSS', 'RSASSA-PKCS1-V1_5']);
    // v1 re-digests the reference with v1, so it changes the signed content: the older v3 signature no longer holds
    const v1 = await signComponent(set, { signatureName: 'v1', privateKey: keys.privateKey, normalisationAlgorithm: 'jsonNormalisation/v1' });
    expect(v1.root.references[0]!.digest?.normalisationAlgorithm).toBe('jsonNormalisation/v1');
    await expect(verifyComponent(v1, { keys: [{ signature: 'v1', publicKey: keys.publicKey }], skipResourceDigests: true })).resolves.toBeTruthy();
    await expect(verifyComponent(v1, { keys: [{ signature: 'acme', publicKey: keys.publicKey }], skipResourceDigests: true })).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it('wrong key, missing signature, no keys, bad value, empty sigstore value: typed errors', async () => {
    const set = await fetchWithReferences(sample.repo, { name: APP, version: '1.1.0' });
    const opts = { skipResourceDigests: true };
    await expect(verifyComponent(set, { ...opts, keys: [{ signature: 'acme', publicKey: otherKeys.publicKey }] })).rejects.toBeInstanceOf(SignatureInvalidError);
    await expect(verifyComponent(set, { ...opts, keys: [{ signature: 'nope', publicKey: keys.publicKey }] })).rejects.toBeInstanceOf(SignatureMissingError);
    await expect(verifyComponent(set, { ...opts, keys: [] })).rejects.toBeInstanceOf(KeyMissingError);
    const flipped = structuredClone(set.root);
    const v = flipped.signatures[0]!.signature.value;
    flipped.signatures[0]!.signature.value = (v[0] === 'a' ? 'b' : 'a') + v.slice(1);
    await expect(verifyComponent(descriptorSet(flipped, set.all.slice(1)), { ...opts, keys: [{ signature: 'acme', publicKey: keys.publicKey }] })).rejects.toBeInstanceOf(SignatureInvalidError);
    const sig = structuredClone(set.root);
    sig.signatures[0]!.signature = { algorithm: 'sigstore', mediaType: MediaType.SignatureSigstore, value: 'e30=' };
    const e = await verifyComponent(descriptorSet(sig, set.all.slice(1)), { ...opts, keys: [{ signature: 'acme', publicKey: keys.publicKey }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SignatureInvalidError);
    expect((e as Error).message).toMatch(/signature "acme" of .* is invalid: the sigstore signature value holds no Rekor log entry/);
  });

  it('a tampered descriptor, reference or resource is rejected', async () => {
    const set = await fetchWithReferences(sample.repo, { name: APP, version: '1.1.0' });
    const key = [{ signature: 'acme', publicKey: keys.publicKey }];
    // root changed after signing
    const root = structuredClone(set.root);
    root.resources[0]!.version = '6.6.6';
    await expect(verifyComponent(descriptorSet(root, set.all.slice(1)), { keys: key, skipResourceDigests: true })).rejects.toThrow(/component version acme.org\/app:1.1.0.*digest mismatch|digest mismatch for component version/);
    // referenced descriptor changed
    const base = structuredClone(set.all[1]!);
    base.resources[0]!.type = 'evil';
    await expect(verifyComponent(descriptorSet(set.root, [base]), { keys: key, skipResourceDigests: true })).rejects.toThrow(/component reference "base"/);
    // resource bytes changed in storage
    const g = await sampleGraph({ privateKey: keys.privateKey });
    const d2 = join(sample.dir, 'tampered');
    await writeCtfDirectory(d2, g.cvs);
    const cfg = g.base.descriptor.resources[0]!.access!['localReference'] as string;
    const f = join(d2, 'blobs', cfg.replace(':', '.'));
    await chmod(f, 0o644);
    await writeFile(f, 'base: EVIL!\n');
    const r2 = await openRepository({ type: 'CommonTransportFormat', filePath: d2 });
    const s2 = await fetchWithReferences(r2, { name: APP, version: '1.1.0' });
    await expect(verifyComponent(s2, { keys: key, access: { repository: r2 } })).rejects.toBeInstanceOf(DigestMismatchError);
    // skipping resource digests verifies the signed metadata only
    await expect(verifyComponent(s2, { keys: key, skipResourceDigests: true, access: { repository: r2 } })).resolves.toBeTruthy();
    await r2.close();
  });

  it('reference cycles: fetch terminates (each version once), verification reports the cycle', async () => {
    const mk = (name: string, ref: string): ComponentDescriptor => component(name, { references: [{ name: 'ref', componentName: ref, version: '1.0.0' }] });
    const d3 = join(sample.dir, 'cycle');
    await writeCtfDirectory(d3, [{ descriptor: mk('acme.org/a', 'acme.org/b') }, { descriptor: mk('acme.org/b', 'acme.org/a') }]);
    const r3 = await openRepository({ type: 'CommonTransportFormat', filePath: d3 });
    const set = await fetchWithReferences(r3, { name: 'acme.org/a', version: '1.0.0' });
    expect(set.all.map((c) => c.name)).toEqual(['acme.org/a', 'acme.org/b']);
    await expect(verifyComponent(set, { keys: [{ signature: 'x', publicKey: keys.publicKey }] })).rejects.toBeInstanceOf(ReferenceCycleError);
    await expect(signComponent(set, { signatureName: 'x', privateKey: keys.privateKey })).rejects.toBeInstanceOf(ReferenceCycleError);
    await r3.close();
  });

  it('downgrade via resolveComponentVersion honours the policy and label', async () => {
    await expect(resolveComponentVersion(sample.repo, APP, { semver: '<1.1.0', current: '1.1.0' })).rejects.toBeInstanceOf(DowngradeError);
    await expect(resolveComponentVersion(sample.repo, APP, { semver: '<1.1.0', current: '1.1.0', downgradePolicy: 'Enforce' })).resolves.toMatchObject({ version: '1.0.0', downgraded: true });
    await expect(resolveComponentVersion(sample.repo, APP, { semver: '<1.1.0', current: '1.1.0', downgradePolicy: 'Allow' })).rejects.toThrow(DOWNGRADABLE_LABEL);
  });
});

describe('local artifact sets (ociArtifactDigest/v1 on a localBlob)', () => {
  it('verifies the main manifest digest while streaming, and digests it', async () => {
    const config = '{}';
    const configHex = sha256Hex(config);
    const manifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:${configHex}","size":2},"layers":[]}`;
    const main = sha256Hex(manifest);
    const set = await packed(
      {
        'index.json': JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MediaType.ImageManifest, digest: `sha256:${main}`, size: manifest.length }], annotations: { 'software.ocm/main': `sha256:${main}` } }),
        'oci-layout': '{"imageLayoutVersion":"1.0.0"}',
        [`blobs/sha256/${main}`]: manifest,
        [`blobs/sha256/${configHex}`]: config,
      },
      { gzip: true },
    );
    const lb = await localBlobResource({ name: 'img', version: '1.0.0', type: 'ociImage' }, { mediaType: 'application/vnd.oci.image.manifest.v1+tar+gzip', data: set });
    const good: Resource = { ...lb.resource, digest: { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'ociArtifactDigest/v1', value: main } };
    const owner: ComponentDescriptor = { schemaVersion: 'v2', name: 'acme.org/set', version: '1.0.0', provider: { name: 'a' }, repositoryContexts: [], sources: [], references: [], resources: [good], signatures: [] };
    const d = join(sample.dir, 'artifact-set');
    await writeCtfDirectory(d, [{ descriptor: owner, blobs: [lb.blob] }]);
    const r = await openRepository({ type: 'CommonTransportFormat', filePath: d });
    const a = await openResourceAccess(owner, good, { repository: r });
    if (a.kind !== 'blob') throw new Error('expected blob');
    expect((await readBounded(await a.open(), 1 << 24, 'set')).equals(set)).toBe(true);
    expect((await digestResourceAccess(a, 'ociArtifactDigest/v1')).value).toBe(main);
    const bad = { ...good, digest: { ...good.digest!, value: 'f'.repeat(64) } };
    const b = await openResourceAccess({ ...owner, resources: [bad] }, bad, { repository: r });
    if (b.kind !== 'blob') throw new Error('expected blob');
    await expect(readBounded(await b.open(), 1 << 24, 'set')).rejects.toBeInstanceOf(DigestMismatchError);
    await r.close();
  });
});

describe('order of checks', () => {
  const cd = (algorithm: string, withSignature = true): ComponentDescriptor => ({
    schemaVersion: 'v2',
    name: 'acme.org/order',
    version: '1.0.0',
    provider: { name: 'acme' },
    repositoryContexts: [],
    sources: [],
    references: [],
    resources: [
      {
        name: 'image',
        version: '1.0.0',
        type: 'ociImage',
        relation: 'external',
        access: { type: 'ociArtifact', imageReference: 'registry.invalid/acme/image:1.0.0' },
        digest: { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'ociArtifactDigest/v1', value: 'a'.repeat(64) },
      },
    ],
    signatures: withSignature
      ? [
          {
            name: 'acme',
            digest: { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'jsonNormalisation/v3', value: 'b'.repeat(64) },
            signature: { algorithm, value: 'c2ln', mediaType: 'application/vnd.ocm.signature.unknown' },
          },
        ]
      : [],
  });
  // any registry access would go through this connector: it must not be asked
  let asked = 0;
  const access = {
    oci: () => {
      asked++;
      throw new Error('network used');
    },
  };

  it('an unsupported signature algorithm fails before any resource is fetched', async () => {
    const root = cd('ECDSA-P521-SOMETHING');
    // make the normalised digest match, so only the algorithm is wrong
    const { digestDescriptor } = await import('../../../shared/ocm/normalise.js');
    root.signatures[0]!.digest.value = digestDescriptor(root, 'jsonNormalisation/v3', 'SHA-256');
    await expect(verifyComponent(descriptorSet(root, []), { keys: [{ signature: 'acme', publicKey: keys.publicKey }], access })).rejects.toBeInstanceOf(UnsupportedSignatureError);
    expect(asked).toBe(0);
  });

  it('an unsupported algorithm is named as such even when the digest does not match either', async () => {
    const e = (await verifyComponent(descriptorSet(cd('ECDSA-P521-SOMETHING'), []), { keys: [{ signature: 'acme', publicKey: keys.publicKey }], access }).catch((x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(UnsupportedSignatureError);
    expect(e.message).toBe(
      'signature "acme" of acme.org/order:1.0.0: signature algorithm ECDSA-P521-SOMETHING is not supported: ocm-knative verifies RSASSA-PKCS1-V1_5, RSASSA-PSS, sigstore, sigstore-v2',
    );
    expect(asked).toBe(0);
  });

  it('a missing signature fails before any resource is fetched', async () => {
    await expect(verifyComponent(descriptorSet(cd('RSASSA-PSS', false), []), { keys: [{ signature: 'acme', publicKey: keys.publicKey }], access })).rejects.toBeInstanceOf(SignatureMissingError);
    expect(asked).toBe(0);
  });
});
