import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { PageCacheWriter } from '../../../shared/oci/page-cache-writer.js';

const MiB = 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), 'page-cache-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Writes `chunks` to a real file through a writer whose clock says each chunk took `msPerMiB(i)` per MiB (the
 * writer reads the clock once before and once after a chunk). Returns the file's bytes and the writer.
 */
function writeThrough(name: string, chunks: Array<Buffer | Buffer[]>, msPerMiB: (i: number) => number): { bytes: Buffer; writer: PageCacheWriter } {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  let t = 0;
  let cost = 0;
  let reads = 0;
  const writer = new PageCacheWriter(fd, () => (reads++ % 2 === 0 ? t : (t += cost)));
  try {
    chunks.forEach((chunk, i) => {
      const bytes = Array.isArray(chunk) ? chunk.reduce((n, b) => n + b.length, 0) : chunk.length;
      cost = (bytes / MiB) * msPerMiB(i);
      writer.write(chunk);
    });
  } finally {
    closeSync(fd);
  }
  return { bytes: readFileSync(path), writer };
}

const filled = (n: number, bytes: number): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.alloc(bytes, i + 1));

describe('PageCacheWriter', () => {
  it('keeps 1 MiB writes while the page cache takes them fast', () => {
    const chunks = filled(40, MiB);
    const { bytes, writer } = writeThrough('fast', chunks, () => 0.25);
    expect(writer.small).toBe(false);
    expect(bytes.equals(Buffer.concat(chunks))).toBe(true);
  });

  it('goes down to 64 KiB writes after a slow 8 MiB window, and the file is still byte for byte the input', () => {
    const chunks = filled(40, MiB);
    // fast for the first window, slow from the 9th MiB on (what the S3 pull benchmark saw on a ballooned VM)
    const { bytes, writer } = writeThrough('slow', chunks, (i) => (i < 8 ? 0.25 : 1.8));
    expect(writer.small).toBe(true);
    expect(bytes.equals(Buffer.concat(chunks))).toBe(true);
  });

  it('is not switched by one slow write inside a fast window (a descheduled thread)', () => {
    const { writer } = writeThrough('one-slow', filled(24, MiB), (i) => (i === 3 ? 3 : 0.2));
    expect(writer.small).toBe(false);
  });

  it('writes any sequence of chunks and batches (writev) completely and in order, fast or slow', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 1, max: 3 * MiB }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        (batches, slow) => {
          let fill = 0;
          const chunks = batches.map((sizes) => sizes.map((n) => Buffer.alloc(n, (fill += 37) % 251)));
          const { bytes } = writeThrough('any', chunks, () => (slow ? 2 : 0.1));
          return bytes.equals(Buffer.concat(chunks.flat()));
        },
      ),
      { numRuns: 25 },
    );
  });
});
