import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource, fileSource, IO_CHUNK_BYTES } from '../../../shared/oci/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ocmk-unit-sources-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function bytesOf(stream: Readable | Promise<Readable>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('blob sources', () => {
  it('a file source opens a fresh stream from byte 0 each time (an upload retry re-reads) and names its file', async () => {
    const path = join(dir, 'blob');
    const data = Buffer.alloc(IO_CHUNK_BYTES + 17, 3);
    await writeFile(path, data);
    const source = fileSource(path);
    expect(source.file).toBe(path);
    const first = source.open() as Readable;
    let firstChunk = 0;
    for await (const c of first) {
      firstChunk = (c as Buffer).length;
      break;
    }
    // reads are IO_CHUNK_BYTES large
    expect(firstChunk).toBe(IO_CHUNK_BYTES);
    expect((await bytesOf(source.open())).equals(data)).toBe(true);
  });

  it('a file source whose file is gone fails its stream', async () => {
    await expect(bytesOf(fileSource(join(dir, 'absent')).open())).rejects.toThrow(/ENOENT/);
  });

  it('a buffer source gives the same bytes on every open and no file', async () => {
    const source = bufferSource(Buffer.from('{"a":1}'));
    expect(source.file).toBeUndefined();
    expect((await bytesOf(source.open())).toString()).toBe('{"a":1}');
    expect((await bytesOf(source.open())).toString()).toBe('{"a":1}');
  });
});
