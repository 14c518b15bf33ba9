import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { IO_CHUNK_BYTES } from './sources.js';
import { DigestMismatchError, InvalidArgumentError, SizeMismatchError } from './errors.js';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/;

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

/** Throws InvalidArgumentError unless `s` is a sha256/sha512 digest in canonical form. */
export function assertDigest(s: string, what = 'digest'): string {
  if (!isDigest(s)) throw new InvalidArgumentError(`${what} "${s}" is not a valid sha256/sha512 digest`);
  return s;
}

export function algorithmOf(digest: string): 'sha256' | 'sha512' {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

export function digestOf(data: Buffer | string, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/**
 * sha256 digest and size of a file, read into one reused buffer: a stream would allocate a Buffer per read, and
 * for a 1 GiB file those add ~40 MiB to the peak RSS before V8 collects them (bench/README.md, "Registry traffic").
 */
export async function digestFile(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(IO_CHUNK_BYTES);
  let size = 0;
  const file = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await file.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await file.close();
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Pass-through that hashes and counts what flows through it. */
export class DigestingStream extends Transform {
  private readonly hash: Hash;
  private readonly algorithm: 'sha256' | 'sha512';
  size = 0;
  constructor(algorithm: 'sha256' | 'sha512' = 'sha256') {
    super();
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
  /** Only valid once the stream has ended. */
  digest(): string {
    return `${this.algorithm}:${this.hash.digest('hex')}`;
  }
}

/**
 * Pass-through that verifies content against an expected digest (and size, when known) while streaming.
 * The stream errors with DigestMismatchError/SizeMismatchError at the end instead of ending cleanly, so
 * a consumer never sees a clean end of unverified bytes.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash;
  private size = 0;
  constructor(
    private readonly expectedDigest: string,
    private readonly expectedSize: number | undefined,
    private readonly what: string,
  ) {
    super();
    this.hash = createHash(algorithmOf(expectedDigest));
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    if (this.expectedSize !== undefined && this.size > this.expectedSize) {
      cb(new SizeMismatchError(this.what, this.expectedSize, this.size));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.expectedSize !== undefined && this.size !== this.expectedSize) {
      cb(new SizeMismatchError(this.what, this.expectedSize, this.size));
      return;
    }
    const actual = `${algorithmOf(this.expectedDigest)}:${this.hash.digest('hex')}`;
    if (actual !== this.expectedDigest) {
      cb(new DigestMismatchError(this.what, this.expectedDigest, actual));
      return;
    }
    cb();
  }
}

/** Throws DigestMismatchError unless `bytes` hash to `expected`. */
export function verifyBytes(what: string, bytes: Buffer, expected: string): void {
  const actual = digestOf(bytes, algorithmOf(expected));
  if (actual !== expected) throw new DigestMismatchError(what, expected, actual);
}
