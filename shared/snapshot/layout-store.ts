import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  Annotation,
  assertDigest,
  assertReference,
  assertRepositoryName,
  digestOf,
  IO_CHUNK_BYTES,
  isDigest,
  MediaType,
  NotFoundError,
  OciError,
  verifyBytes,
  VerifyingStream,
  type BlobSource,
  type BlobStore,
  type Descriptor,
  type FetchedManifest,
  type ImageIndex,
  type ManifestStore,
  type Target,
} from '../oci/index.js';
import { BaseOciStore } from './oci-store.js';
import { BlobFileWriter } from '../oci/blob-file-writer.js';

const LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: '1.0.0' });

/** Serialises async work per key (index.json read-modify-write per repository) within this process. */
class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

function tmpName(dir: string, base: string): string {
  return join(dir, `.${base}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Writes a file atomically: temp file in the same directory, then rename. */
async function writeAtomic(path: string, data: Buffer | string): Promise<void> {
  const tmp = tmpName(dirname(path), 'write');
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** One OCI image layout (`<root>/<repository>/`): oci-layout, index.json, blobs/<alg>/<hex>. */
class LayoutRepository {
  private readonly dir: string;

  constructor(
    root: string,
    readonly repository: string,
    private readonly lock: KeyedMutex,
  ) {
    this.dir = join(root, assertRepositoryName(repository));
  }

  private blobPath(digest: string): string {
    assertDigest(digest);
    const [alg, hex] = digest.split(':') as [string, string];
    return join(this.dir, 'blobs', alg, hex);
  }

  private async ensureLayout(): Promise<void> {
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await mkdir(join(this.dir, '.uploads'), { recursive: true });
    if (!(await exists(join(this.dir, 'oci-layout')))) await writeAtomic(join(this.dir, 'oci-layout'), LAYOUT_FILE);
  }

  private async readIndex(): Promise<ImageIndex> {
    let text: string;
    try {
      text = await readFile(join(this.dir, 'index.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return { schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [] };
      }
      throw err;
    }
    try {
      const idx = JSON.parse(text) as ImageIndex;
      return { ...idx, manifests: idx.manifests ?? [] };
    } catch {
      throw new OciError(`${this.dir}/index.json is not valid JSON`);
    }
  }

  private updateIndex(fn: (idx: ImageIndex) => boolean): Promise<boolean> {
    return this.lock.run(this.dir, async () => {
      await this.ensureLayout();
      const idx = await this.readIndex();
      const changed = fn(idx);
      if (changed) await writeAtomic(join(this.dir, 'index.json'), JSON.stringify(idx));
      return changed;
    });
  }

  // ---- BlobStore ----

  async blobExists(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  async fetchBlob(desc: { digest: string; size?: number }, opts: { verify?: boolean } = {}): Promise<Readable> {
    const path = this.blobPath(desc.digest);
    if (!(await exists(path))) throw new NotFoundError(`blob ${this.repository}@${desc.digest} not found in ${this.dir}`);
    if (opts.verify === false) return createReadStream(path, { highWaterMark: IO_CHUNK_BYTES });
    const verifier = new VerifyingStream(desc.digest, desc.size, `blob ${this.repository}@${desc.digest}`);
    const src = createReadStream(path, { highWaterMark: IO_CHUNK_BYTES });
    src.on('error', (err) => verifier.destroy(err));
    return src.pipe(verifier);
  }

  /** The blob as a copy source: its file, so a registry upload can send it without a stream. */
  blobSource(desc: { digest: string; size: number }): BlobSource {
    return { open: () => this.fetchBlob(desc, { verify: false }), file: this.blobPath(desc.digest) };
  }

  /** Streams into .uploads/, verifies digest and size, then renames into blobs/ (atomic; concurrent pushes are fine). */
  async pushBlob(desc: { digest: string; size: number }, source: BlobSource): Promise<void> {
    const path = this.blobPath(desc.digest);
    if (await exists(path)) return;
    await this.ensureLayout();
    const tmp = tmpName(join(this.dir, '.uploads'), 'blob');
    try {
      if (source.writeTo) {
        // the source verifies digest and size itself (BlobSource.writeTo's contract) before it resolves
        await source.writeTo(tmp);
      } else {
        await pipeline(
          await source.open(),
          new VerifyingStream(desc.digest, desc.size, `blob ${this.repository}@${desc.digest}`),
          new BlobFileWriter(tmp, IO_CHUNK_BYTES),
        );
      }
      await mkdir(dirname(path), { recursive: true });
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  // ---- ManifestStore ----

  async resolve(reference: string): Promise<Descriptor | undefined> {
    assertReference(reference);
    const idx = await this.readIndex();
    if (isDigest(reference)) {
      const entry = idx.manifests.find((m) => m.digest === reference);
      if (entry) return plain(entry);
      // a child of an index is stored as a blob only
      if (!(await this.blobExists(reference))) return undefined;
      return (await this.fetchByDigest(reference)).descriptor;
    }
    const entry = idx.manifests.find((m) => m.annotations?.[Annotation.RefName] === reference);
    return entry ? plain(entry) : undefined;
  }

  private async fetchByDigest(digest: string, mediaTypeHint?: string): Promise<FetchedManifest> {
    const what = `manifest ${this.repository}@${digest}`;
    let bytes: Buffer;
    try {
      bytes = await readFile(this.blobPath(digest));
    } catch {
      throw new NotFoundError(`${what} not found in ${this.dir}`);
    }
    verifyBytes(what, bytes, digest);
    let parsed: { mediaType?: string; artifactType?: string; manifests?: unknown };
    try {
      parsed = JSON.parse(bytes.toString('utf8')) as typeof parsed;
    } catch {
      throw new OciError(`${what} is not valid JSON`);
    }
    const mediaType =
      mediaTypeHint ?? parsed.mediaType ?? (Array.isArray(parsed.manifests) ? MediaType.ImageIndex : MediaType.ImageManifest);
    return {
      descriptor: {
        mediaType,
        digest,
        size: bytes.length,
        ...(typeof parsed.artifactType === 'string' ? { artifactType: parsed.artifactType } : {}),
      },
      bytes,
    };
  }

  async fetchManifest(reference: string): Promise<FetchedManifest> {
    const desc = await this.resolve(reference);
    if (!desc) throw new NotFoundError(`manifest ${this.repository}:${reference} not found in ${this.dir}`);
    return this.fetchByDigest(desc.digest, desc.mediaType);
  }

  async pushManifest(bytes: Buffer, mediaType: string, tag?: string): Promise<Descriptor> {
    if (tag !== undefined) assertReference(tag);
    const digest = digestOf(bytes);
    let artifactType: string | undefined;
    try {
      const parsed = JSON.parse(bytes.toString('utf8')) as { artifactType?: unknown };
      if (typeof parsed.artifactType === 'string') artifactType = parsed.artifactType;
    } catch {
      throw new OciError(`manifest for ${this.repository}${tag ? `:${tag}` : ''} is not valid JSON`);
    }
    await this.ensureLayout();
    const path = this.blobPath(digest);
    if (!(await exists(path))) await writeAtomic(path, bytes);
    const desc: Descriptor = { mediaType, digest, size: bytes.length, ...(artifactType ? { artifactType } : {}) };
    await this.updateIndex((idx) => {
      if (tag === undefined) {
        if (idx.manifests.some((m) => m.digest === digest)) return false;
        idx.manifests.push(desc);
        return true;
      }
      const current = idx.manifests.find((m) => m.annotations?.[Annotation.RefName] === tag);
      if (current?.digest === digest) return false;
      // the tag moves: drop its old entry and an untagged entry of the same digest (zot keeps one entry per tag)
      idx.manifests = idx.manifests.filter(
        (m) => m.annotations?.[Annotation.RefName] !== tag && !(m.digest === digest && !m.annotations?.[Annotation.RefName]),
      );
      idx.manifests.push({ ...desc, annotations: { [Annotation.RefName]: tag } });
      return true;
    });
    return desc;
  }

  /** Removes every index entry of the digest and the manifest blob (layers stay: that is GC's job). */
  async delete(digest: string): Promise<boolean> {
    assertDigest(digest);
    const removed = await this.updateIndex((idx) => {
      const before = idx.manifests.length;
      idx.manifests = idx.manifests.filter((m) => m.digest !== digest);
      return idx.manifests.length !== before;
    });
    if (removed) await rm(this.blobPath(digest), { force: true });
    return removed;
  }

  async tags(): Promise<string[]> {
    const idx = await this.readIndex();
    return idx.manifests.flatMap((m) => {
      const t = m.annotations?.[Annotation.RefName];
      return t ? [t] : [];
    });
  }
}

function plain(d: Descriptor): Descriptor {
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.artifactType ? { artifactType: d.artifactType } : {}),
  };
}

/** Splits one layout repository into the Target's blob and manifest halves. */
class LayoutTarget implements Target {
  readonly blobs: BlobStore;
  readonly manifests: ManifestStore;
  constructor(readonly repository: string, repo: LayoutRepository) {
    this.blobs = {
      exists: (d) => repo.blobExists(d),
      fetch: (d, o) => repo.fetchBlob(d, o),
      push: (d, s) => repo.pushBlob(d, s),
      source: (d) => repo.blobSource(d),
    };
    this.manifests = {
      resolve: (r) => repo.resolve(r),
      fetch: (r) => repo.fetchManifest(r),
      push: (b, m, t) => repo.pushManifest(b, m, t),
      delete: (d) => repo.delete(d),
      tags: () => repo.tags(),
    };
  }
}

/**
 * OciStore adapter over OCI image layouts on disk, one per repository, in zot's on-disk format
 * (`<root>/<repository>/{oci-layout,index.json,blobs/sha256/...}`, tags as org.opencontainers.image.ref.name).
 * Writes are atomic (temp + rename); index.json updates are serialised per repository within this process.
 */
export class LayoutStore extends BaseOciStore {
  readonly root: string;
  readonly url: string;
  private readonly lock = new KeyedMutex();

  constructor(root: string) {
    super();
    this.root = resolvePath(root);
    this.url = pathToFileURL(this.root).href;
  }

  repository(name: string): Target {
    return new LayoutTarget(name, new LayoutRepository(this.root, name, this.lock));
  }
}
