import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { collectYoungGarbage, noteStreamed, youngCollections } from '../../../shared/oci/index.js';

const MiB = 1024 * 1024;
const DATA_MIB = 48;

/**
 * Gunzips DATA_MIB of random bytes in 256 KiB pieces (as the artifact-set reader does); returns how far the
 * ArrayBuffer memory rose above where it started: the pieces in flight plus the dead ones not yet freed.
 */
async function gunzipArrayBufferGrowth(gz: Buffer, note: boolean): Promise<number> {
  const start = process.memoryUsage().arrayBuffers;
  let peak = start;
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      bytes += chunk.length;
      if (note) noteStreamed(chunk.length);
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      cb();
    },
  });
  const pieces = Array.from({ length: Math.ceil(gz.length / (256 * 1024)) }, (_, i) => gz.subarray(i * 256 * 1024, (i + 1) * 256 * 1024));
  await pipeline(Readable.from(pieces), createGunzip({ chunkSize: 256 * 1024 }), sink);
  expect(bytes).toBe(DATA_MIB * MiB);
  return peak - start;
}

describe('young-generation collections while streaming', () => {
  // one file, in order: the switch is process-wide and cannot be turned off again
  const gz = gzipSync(randomBytes(DATA_MIB * MiB), { level: 1 });

  it('counts and collects nothing until a process entry turns it on', async () => {
    const before = youngCollections();
    noteStreamed(64 * MiB);
    expect(youngCollections()).toBe(before);
  });

  it('collects every 2 MiB once on, which keeps the dead Buffers of a gunzip well under V8s 32 MiB trigger', async () => {
    collectYoungGarbage();
    collectYoungGarbage(); // idempotent
    const before = youngCollections();
    const growth = await gunzipArrayBufferGrowth(gz, true);
    expect(youngCollections() - before).toBe(DATA_MIB / 2);
    // without the collections this reaches ~32 MiB (V8 scavenges for ArrayBuffers only there); with them a few MiB
    expect(growth).toBeLessThan(16 * MiB);
  });
});
