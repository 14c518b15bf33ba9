/**
 * Component-version verification: (1) for each key, the signature named after it must be there, its normalised
 * digest must match and its value must verify (offline, so this comes first); (2) reference digests, recursively;
 * (3) resource digests (unless skipped), the only step that downloads. And the reverse for producers: fill reference digests bottom-up and sign.
 */
import { DigestMismatchError, KeyMissingError, SignatureMissingError, UnsupportedSignatureError, VersionNotFoundError } from './errors.js';
import { accessKind, isDigestExcluded, openResourceAccess } from './access.js';
import type { AccessContext, VerificationResult, VerifyOptions, VerifiedSignature } from './api.js';
import { digestResourceAccess } from './digests.js';
import { cvName, type ComponentDescriptor, type DigestSpec, type Signature } from './model.js';
import { digestDescriptor, JSON_NORMALISATION_V3, ocmHashName } from './normalise.js';
import { assertNoReferenceCycle, descriptorSet, type DescriptorSet } from './references.js';
import { signDigest, SUPPORTED_SIGNATURE_ALGORITHMS, verifySignatureValue, type SignOptions } from './signing.js';
import type { DescriptorLookup } from './resolve.js';

/** Post-order of the reference graph reachable from root (children before parents), each once. */
function postOrder(root: ComponentDescriptor, lookup: DescriptorLookup): ComponentDescriptor[] {
  const out: ComponentDescriptor[] = [];
  const seen = new Set<string>();
  const visit = (cd: ComponentDescriptor): void => {
    if (seen.has(cvName(cd))) return;
    seen.add(cvName(cd));
    for (const ref of cd.references) {
      const child = lookup.get(ref.componentName, ref.version);
      if (!child) throw new VersionNotFoundError(ref.componentName, ref.version, `the descriptors given for ${cvName(root)}`);
      visit(child);
    }
    out.push(cd);
  };
  visit(root);
  return out;
}

/** (1) every component reference digest in the graph matches the referenced descriptor. Returns how many were checked. */
export function verifyReferenceDigests(set: DescriptorSet): number {
  assertNoReferenceCycle(set.root, set);
  let n = 0;
  for (const cd of postOrder(set.root, set)) {
    for (const ref of cd.references) {
      if (!ref.digest || ref.digest.hashAlgorithm === 'NO-DIGEST') continue;
      const child = set.get(ref.componentName, ref.version)!;
      const got = digestDescriptor(child, ref.digest.normalisationAlgorithm, ref.digest.hashAlgorithm);
      if (got !== ref.digest.value) {
        throw new DigestMismatchError(`component reference "${ref.name}" (${cvName(child)}) of ${cvName(cd)}`, ref.digest.value, got);
      }
      n++;
    }
  }
  return n;
}

/** (2) re-digest every resource with a digest (all components of the set) through its access. */
export async function verifyResourceDigests(set: DescriptorSet, ctx: AccessContext): Promise<number> {
  let n = 0;
  for (const cd of set.all) {
    for (const r of cd.resources) {
      if (isDigestExcluded(r) || !r.access || accessKind(r.access.type) === 'none') continue;
      const access = await openResourceAccess(cd, r, { ...ctx, skipDigestVerification: true });
      const got = await digestResourceAccess(access, r.digest!.normalisationAlgorithm, r.digest!.hashAlgorithm);
      if (got.value !== r.digest!.value) {
        throw new DigestMismatchError(`resource "${r.name}" of ${cvName(cd)} (${r.digest!.normalisationAlgorithm})`, r.digest!.value, got.value);
      }
      n++;
    }
  }
  return n;
}

