/**
 * Deterministic tar / tar+gzip writer: same entries in => same bytes out, on any machine, any run.
 *
 * Fixed: entry order (byte-wise path sort), mtime 0, uid/gid 0, empty uname/gname, mode 0644 for files
 * and 0755 for directories and executables, gzip header without name and mtime, OS byte forced to 3
 * (Unix), one compression level. Content is streamed, never held whole.
 */
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import { createGzip } from 'node:zlib';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import tar from 'tar-stream';
import { ArchivePackError, UnsafeArchiveError } from './errors.js';
import { compareEntryPaths, normalizeEntryPath, resolveSymlinkTarget } from './paths.js';

/** zlib's default level: a fixed level is what matters for determinism; 6 keeps large blobs fast. */
export const GZIP_LEVEL = 6;
const EPOCH = new Date(0);
const GZIP_OS_UNIX = 3;

export type PackContent = Buffer | string | (() => AsyncIterable<Uint8Array>);

export interface PackEntry {
  /** relative POSIX path; normalised (`./a//b` -> `a/b`) and checked like an unpacked name */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  /** files: 0755 instead of 0644 */
  executable?: boolean;
  /** files: required when `content` is a stream factory */
  size?: number;
  content?: PackContent;
  /** symlinks: relative target that stays inside the archive */
  linkTarget?: string;
}

export interface PackOptions {
  /** default true: tar+gzip; false: plain tar */
  gzip?: boolean;
}

/**
 * gzip a byte stream with a deterministic header. Node's zlib already writes mtime 0 and no name; the OS
 * byte is platform-dependent in zlib (3 on Unix, 19 on macOS builds), so it is overwritten.
 */
export function gzipDeterministic(input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Readable {
  let offset = 0;
  const fixHeader = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      if (offset <= 9 && offset + chunk.length > 9) {
        chunk = Buffer.from(chunk);
        chunk[9 - offset] = GZIP_OS_UNIX;
      }
      offset += chunk.length;
      callback(null, chunk);
    },
  });
  const source = input instanceof Readable ? input : Readable.from(input);
  return pipeline(source, createGzip({ level: GZIP_LEVEL }), fixHeader, () => {
    // errors reach the reader of the returned stream
  });
}

interface NormalEntry extends PackEntry {
  path: string;
}

function normalise(entries: Iterable<PackEntry>): NormalEntry[] {
  const seen = new Set<string>();
  const out: NormalEntry[] = [];
  for (const entry of entries) {
    let path: string;
    try {
      path = normalizeEntryPath(entry.path);
    } catch (err) {
      throw new ArchivePackError(`cannot pack ${JSON.stringify(entry.path)}: ${(err as Error).message}`);
    }
    if (path === '') throw new ArchivePackError(`cannot pack an entry with an empty path (${JSON.stringify(entry.path)})`);
    if (seen.has(path)) throw new ArchivePackError(`duplicate entry ${JSON.stringify(path)}`);
    seen.add(path);
    if (entry.type === 'symlink') {
      try {
        resolveSymlinkTarget(path, entry.linkTarget ?? '');
      } catch (err) {
        throw new ArchivePackError(`cannot pack symlink ${JSON.stringify(path)}: ${(err as Error).message}`);
      }
    }
    out.push({ ...entry, path });
  }
  return out.sort((a, b) => compareEntryPaths(a.path, b.path));
}

function headerFor(entry: NormalEntry, size: number): Partial<tar.Header> & { name: string } {
  const base = { mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '' };
  switch (entry.type) {
    case 'directory':
      return { ...base, name: `${entry.path}/`, type: 'directory', mode: 0o755 };
    case 'symlink':
      return { ...base, name: entry.path, type: 'symlink', mode: 0o777, linkname: entry.linkTarget ?? '' };
    case 'file':
      return { ...base, name: entry.path, type: 'file', mode: entry.executable ? 0o755 : 0o644, size };
  }
}

