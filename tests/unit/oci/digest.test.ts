import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { DigestMismatchError, digestOf, VerifyingStream } from '../../../shared/oci/index.js';

describe('VerifyingStream', () => {
  it('passes matching content and fails on wrong digest or size', async () => {
    const data = Buffer.from('hello world');
    const ok = new VerifyingStream(digestOf(data), data.length, 'blob');
    const out: Buffer[] = [];
    await pipeline(Readable.from([data]), ok, async (src) => {
      for await (const c of src) out.push(c as Buffer);
    });
    expect(Buffer.concat(out)).toEqual(data);
    await expect(
      pipeline(Readable.from([data]), new VerifyingStream(digestOf('other'), undefined, 'blob'), async (src) => {
        for await (const c of src) void c;
      }),
    ).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(
      pipeline(Readable.from([data]), new VerifyingStream(digestOf(data), 3, 'blob'), async (src) => {
        for await (const c of src) void c;
      }),
    ).rejects.toThrow(/size mismatch/);
  });
});
