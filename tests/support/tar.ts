/**
 * Archives for tests, two ways: `tarOf` with tar-stream alone (independent of shared/archive, for tests of our
 * unpacking and of what we read), `packed` with our deterministic packer (what the pipeline itself writes).
 */
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { packEntries, type PackEntry } from '../../shared/archive/index.js';

/** One fixed mtime, so the same files give the same bytes. */
const MTIME = new Date(1_700_000_000_000);

/** A tar of `files` (in their order) written by tar-stream, gzipped when asked. Small fixtures only: in memory. */
export async function tarOf(files: Record<string, string | Buffer>, opts: { gzip?: boolean } = {}): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mtime: MTIME }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  const bytes = Buffer.concat(chunks);
  return opts.gzip ? gzipSync(bytes) : bytes;
}

/**
 * An archive written by shared/archive's packer: gzipped unless `gzip: false`. `entries` are the packer's own (with
 * directories, modes) or plain files by path.
 */
export async function packed(entries: PackEntry[] | Record<string, string | Buffer>, opts: { gzip?: boolean } = {}): Promise<Buffer> {
  const list: PackEntry[] = Array.isArray(entries)
    ? entries
    : Object.entries(entries).map(([path, content]) => ({ path, type: 'file' as const, content: Buffer.from(content) }));
  const chunks: Buffer[] = [];
  for await (const c of packEntries(list, opts)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
