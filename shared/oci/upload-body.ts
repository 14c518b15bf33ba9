/**
 * The shapes of an upload's body: a stream held to its declared size (monolithic PUT) and a stream cut into
 * fixed-size chunks (PATCH uploads).
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import { SizeMismatchError } from './errors.js';

/** Fails the stream when it does not carry exactly `size` bytes, so a short file never commits a wrong blob. */
export function sized(stream: Readable, size: number, what: string): Readable {
  let n = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb): void {
      n += chunk.length;
      if (n > size) cb(new SizeMismatchError(what, size, n));
      else cb(null, chunk);
    },
    flush(cb): void {
      cb(n === size ? null : new SizeMismatchError(what, size, n));
    },
  });
  pipeline(stream, check, () => {
    // errors surface on `check`, which undici is reading
  });
  return check;
}

/** Re-chunks a stream into Buffers of exactly `size` bytes (the last may be shorter). */
export async function* chunked(input: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let n = 0;
  for await (const raw of input) {
    let buf = raw;
    while (buf.length > 0) {
      const take = Math.min(size - n, buf.length);
      parts.push(buf.subarray(0, take));
      n += take;
      buf = buf.subarray(take);
      if (n === size) {
        yield Buffer.concat(parts, n);
        parts = [];
        n = 0;
      }
    }
  }
  if (n > 0) yield Buffer.concat(parts, n);
}
