/** Small stream helpers: digest verification while streaming, bounded buffering, tar member extraction. */
import { createHash, type Hash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { ArtifactFormatError, DigestMismatchError } from './errors.js';
import { nodeHashName } from './normalise.js';

/**
 * Passes bytes through and fails at the end (before signalling EOF) when their digest differs from `expectedHex`.
 * So a consumer that reads to the end never sees a successful end for wrong content.
 */
export class VerifyDigestStream extends Transform {
  private readonly hash: Hash;
  private bytes = 0;
  constructor(
    private readonly what: string,
    hashAlgorithm: string,
    private readonly expectedHex: string,
    private readonly expectedSize?: number,
  ) {
    super();
    this.hash = createHash(nodeHashName(hashAlgorithm));
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    const got = this.hash.digest('hex');
    if (this.expectedSize !== undefined && this.expectedSize >= 0 && this.bytes !== this.expectedSize) {
      cb(DigestMismatchError.ofSize(this.what, this.expectedSize, this.bytes));
      return;
    }
    if (got !== this.expectedHex.toLowerCase()) {
      cb(new DigestMismatchError(this.what, this.expectedHex, got));
      return;
    }
    cb();
  }
}

/** `sha256:<hex>` -> {algorithm, hex}; accepts the CTF file-name form `sha256.<hex>` too. */
export function splitDigest(digest: string): { algorithm: 'sha256' | 'sha512'; hex: string } {
  const m = /^(sha256|sha512)[:.]([0-9a-f]+)$/.exec(digest);
  if (!m || (m[1] === 'sha256' && m[2]!.length !== 64) || (m[1] === 'sha512' && m[2]!.length !== 128)) {
    throw new ArtifactFormatError(`"${digest}" is not a sha256/sha512 digest`);
  }
  return { algorithm: m[1] as 'sha256' | 'sha512', hex: m[2]! };
}

export function verifyingStream(source: Readable, what: string, digest: string, size?: number): Readable {
  const { algorithm, hex } = splitDigest(digest);
  const v = new VerifyDigestStream(what, algorithm, hex, size);
  source.on('error', (e) => v.destroy(e));
  return source.pipe(v);
}

/** Read a stream fully, failing once more than `limit` bytes arrive (for small metadata documents only). */
export async function readBounded(
  stream: AsyncIterable<unknown> & { destroy(err?: Error): unknown },
  limit: number,
  what: string,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    n += b.length;
    if (n > limit) {
      stream.destroy();
      throw new ArtifactFormatError(`${what} is larger than ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** True when the buffer looks like a POSIX tar (ustar magic at 257). */
export function looksLikeTar(b: Buffer): boolean {
  return b.length >= 263 && b.subarray(257, 262).toString('latin1') === 'ustar';
}

export function looksLikeGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Extract one member (by predicate on its normalised name) of a tar held in memory. */
export async function extractTarMember(tar: Buffer, want: (name: string) => boolean, limit: number): Promise<Buffer | undefined> {
  const extract = tarStream.extract();
  let found: Buffer | undefined;
  extract.on('entry', (header, stream, next) => {
    const name = header.name.replace(/^\.\//, '');
    if (!found && header.type === 'file' && want(name)) {
      readBounded(stream, limit, `tar member ${name}`)
        .then((b) => {
          found = b;
          next();
        })
        .catch((e: unknown) => extract.destroy(e as Error));
    } else {
      stream.on('end', () => next());
      stream.resume();
    }
  });
  await pipeline(Readable.from([tar]), extract);
  return found;
}
