/**
 * Streaming, safety-checked reading of tar and tar+gzip archives.
 *
 * `readArchive` yields one entry at a time; an entry's body must be consumed (or it is drained) before the
 * next one is read, so memory stays bounded by tar-stream's buffers whatever the archive size. Every
 * rule in docs/design.md §10 is enforced here, once, for all callers: unsafe names and links, special files,
 * entry-count / size / compression-ratio limits.
 */
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { ArchiveError, ArchiveFormatError, ArchiveLimitError, UnsafeArchiveError } from './errors.js';
import { resolveLimits, streamAllowance, type ArchiveLimits } from './limits.js';
import { normalizeEntryPath, parentsOf, resolveSymlinkTarget } from './paths.js';

export type ArchiveEntryType = 'file' | 'directory' | 'symlink' | 'hardlink';

export interface ArchiveEntry {
  /** normalised relative POSIX path (no `./`, no trailing slash) */
  path: string;
  type: ArchiveEntryType;
  /** permission bits as stored (callers normalise; see `isExecutable`) */
  mode: number;
  /** content size in bytes (0 for everything but files) */
  size: number;
  /** symlink: the target as written (validated); hardlink: normalised path of an earlier regular file */
  linkTarget?: string;
  /** file content; read it before asking for the next entry (else it is drained and lost) */
  body: AsyncIterable<Buffer>;
}

export interface ReadArchiveOptions {
  limits?: Partial<ArchiveLimits>;
}

export type ArchiveKind = 'gzip' | 'tar' | 'unknown';

const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** Recognise an archive from its first bytes (>= 263 bytes needed to see the tar magic). */
export function sniffArchive(head: Uint8Array): ArchiveKind {
  if (head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) return 'gzip';
  if (head.length >= 263 && Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar') return 'tar';
  return 'unknown';
}

export function isExecutable(mode: number): boolean {
  return (mode & 0o111) !== 0;
}

type Source = AsyncIterable<Uint8Array>;

/** A stream (Node Readable, web stream, any async iterable of bytes) or a whole buffer. */
export type ArchiveInput = AsyncIterable<Uint8Array> | Uint8Array;

export function toSource(input: ArchiveInput): Source {
  if (input instanceof Uint8Array) {
    return (async function* () {
      yield input;
    })();
  }
  return input;
}

function drainOrClose(stream: tar.Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/** Take the first chunk(s) off a stream without losing them. */
async function peek(source: Source, want: number): Promise<{ head: Buffer; rest: Source }> {
  const iterator = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < want) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    chunks.push(chunk);
    length += chunk.length;
  }
  const head = Buffer.concat(chunks);
  async function* rest(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      if (done) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      }
    } finally {
      await iterator.return?.();
    }
  }
  return { head, rest: rest() };
}

/**
 * Decompressed tar bytes, with the stream-size and (for gzip) compression-ratio limits enforced while
 * decompressing, so a bomb is stopped after a bounded amount of work.
 */
function decompressed(kind: ArchiveKind, source: Source, limits: ArchiveLimits): AsyncGenerator<Buffer> {
  const allowance = streamAllowance(limits);
  let compressedBytes = 0;
  async function* countIn(): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      compressedBytes += chunk.byteLength;
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  }
  async function* limited(): AsyncGenerator<Buffer> {
    let out = 0;
    let stream: AsyncIterable<Buffer>;
    let gunzip: ReturnType<typeof createGunzip> | undefined;
    if (kind === 'gzip') {
      gunzip = createGunzip();
      stream = pipeline(Readable.from(countIn()), gunzip, () => {
        // errors surface through iterating `gunzip`
      });
    } else {
      stream = countIn();
    }
    try {
      for await (const chunk of stream) {
        out += chunk.length;
        if (out > allowance) throw new ArchiveLimitError('maxStreamSize', allowance, out);
        if (gunzip && out > limits.ratioCheckAfter && compressedBytes > 0) {
          const ratio = out / compressedBytes;
          if (ratio > limits.maxCompressionRatio) {
            throw new ArchiveLimitError('maxCompressionRatio', limits.maxCompressionRatio, Math.round(ratio * 10) / 10);
          }
        }
        yield chunk;
      }
    } catch (err) {
      if (err instanceof ArchiveError) throw err;
      throw new ArchiveFormatError(`gzip stream is corrupt: ${(err as Error).message}`);
    } finally {
      gunzip?.destroy();
    }
  }
  return limited();
}

function entryType(entry: string, type: tar.Header['type'] | null | undefined): ArchiveEntryType {
  switch (type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'directory';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    default:
      throw new UnsafeArchiveError(entry, 'special-file', `entry type ${String(type ?? 'unknown')} is not allowed`);
  }
}

/** What the reader has seen so far: enough to reject duplicates and paths through links. */
class EntryTable {
  private readonly kinds = new Map<string, ArchiveEntryType>();

