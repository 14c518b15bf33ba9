/**
 * The publish stage's signed hand-off over MemoryKube + LayoutStore: signatures, spec.verify, and what a resync does
 * when the signature or the OCIRepository was changed behind our back. (The real source-controller's view of the
 * same: tests/e2e/flux/flux.test.ts; cosign's: tests/integration/oci/cosign.test.ts.)
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CosignSigner, hasCosignSignature, pushCosignSignature, signatureTag } from '../../../../shared/oci/index.js';
import { Reason, type ObjectFailure, type OCIRepositoryObject, type PublicationObject, type SnapshotObject, type TargetRef } from '../../../../shared/ports/index.js';
import { parseSource } from '../../../../functions/publish/publication.js';
import { REQUESTED_AT } from '../../../../shared/stagekit/interval.js';
import { componentVersion } from '../../../support/components.js';
import { harness, NS } from '../../../support/stage-harness.js';

const p256 = (): CosignSigner =>
  new CosignSigner(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());

describe('publish signs what it hands to Flux', () => {
  let h: Awaited<ReturnType<typeof harness>>;
  const signer = p256();

  beforeEach(async () => {
    h = await harness({}, { signing: { signer, verifySecretRef: 'cosign-pub' } });
    await h.addVersions([await componentVersion({ version: '1.0.0' })]);
    await h.apply('OCMRepository', 'repo', { repositorySpec: { type: 'CommonTransportFormat', filePath: h.ctf } });
    await h.apply('Component', 'app', { repositoryRef: { name: 'repo' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0' });
    await h.apply('Resource', 'manifests', { componentRef: { name: 'app' }, resource: { byReference: { resource: { name: 'manifests' } } } });
    await h.apply('Publication', 'manifests', { source: { kind: 'Resource', name: 'manifests' } });
    await h.bus.drain();
  }, 60_000);
  afterEach(async () => h.close());

  const state = async () => {
    const snap = (await h.get<SnapshotObject>('Snapshot', 'resource-manifests'))!;
    const repo = (await h.get<OCIRepositoryObject>('OCIRepository', 'manifests'))!;
    return { snap, repo, target: h.layout.repository(snap.spec!.repository) };
  };

  it('signs the published artifact with our key and writes spec.verify', async () => {
    const { snap, repo, target } = await state();
    expect(repo.spec).toMatchObject({ ref: { digest: snap.spec!.digest }, verify: { provider: 'cosign', secretRef: { name: 'cosign-pub' } } });
    expect(await hasCosignSignature(target, snap.spec!.digest, signer)).toBe(true);
    expect(repo.metadata.annotations?.[REQUESTED_AT]).toBeUndefined();
  });

  it('a resync puts our signature back when another one replaced it, and asks Flux to look again', async () => {
    const { snap, target } = await state();
    await pushCosignSignature(target, `registry.local:5000/${snap.spec!.repository}`, snap.spec!.digest, p256());
    expect(await hasCosignSignature(target, snap.spec!.digest, signer)).toBe(false);
    h.bus.resync();
    await h.bus.drain();
    expect(await hasCosignSignature(target, snap.spec!.digest, signer)).toBe(true);
    const { repo } = await state();
    expect(Date.parse(repo.metadata.annotations![REQUESTED_AT]!)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('a resync puts the OCIRepository back when someone pointed it elsewhere', async () => {
    const { snap, repo } = await state();
    const other = `sha256:${'0'.repeat(64)}`;
    await h.kube.upsert({ ...repo, spec: { ...repo.spec!, ref: { digest: other } } });
    expect((await state()).repo.spec!.ref.digest).toBe(other);
    h.bus.resync();
    await h.bus.drain();
    expect((await state()).repo.spec!.ref.digest).toBe(snap.spec!.digest);
  });

  it('a manifest replaced by a new version takes its signature with it; the new one is signed', async () => {
    const before = await state();
    const old = before.snap.spec!.digest;
    await h.addVersions([await componentVersion({ version: '1.1.0' })]);
    h.intervalPassed();
    h.bus.resync();
    await h.bus.drain();
    const after = await state();
    expect(after.snap.spec!.digest).not.toBe(old);
    expect(await after.target.manifests.resolve(old)).toBeUndefined();
    // the tagged signature would outlive it: zot's retention keeps every tag
    expect(await after.target.manifests.resolve(signatureTag(old))).toBeUndefined();
    expect(await hasCosignSignature(after.target, after.snap.spec!.digest, signer)).toBe(true);
  });

  it('a deleted Resource takes its Snapshot, manifest and signature with it (the Snapshot finalizer)', async () => {
    const { snap, target } = await state();
    await h.kube.delete({ kind: 'Resource', namespace: NS, name: 'manifests' });
    await h.bus.drain();
    expect(await h.get('Snapshot', 'resource-manifests')).toBeUndefined();
    expect(await target.manifests.resolve(snap.spec!.digest)).toBeUndefined();
    expect(await target.manifests.resolve(signatureTag(snap.spec!.digest))).toBeUndefined();
  });
});

it('without a signing key the OCIRepository has no spec.verify', async () => {
  const h = await harness();
  try {
    await h.addVersions([await componentVersion({ version: '1.0.0' })]);
    await h.apply('OCMRepository', 'repo', { repositorySpec: { type: 'CommonTransportFormat', filePath: h.ctf } });
    await h.apply('Component', 'app', { repositoryRef: { name: 'repo' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0' });
    await h.apply('Resource', 'manifests', { componentRef: { name: 'app' }, resource: { byReference: { resource: { name: 'manifests' } } } });
    await h.apply('Publication', 'manifests', { source: { kind: 'Resource', name: 'manifests' } });
    await h.bus.drain();
    const repo = (await h.kube.get<OCIRepositoryObject>({ kind: 'OCIRepository', namespace: NS, name: 'manifests' }))!;
    expect(repo.spec!.ref.digest).toMatch(/^sha256:/);
    expect(repo.spec!.verify).toBeUndefined();
  } finally {
    await h.close();
  }
});

describe('parseSource', () => {
  const publication = (source: unknown): PublicationObject => ({
    apiVersion: 'serverless.ocm.software/v1alpha1',
    kind: 'Publication',
    metadata: { name: 'pub', namespace: NS },
    // deliberately unchecked: what a tenant might write
    spec: { source: source as TargetRef },
  });

  it('takes a Resource or a Configuration; anything else is SpecInvalid in words', () => {
    expect(parseSource(publication({ kind: 'Configuration', name: 'cfg' }))).toEqual({ kind: 'Configuration', name: 'cfg' });
    for (const bad of [undefined, { kind: 'Component', name: 'c' }, { kind: 'Resource' }]) {
      expect(() => parseSource(publication(bad))).toThrow('Publication pub: spec.source needs kind Resource or Configuration and a name');
      try {
        parseSource(publication(bad));
      } catch (err) {
        expect((err as ObjectFailure).reason).toBe(Reason.SpecInvalid);
      }
    }
  });
});
