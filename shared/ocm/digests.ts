/**
 * Resource digests: genericBlobDigest/v1 (hash of the bytes as the access returns them) and
 * ociArtifactDigest/v1 (the manifest digest; for local artifact-set blobs the main artifact named in the set's
 * index.json / artifact-descriptor.json). Everything streamed.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { AccessError, UnsupportedDigestError } from './errors.js';
import { readArtifactSet } from './artifact-set.js';
import type { ResourceAccess } from './api.js';
import type { DigestSpec } from './model.js';
import { formatImageReference } from '../oci/reference.js';
import { nodeHashName, ocmHashName } from './normalise.js';
import { DigestMismatchError } from './errors.js';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';

export const GENERIC_BLOB_DIGEST_V1 = 'genericBlobDigest/v1';
export const OCI_ARTIFACT_DIGEST_V1 = 'ociArtifactDigest/v1';

export async function hashStream(stream: Readable, hashAlgorithm = 'SHA-256'): Promise<{ hex: string; size: number }> {
  const h = createHash(nodeHashName(hashAlgorithm));
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    h.update(b);
    size += b.length;
  }
  return { hex: h.digest('hex'), size };
}

/**
 * Main manifest digest of an OCM artifact set (tar or tgz; index.json or artifact-descriptor.json), after checking
 * the whole set: every blob hashed against its name, every manifest/index parsed and every descriptor it names
 * present with its size (artifact-set.ts). Large blobs are hashed while they stream past, never held.
 */
export async function artifactSetMainDigest(stream: Readable, what = 'artifact set'): Promise<string> {
  const set = await readArtifactSet(stream, { what, large: async () => undefined });
  return set.main.digest;
}

/**
 * Compute the digest of an opened resource access with the algorithm the descriptor names (or genericBlobDigest/v1
 * for blobs and ociArtifactDigest/v1 for OCI artifacts when `normalisationAlgorithm` is not given).
 */
export async function digestResourceAccess(access: ResourceAccess, normalisationAlgorithm?: string, hashAlgorithm = 'SHA-256'): Promise<DigestSpec> {
  const norm = normalisationAlgorithm ?? (access.kind === 'blob' ? GENERIC_BLOB_DIGEST_V1 : OCI_ARTIFACT_DIGEST_V1);
  const hashName = ocmHashName(hashAlgorithm);
  if (access.kind === 'ociArtifact') {
    if (norm !== OCI_ARTIFACT_DIGEST_V1) throw new UnsupportedDigestError(`${norm} cannot be computed for an OCI artifact access`);
    const d = access.manifestDigest ?? access.reference.digest;
    if (!d) throw new AccessError(`cannot digest ${formatImageReference(access.reference)}: no registry access to resolve its manifest`);
    return { hashAlgorithm: 'SHA-256', normalisationAlgorithm: OCI_ARTIFACT_DIGEST_V1, value: d.replace(/^sha256:/, '') };
  }
  if (norm === GENERIC_BLOB_DIGEST_V1) {
    const { hex } = await hashStream(await access.open(), hashName);
    return { hashAlgorithm: hashName, normalisationAlgorithm: GENERIC_BLOB_DIGEST_V1, value: hex };
  }
  if (norm === OCI_ARTIFACT_DIGEST_V1) {
    const main = await artifactSetMainDigest(await access.open());
    return { hashAlgorithm: 'SHA-256', normalisationAlgorithm: OCI_ARTIFACT_DIGEST_V1, value: main.replace(/^sha256:/, '') };
  }
  throw new UnsupportedDigestError(`unsupported resource digest algorithm ${norm}`);
}

/**
 * Pass-through for a local artifact-set blob (OCI layout tar/tgz) that fails at its end when the set's main
 * manifest digest differs from `expectedHex` (ociArtifactDigest/v1). The set is parsed from the same bytes as
 * they flow, so nothing is buffered whole.
 */
export class VerifyArtifactSetStream extends Transform {
  private readonly tap = new PassThrough();
  private readonly result: Promise<string>;
  constructor(
    private readonly what: string,
    private readonly expectedHex: string,
  ) {
    super();
    this.result = artifactSetMainDigest(this.tap, what);
    // surfaced in _flush; avoid an unhandled rejection before that
    this.result.catch(() => undefined);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.tap.write(chunk)) cb(null, chunk);
    else this.tap.once('drain', () => cb(null, chunk));
  }
  override _flush(cb: TransformCallback): void {
    this.tap.end();
    this.result.then(
      (d) => cb(d.replace(/^sha256:/, '') === this.expectedHex ? null : new DigestMismatchError(this.what, this.expectedHex, d.replace(/^sha256:/, ''))),
      (e: unknown) => cb(e as Error),
    );
  }
}
