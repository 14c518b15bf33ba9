import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, constants as zlibConstants } from 'node:zlib';
import * as tar from 'tar-stream';
import { DigestingStream, IO_CHUNK_BYTES } from '../oci/index.js';

/** Fixed compression settings: the same input must give the same bytes on every run and machine running Node. */
const GZIP_OPTIONS = { level: 6, memLevel: 8, strategy: zlibConstants.Z_DEFAULT_STRATEGY } as const;

/**
 * A gzip stream whose header carries no name and mtime 0 (node's zlib writes `1f 8b 08 00 00000000 00 03`),
 * so output depends only on the input bytes.
 */
export function deterministicGzip(): Transform {
  return createGzip(GZIP_OPTIONS);
}

/** What the first bytes of a blob say it is. */
export type BlobFormat = 'tar+gzip' | 'gzip' | 'tar' | 'other';

function isTarHeader(block: Buffer): boolean {
  if (block.length < 512) return false;
  if (block.subarray(257, 262).toString('latin1') === 'ustar') return true;
  // pre-POSIX v7 tar: verify the header checksum
  const stored = parseInt(block.subarray(148, 156).toString('latin1').replace(/\0.*$/, '').trim(), 8);
  if (Number.isNaN(stored)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] ?? 0);
  return sum === stored && block[0] !== 0;
}

async function readHead(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Reads at most `n` decompressed bytes from the start of a gzip file; empty on corrupt input. */
async function gunzipHead(path: string, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  const src = createReadStream(path, { start: 0, end: 64 * 1024 - 1 });
  const gunzip = createGunzip();
  src.pipe(gunzip);
  try {
    for await (const chunk of gunzip) {
      chunks.push(chunk as Buffer);
      got += (chunk as Buffer).length;
      if (got >= n) break;
    }
  } catch {
    // truncated input (we only read 64 KiB) or not gzip at all: judge from what we have
  } finally {
    src.destroy();
    gunzip.destroy();
  }
  return Buffer.concat(chunks).subarray(0, n);
}

/** Sniffs a file's format from magic bytes (gzip 1f8b; tar "ustar" at 257 or a valid v7 header checksum). */
export async function sniffFormat(path: string): Promise<BlobFormat> {
  const head = await readHead(path, 512);
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    return isTarHeader(await gunzipHead(path, 512)) ? 'tar+gzip' : 'gzip';
  }
  return isTarHeader(head) ? 'tar' : 'other';
}

export interface WrittenFile {
  path: string;
  digest: string;
  size: number;
}

/** Gzips `src` into `dest` deterministically; returns the digest and size of the result. */
export async function gzipFile(src: string, dest: string): Promise<WrittenFile> {
  const hasher = new DigestingStream();
  await pipeline(createReadStream(src, { highWaterMark: IO_CHUNK_BYTES }), deterministicGzip(), hasher, createWriteStream(dest));
  return { path: dest, digest: hasher.digest(), size: hasher.size };
}

/** The fixed header fields of every entry we write (no timestamps, no owners). */
export const FIXED_ENTRY = { mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) } as const;

/**
 * Wraps one file into a one-entry tar (entry `name`, fixed header fields) and gzips it, deterministically.
 * Streams: the file is read once, nothing is held whole in memory.
 */
export async function wrapFileInTarGzip(src: string, name: string, dest: string): Promise<WrittenFile> {
  const { size } = await stat(src);
  const pack = tar.pack();
  const hasher = new DigestingStream();
  const done = pipeline(pack, deterministicGzip(), hasher, createWriteStream(dest));
  const entry = pack.entry({ ...FIXED_ENTRY, name, size, type: 'file' });
  await pipeline(createReadStream(src, { highWaterMark: IO_CHUNK_BYTES }), entry);
  pack.finalize();
  await done;
  return { path: dest, digest: hasher.digest(), size: hasher.size };
}

/** Finds the first entry whose name matches `test` in a (gzipped or plain) tar file; returns its bytes (bounded). */
export async function readTarEntry(
  path: string,
  gzipped: boolean,
  test: (name: string) => boolean,
  maxBytes: number,
): Promise<{ name: string; bytes: Buffer } | undefined> {
  const extract = tar.extract();
  const src: Readable = gzipped ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
  src.pipe(extract);
  try {
    for await (const entry of extract) {
      if (entry.header.type === 'file' && test(entry.header.name)) {
        if ((entry.header.size ?? 0) > maxBytes) throw new Error(`${entry.header.name} is larger than ${maxBytes} bytes`);
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        return { name: entry.header.name, bytes: Buffer.concat(chunks) };
      }
      entry.resume();
    }
    return undefined;
  } finally {
    src.destroy();
    extract.destroy();
  }
}