  admit(path: string, type: ArchiveEntryType): void {
    for (const parent of parentsOf(path)) {
      const kind = this.kinds.get(parent);
      if (kind === undefined) this.kinds.set(parent, 'directory');
      else if (kind !== 'directory') {
        throw new UnsafeArchiveError(path, 'path-through-link', `parent ${JSON.stringify(parent)} is a ${kind}`);
      }
    }
    const existing = this.kinds.get(path);
    if (existing !== undefined) {
      if (existing === 'directory' && type === 'directory') return;
      throw new UnsafeArchiveError(path, 'duplicate-entry', `already present as a ${existing}`);
    }
    this.kinds.set(path, type);
  }

  kindOf(path: string): ArchiveEntryType | undefined {
    return this.kinds.get(path);
  }
}

/** Read a tar or tar+gzip stream entry by entry, rejecting anything unsafe (see module comment). */
export async function* readArchive(
  input: ArchiveInput,
  options: ReadArchiveOptions = {},
): AsyncGenerator<ArchiveEntry> {
  const limits = resolveLimits(options.limits);
  const { head, rest } = await peek(toSource(input), 512);
  if (head.length === 0) throw new ArchiveFormatError('archive is empty');
  const kind = sniffArchive(head);
  if (kind === 'unknown') throw new ArchiveFormatError('not a tar or tar+gzip archive (no ustar or gzip magic)');

  const extract = tar.extract();
  const bytes = decompressed(kind, rest, limits);
  let feedError: unknown;
  const feeding = (async () => {
    try {
      for await (const chunk of bytes) {
        if (extract.destroyed) return;
        if (!extract.write(chunk)) await drainOrClose(extract);
      }
      extract.end(undefined);
    } catch (err) {
      feedError = err;
      extract.destroy(err as Error);
    }
  })();

  const table = new EntryTable();
  let entries = 0;
  let total = 0;
  try {
    for await (const raw of extract) {
      const header = raw.header;
      entries++;
      if (entries > limits.maxEntries) throw new ArchiveLimitError('maxEntries', limits.maxEntries, entries, header.name);
      if (Buffer.byteLength(header.name, 'utf8') > limits.maxPathLength) {
        throw new ArchiveLimitError('maxPathLength', limits.maxPathLength, Buffer.byteLength(header.name), header.name);
      }
      const path = normalizeEntryPath(header.name);
      const type = entryType(header.name, header.type);
      const size = type === 'file' ? (header.size ?? 0) : 0;
      if (size > limits.maxFileSize) throw new ArchiveLimitError('maxFileSize', limits.maxFileSize, size, path);
      total += size;
      if (total > limits.maxTotalSize) throw new ArchiveLimitError('maxTotalSize', limits.maxTotalSize, total, path);

      if (path === '') {
        // `./` itself: the root, nothing to create
        if (type !== 'directory') throw new UnsafeArchiveError(header.name, 'invalid-name', 'empty entry name');
        continue;
      }
      let linkTarget: string | undefined;
      if (type === 'symlink') {
        linkTarget = header.linkname ?? '';
        resolveSymlinkTarget(path, linkTarget);
      } else if (type === 'hardlink') {
        let target: string;
        try {
          target = normalizeEntryPath(header.linkname ?? '');
        } catch (err) {
          throw new UnsafeArchiveError(path, 'hardlink-escape', (err as Error).message);
        }
        const kind = table.kindOf(target);
        if (kind !== 'file' && kind !== 'hardlink') {
          throw new UnsafeArchiveError(
            path,
            'hardlink-escape',
            `target ${JSON.stringify(header.linkname)} is not an earlier regular file in the archive`,
          );
        }
        linkTarget = target;
      }
      table.admit(path, type);

      // one iterator over the entry stream, shared by the caller's body and the drain below; iterated by
      // hand so a caller that stops early does not destroy the entry (and with it the whole extraction)
      const chunks = raw[Symbol.asyncIterator]();
      const body: AsyncIterable<Buffer> =
        type === 'file'
          ? (async function* () {
              for (;;) {
                const next = await chunks.next();
                if (next.done) return;
                yield next.value as Buffer;
              }
            })()
          : (async function* () {})();
      const entry: ArchiveEntry = { path, type, mode: (header.mode ?? 0o644) & 0o7777, size, body };
      if (linkTarget !== undefined) entry.linkTarget = linkTarget;
      yield entry;
      while (!(await chunks.next()).done) {
        // drain whatever the caller did not read
      }
    }
  } catch (err) {
    if (feedError instanceof ArchiveError) throw feedError;
    if (err instanceof ArchiveError) throw err;
    throw new ArchiveFormatError(`tar stream is invalid: ${(err as Error).message}`);
  } finally {
    // the feeder notices the destroyed extractor at its next chunk and closes the source; not awaited so a
    // stalled source cannot hang the caller
    if (!extract.destroyed) extract.destroy();
    void feeding;
  }
  if (feedError instanceof ArchiveError) throw feedError;
}