function waitFor(callbackHolder: (cb: (err?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => callbackHolder((err) => (err ? reject(err) : resolve())));
}

/** Sink errors also reach the entry callback; without a listener they would crash the process. */
function quiet<T extends { on(event: 'error', listener: (err: Error) => void): unknown }>(sink: T): T {
  sink.on('error', () => undefined);
  return sink;
}

async function writeEntry(pack: tar.Pack, entry: NormalEntry): Promise<void> {
  if (entry.type !== 'file') {
    await waitFor((cb) => quiet(pack.entry(headerFor(entry, 0), cb)));
    return;
  }
  const content = entry.content ?? Buffer.alloc(0);
  if (typeof content !== 'function') {
    const buffer = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    await waitFor((cb) => quiet(pack.entry(headerFor(entry, buffer.length), buffer, cb)));
    return;
  }
  if (entry.size === undefined) {
    throw new ArchivePackError(`entry ${JSON.stringify(entry.path)}: size is required for streamed content`);
  }
  const size = entry.size;
  await waitFor((cb) => {
    const sink = quiet(pack.entry(headerFor(entry, size), cb));
    void (async () => {
      try {
        for await (const chunk of content()) {
          if (!sink.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
            await new Promise<void>((resolve) => {
              const done = (): void => {
                sink.off('drain', done);
                sink.off('close', done);
                resolve();
              };
              sink.on('drain', done);
              sink.on('close', done);
            });
          }
        }
        sink.end(undefined);
      } catch (err) {
        sink.destroy(err as Error);
        cb(err as Error);
      }
    })();
  });
}

/**
 * Pack entries (any order in, sorted out). Content factories are called one at a time while the
 * output is read, so at most one source is open and memory is bounded by stream buffers.
 */
export function packEntries(entries: Iterable<PackEntry> | (() => Promise<Iterable<PackEntry>>), options: PackOptions = {}): Readable {
  const pack = tar.pack();
  void (async () => {
    try {
      const list = normalise(typeof entries === 'function' ? await entries() : entries);
      for (const entry of list) await writeEntry(pack, entry);
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  const tarStream = Readable.from(pack);
  return options.gzip === false ? tarStream : gzipDeterministic(tarStream);
}

/**
 * Entries of a directory tree, for `packEntries`. Symlinks are kept when they stay inside `root`;
 * sockets, fifos and devices are refused. Hard links become regular files.
 */
export async function listDirectory(root: string): Promise<PackEntry[]> {
  const out: PackEntry[] = [];
  async function walk(relative: string): Promise<void> {
    const names = await readdir(relative === '' ? root : join(root, relative));
    for (const name of names) {
      const rel = relative === '' ? name : `${relative}/${name}`;
      const abs = join(root, rel);
      const stat = await lstat(abs);
      if (stat.isDirectory()) {
        out.push({ path: rel, type: 'directory' });
        await walk(rel);
      } else if (stat.isFile()) {
        out.push({
          path: rel,
          type: 'file',
          size: stat.size,
          executable: (stat.mode & 0o111) !== 0,
          content: () => createReadStream(abs),
        });
      } else if (stat.isSymbolicLink()) {
        const target = await readlink(abs);
        try {
          resolveSymlinkTarget(rel, target);
        } catch (err) {
          if (err instanceof UnsafeArchiveError) throw new ArchivePackError(`cannot pack ${abs}: ${err.message}`);
          throw err;
        }
        out.push({ path: rel, type: 'symlink', linkTarget: target });
      } else {
        throw new ArchivePackError(`cannot pack ${abs}: not a regular file, directory or symlink`);
      }
    }
  }
  await walk('');
  return out;
}

/** Pack a directory tree deterministically (its own name is not part of the entry paths). */
export function packDirectory(root: string, options: PackOptions = {}): Readable {
  return packEntries(() => listDirectory(root), options);
}
