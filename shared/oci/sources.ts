import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { BlobSource } from './types.js';

/**
 * Read size for streamed files. Larger reads gain no throughput (the registry is the bottleneck) but every buffer in
 * flight is external memory that V8 collects late, so RSS grows with it.
 */
export const IO_CHUNK_BYTES = Number(process.env.OCMK_IO_CHUNK_BYTES) || 64 * 1024;

/** A re-openable source reading a file. */
export function fileSource(path: string): BlobSource {
  return { open: () => createReadStream(path, { highWaterMark: IO_CHUNK_BYTES }) };
}

/** A source over bytes already in memory (small blobs such as configs). */
export function bufferSource(bytes: Buffer): BlobSource {
  return { open: () => Readable.from([bytes], { objectMode: false }) };
}
