/**
 * Reading a registry's answers: one header, a body drained, read as text or bounded, the media type of a
 * Content-Type, the Docker-Content-Digest checked against what we computed, and the typed error for an answer the
 * raw-socket transfers received. Shared by the client and its blob and manifest stores.
 */
import type { Dispatcher } from 'undici';
import { isDigest } from './digest.js';
import { DigestMismatchError, errorForResponse, OciError } from './errors.js';
import { isRetryableStatus, parseRetryAfter, RetryableError } from './retry.js';
import type { RawResponse } from './socket-transfer.js';

/** The first value of header `name` (lower case). */
export function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads and drops the body, so undici can reuse the connection. */
export async function drain(res: Dispatcher.ResponseData): Promise<void> {
  try {
    await res.body.dump();
  } catch {
    // the connection is discarded anyway
  }
}

/** The body as text for an error message: the first `limit` bytes are kept, the rest read and dropped. */
export async function readText(res: Dispatcher.ResponseData, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body) {
    const b = chunk as Buffer;
    if (n < limit) chunks.push(b.subarray(0, limit - n));
    n += b.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The whole body, or an OciError naming `what` when it is (or announces) more than `limit` bytes. */
export async function readLimited(res: Dispatcher.ResponseData, limit: number, what: string): Promise<Buffer> {
  const len = Number(header(res, 'content-length') ?? NaN);
  if (len > limit) {
    await drain(res);
    throw new OciError(`${what}: ${len} bytes exceeds the limit of ${limit}`);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body) {
    const b = chunk as Buffer;
    n += b.length;
    if (n > limit) {
      res.body.destroy();
      throw new OciError(`${what}: more than the limit of ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** The media type of a Content-Type value, without parameters ('' when absent). */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim() ?? '';
}

/** Checks the response's Docker-Content-Digest against `expected` (see checkDigest). */
export function checkDigestHeader(res: Dispatcher.ResponseData, expected: string, what: string): void {
  checkDigest(header(res, 'docker-content-digest'), expected, what);
}

/**
 * A registry digest that disagrees with ours is a DigestMismatchError; an absent, malformed or other-algorithm one
 * proves nothing and is ignored.
 */
export function checkDigest(got: string | undefined, expected: string, what: string): void {
  if (got && isDigest(got) && got.split(':')[0] === expected.split(':')[0] && got !== expected) {
    throw new DigestMismatchError(`${what}: Docker-Content-Digest`, expected, got);
  }
}

/** The typed error for a raw-socket response; 429/5xx become retryable, honouring Retry-After. */
export function responseError(what: string, res: RawResponse): Error {
  const err = errorForResponse(what, res.status, res.body);
  return isRetryableStatus(res.status) ? new RetryableError(err, parseRetryAfter(res.headers['retry-after'])) : err;
}