export async function verifyComponent(set: DescriptorSet, opts: VerifyOptions): Promise<VerificationResult> {
  const root = set.root;
  if (opts.keys.length === 0) throw new KeyMissingError('(none configured)');
  assertNoReferenceCycle(root, set);
  // Signatures first: presence, algorithm, the normalised digest and the signature value need no network, so a
  // missing, unsupported or wrong signature fails before any resource is downloaded (upstream checks them last).
  const verified: VerifiedSignature[] = [];
  for (const key of opts.keys) {
    const sig = root.signatures.find((s) => s.name === key.signature);
    if (!sig) throw new SignatureMissingError(cvName(root), key.signature);
    // an algorithm we cannot check says so, whatever else is wrong with the signature
    if (!SUPPORTED_SIGNATURE_ALGORITHMS.includes(sig.signature.algorithm)) {
      throw new UnsupportedSignatureError(sig.signature.algorithm, `ocm-knative verifies ${SUPPORTED_SIGNATURE_ALGORITHMS.join(', ')}`, `signature "${sig.name}" of ${cvName(root)}`);
    }
    const got = digestDescriptor(root, sig.digest.normalisationAlgorithm, sig.digest.hashAlgorithm);
    if (got !== sig.digest.value) throw new DigestMismatchError(`component version ${cvName(root)} (signature "${sig.name}", ${sig.digest.normalisationAlgorithm})`, sig.digest.value, got);
    verifySignatureValue({
      component: cvName(root),
      signatureName: sig.name,
      digestHex: sig.digest.value,
      hashAlgorithm: sig.digest.hashAlgorithm,
      signature: sig.signature,
      key: key.publicKey,
      ...(key.issuer ? { issuer: key.issuer } : {}),
      ...(key.subject ? { subject: key.subject } : {}),
      ...(key.rekorKey ? { rekorKey: key.rekorKey } : {}),
    });
    verified.push({ name: sig.name, algorithm: sig.signature.algorithm, digest: { ...sig.digest } });
  }
  const referencesChecked = verifyReferenceDigests(set);
  let resourcesChecked = 0;
  if (!opts.skipResourceDigests) resourcesChecked = await verifyResourceDigests(set, opts.access ?? {});
  return {
    component: root.name,
    version: root.version,
    signatures: verified,
    digest: verified[0]!.digest,
    resourcesChecked,
    referencesChecked,
  };
}

export interface SignComponentOptions extends SignOptions {
  signatureName: string;
  privateKey: string | Buffer;
  /** default jsonNormalisation/v3 (the OCM CLI default) */
  normalisationAlgorithm?: string;
  /** compute missing resource digests through their access (needs repository/oci) */
  access?: AccessContext;
}

/** Copies of all descriptors with component reference digests filled bottom-up (existing ones recomputed). */
export function fillReferenceDigests(set: DescriptorSet, normalisationAlgorithm = JSON_NORMALISATION_V3, hashAlgorithm = 'SHA-256'): DescriptorSet {
  assertNoReferenceCycle(set.root, set);
  const updated = new Map<string, ComponentDescriptor>();
  for (const cd of postOrder(set.root, set)) {
    const copy = structuredClone(cd);
    for (const ref of copy.references) {
      const child = updated.get(`${ref.componentName}:${ref.version}`)!;
      ref.digest = { hashAlgorithm: ocmHashName(hashAlgorithm), normalisationAlgorithm, value: digestDescriptor(child, normalisationAlgorithm, hashAlgorithm) };
    }
    updated.set(cvName(copy), copy);
  }
  const rest = set.all.slice(1).map((cd) => updated.get(cvName(cd)) ?? cd);
  return descriptorSet(updated.get(cvName(set.root))!, rest);
}

/** Fill missing resource digests of one descriptor (copy) through the access methods. */
export async function fillResourceDigests(cd: ComponentDescriptor, ctx: AccessContext): Promise<ComponentDescriptor> {
  const copy = structuredClone(cd);
  for (const r of copy.resources) {
    if (r.digest || !r.access || accessKind(r.access.type) === 'none') continue;
    const access = await openResourceAccess(copy, r, { ...ctx, skipDigestVerification: true });
    r.digest = await digestResourceAccess(access);
  }
  return copy;
}

/**
 * Sign the root of `set`: fill reference digests (recursively), normalise, sign with RSA, and add/replace the
 * signature named `signatureName`. Returns the updated set (root and referenced copies with digests).
 */
export async function signComponent(set: DescriptorSet, opts: SignComponentOptions): Promise<DescriptorSet> {
  const norm = opts.normalisationAlgorithm ?? JSON_NORMALISATION_V3;
  const hash = ocmHashName(opts.hashAlgorithm ?? 'SHA-256');
  let filled = fillReferenceDigests(set, norm, hash);
  let root = filled.root;
  if (opts.access) {
    root = await fillResourceDigests(root, opts.access);
    filled = descriptorSet(root, filled.all.slice(1));
  }
  const digest: DigestSpec = { hashAlgorithm: hash, normalisationAlgorithm: norm, value: digestDescriptor(root, norm, hash) };
  const signature: Signature = { name: opts.signatureName, digest, signature: signDigest(digest.value, opts.privateKey, { ...opts, hashAlgorithm: hash }) };
  const signed = structuredClone(root);
  signed.signatures = [...signed.signatures.filter((s) => s.name !== opts.signatureName), signature];
  return descriptorSet(signed, filled.all.slice(1));
}
