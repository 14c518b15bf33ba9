import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobFileWriter } from '../../../shared/oci/blob-file-writer.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ocmk-unit-blob-file-writer-'));
  dirs.push(dir);
  return dir;
}

describe('BlobFileWriter', () => {
  it('writes chunks of any size in order, across batch boundaries and with a partial last batch', async () => {
    const dir = await scratch();
    const data = randomBytes(300_000);
    // uneven chunks, some larger than the batch
    const sizes = [1, 4095, 70_000, 3, 150_000, 12_345];
    const chunks: Buffer[] = [];
    let at = 0;
    for (const n of sizes) {
      chunks.push(data.subarray(at, at + n));
      at += n;
    }
    chunks.push(data.subarray(at));
    const path = join(dir, 'blob');
    await pipeline(Readable.from(chunks), new BlobFileWriter(path, 64 * 1024));
    expect((await readFile(path)).equals(data)).toBe(true);
  });

  it('writes an empty file for an empty stream', async () => {
    const path = join(await scratch(), 'empty');
    await pipeline(Readable.from([]), new BlobFileWriter(path, 1024));
    expect((await readFile(path)).length).toBe(0);
  });

  it('fails the pipeline when the file cannot be opened', async () => {
    const path = join(await scratch(), 'missing-dir', 'blob');
    await expect(pipeline(Readable.from([Buffer.from('x')]), new BlobFileWriter(path, 1024))).rejects.toThrow(/ENOENT/);
  });

  it('fails the pipeline when the source fails, without writing past the error', async () => {
    const path = join(await scratch(), 'blob');
    const source = new Readable({
      read(): void {
        this.destroy(new Error('source broke'));
      },
    });
    await expect(pipeline(source, new BlobFileWriter(path, 1024))).rejects.toThrow(/source broke/);
  });
});
