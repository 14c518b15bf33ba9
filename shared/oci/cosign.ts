/**
 * Cosign-compatible signatures of OCI manifests ("simple signing", the format `cosign sign --key` wrote before
 * bundles and that `cosign verify --key` and Flux's `verify: {provider: cosign}` still check): the payload is a
 * small JSON naming the signed manifest digest, signed with ECDSA P-256 over SHA-256 (ASN.1 DER, base64), and
 * stored as a one-layer image manifest tagged `sha256-<hex>.sig` in the signed artifact's repository, the
 * signature in the layer annotation `dev.cosignproject.cosign/signature`.
 */
import { createPrivateKey, createPublicKey, sign as signData, verify as verifyData, type KeyObject } from 'node:crypto';
import { digestOf } from './digest.js';
import { Annotation, MediaType } from './media-types.js';
import { bufferSource } from './sources.js';
import type { Descriptor, ImageManifest, Target } from './types.js';

export class SigningKeyError extends Error {
  override name = 'SigningKeyError';
}

/** `sha256:<hex>` -> `sha256-<hex>.sig`, where cosign looks for the signatures of that manifest. */
export function signatureTag(digest: string): string {
  const m = /^(sha256):([a-f0-9]{64})$/.exec(digest);
  if (!m) throw new SigningKeyError(`cannot name the signature of ${JSON.stringify(digest)}: not a sha256 digest`);
  return `${m[1]}-${m[2]}.sig`;
}

/**
 * The simple-signing payload for `dockerReference` (registry/repository, no tag) at `digest`. Key order and the
 * `optional: null` are cosign's own, so the same inputs give the bytes cosign would sign.
 */
export function simpleSigningPayload(dockerReference: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}

/** An ECDSA P-256 signing key (PEM: PKCS#8 or SEC1, unencrypted). */
export class CosignSigner {
  private readonly key: KeyObject;
  /** PEM (SPKI) of the public key: what `cosign verify --key` and Flux's `cosign.pub` Secret take */
  readonly publicKeyPem: string;

  constructor(privateKeyPem: string) {
    let key: KeyObject;
    try {
      key = createPrivateKey(privateKeyPem);
    } catch (err) {
      throw new SigningKeyError(`the signing key is not a readable unencrypted PEM private key (${(err as Error).message})`);
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      const what = key.asymmetricKeyType === 'ec' ? `an EC key on ${key.asymmetricKeyDetails?.namedCurve ?? 'an unknown curve'}` : `a ${key.asymmetricKeyType ?? 'unknown'} key`;
      throw new SigningKeyError(`the signing key must be ECDSA P-256 (cosign's key type), got ${what}`);
    }
    this.key = key;
    this.publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  }

  /** base64 of the DER ECDSA signature over SHA-256 of `payload` */
  sign(payload: Buffer): string {
    return signData('sha256', payload, this.key).toString('base64');
  }

  /** true when `signature` (base64 DER) is this key's signature of `payload` */
  verify(payload: Buffer, signature: string): boolean {
    return verifyData('sha256', payload, createPublicKey(this.key), Buffer.from(signature, 'base64'));
  }
}

/**
 * Pushes the signature of `digest` (a manifest in `target`) under `sha256-<hex>.sig`, replacing whatever that tag
 * held. `dockerReference` is the repository as the verifier names it (host[:port]/path). Returns the descriptor of
 * the signature manifest.
 */
export async function pushCosignSignature(
  target: Target,
  dockerReference: string,
  digest: string,
  signer: CosignSigner,
): Promise<Descriptor> {
  const payload = simpleSigningPayload(dockerReference, digest);
  const payloadDesc = { mediaType: MediaType.CosignSimpleSigning, digest: digestOf(payload), size: payload.length };
  // cosign's own config for signature images: an image config whose one diff_id is the payload
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: [{ created: '0001-01-01T00:00:00Z' }],
      os: '',
      rootfs: { type: 'layers', diff_ids: [payloadDesc.digest] },
      config: {},
    }),
  );
  const configDesc = { mediaType: MediaType.ImageConfig, digest: digestOf(config), size: config.length };
  await target.blobs.push(payloadDesc, bufferSource(payload));
  await target.blobs.push(configDesc, bufferSource(config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    config: configDesc,
    layers: [{ ...payloadDesc, annotations: { [Annotation.CosignSignature]: signer.sign(payload) } }],
  };
  return target.manifests.push(Buffer.from(JSON.stringify(manifest)), MediaType.ImageManifest, signatureTag(digest));
}

/**
 * true when `sha256-<hex>.sig` in `target` holds a signature of `digest` by `signer`'s key (any layer). A missing
 * tag, a foreign key or a payload for another digest is false.
 */
export async function hasCosignSignature(target: Target, digest: string, signer: CosignSigner): Promise<boolean> {
  const tag = signatureTag(digest);
  if (!(await target.manifests.resolve(tag))) return false;
  const { bytes } = await target.manifests.fetch(tag);
  const manifest = JSON.parse(bytes.toString('utf8')) as Partial<ImageManifest>;
  for (const layer of manifest.layers ?? []) {
    const signature = layer.annotations?.[Annotation.CosignSignature];
    if (layer.mediaType !== MediaType.CosignSimpleSigning || !signature || layer.size > 64 * 1024) continue;
    const chunks: Buffer[] = [];
    for await (const c of await target.blobs.fetch(layer)) chunks.push(c as Buffer);
    const payload = Buffer.concat(chunks);
    let signed: string | undefined;
    try {
      signed = (JSON.parse(payload.toString('utf8')) as { critical?: { image?: { 'docker-manifest-digest'?: string } } }).critical?.image?.[
        'docker-manifest-digest'
      ];
    } catch {
      continue;
    }
    if (signed === digest && signer.verify(payload, signature)) return true;
  }
  return false;
}

/**
 * Deletes the signature manifest of `digest` (what `sha256-<hex>.sig` points at), when there is one. A signature
 * names one manifest, so it is useless once that manifest is gone, and a tagged one outlives it in a registry
 * whose retention keeps every tag (ours: registry/config.json). Resolves true when it deleted one.
 */
export async function deleteCosignSignature(target: Target, digest: string): Promise<boolean> {
  const signature = await target.manifests.resolve(signatureTag(digest));
  if (!signature) return false;
  return target.manifests.delete(signature.digest);
}
