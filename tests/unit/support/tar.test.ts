/** The tests' archive builders: the same files give the same bytes, and both read back as written. */
import { describe, expect, it } from 'vitest';
import { readArchive } from '../../../shared/archive/index.js';
import { packed, tarOf } from '../../support/tar.js';

async function contents(archive: Buffer): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of readArchive(archive)) {
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(c as Buffer);
    out[e.path] = Buffer.concat(chunks).toString('utf8');
  }
  return out;
}

describe('tarOf and packed', () => {
  const files = { 'a/values.yaml': 'replicaCount: 1\n', 'b.txt': 'B' };

  it('tarOf: deterministic, plain or gzipped, and readable', async () => {
    expect((await tarOf(files)).equals(await tarOf(files))).toBe(true);
    expect((await tarOf(files, { gzip: true })).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(await contents(await tarOf(files, { gzip: true }))).toEqual(files);
  });

  it('packed: gzipped by default, plain when asked, from files or packer entries', async () => {
    expect((await packed(files)).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect((await packed(files, { gzip: false })).subarray(0, 2)).not.toEqual(Buffer.from([0x1f, 0x8b]));
    expect(await contents(await packed(files))).toEqual(files);
    const entries = Object.entries(files).map(([path, content]) => ({ path, type: 'file' as const, content: Buffer.from(content) }));
    expect((await packed(entries)).equals(await packed(files))).toBe(true);
  });
});
