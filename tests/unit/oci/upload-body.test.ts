import fc from 'fast-check';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SizeMismatchError } from '../../../shared/oci/index.js';
import { chunked, sized } from '../../../shared/oci/upload-body.js';

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

const pieces = fc.array(fc.uint8Array({ maxLength: 50 }).map((a) => Buffer.from(a)), { maxLength: 20 });

describe('sized', () => {
  it('passes exactly `size` bytes through unchanged', async () => {
    const data = [Buffer.from('hello '), Buffer.from('world')];
    expect(Buffer.concat(await collect(sized(Readable.from(data), 11, 'PUT blob')))).toEqual(Buffer.from('hello world'));
  });

  it('fails a short or a long stream with a SizeMismatchError naming the upload', async () => {
    const short = collect(sized(Readable.from([Buffer.from('abc')]), 5, 'PUT blob a'));
    await expect(short).rejects.toBeInstanceOf(SizeMismatchError);
    await expect(collect(sized(Readable.from([Buffer.from('abc')]), 5, 'PUT blob a'))).rejects.toThrow(
      'PUT blob a: size mismatch, expected 5 bytes but got 3',
    );
    await expect(collect(sized(Readable.from([Buffer.from('abcdef')]), 5, 'PUT blob b'))).rejects.toThrow(/expected 5 bytes but got 6/);
  });

  it('fails when the source stream fails', async () => {
    const broken = new Readable({
      read(): void {
        this.destroy(new Error('disk gone'));
      },
    });
    await expect(collect(sized(broken, 5, 'PUT blob'))).rejects.toThrow('disk gone');
  });
});

describe('chunked', () => {
  it('cuts any sequence of pieces into chunks of exactly `size` bytes, the last shorter, bytes in order', async () => {
    await fc.assert(
      fc.asyncProperty(pieces, fc.integer({ min: 1, max: 64 }), async (parts, size) => {
        const chunks = await collect(chunked(Readable.from(parts), size));
        expect(Buffer.concat(chunks)).toEqual(Buffer.concat(parts));
        chunks.slice(0, -1).forEach((c) => expect(c.length).toBe(size));
        const last = chunks.at(-1);
        if (last) expect(last.length).toBeGreaterThan(0);
        if (last) expect(last.length).toBeLessThanOrEqual(size);
      }),
    );
  });

  it('gives no chunk for an empty stream', async () => {
    expect(await collect(chunked(Readable.from([]), 4))).toEqual([]);
  });
});
