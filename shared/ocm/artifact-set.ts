/**
 * OCM artifact sets: an OCI artifact (image, index, Helm chart) packed into one blob, as `ocm transfer
 * --copy-resources` and the helm/ociImage inputs of `ocm add componentversions` write it (a localBlob with media type
 * `application/vnd.oci.image.manifest.v1+tar[+gzip]` or the `index` variant). The blob is a tar (optionally
 * gzipped) holding a descriptor file - `index.json` (OCI layout form, with `oci-layout`) or the older
 * `artifact-descriptor.json` - and the blobs, flat as `blobs/sha256.<hex>` or nested as `blobs/sha256/<hex>`
 * (OCM's "oci/v1+compliant" form). The descriptor is an OCI index whose annotation `software.ocm/main` names the
 * main artifact (a digest, or a tag listed in a manifest's `software.ocm/tags`); with one manifest that one is main.
 *
 * The set is read in one pass, streamed: every blob is hashed against its file name as it flows; blobs up to
 * KEEP_MAX are kept in memory (manifests, indexes, configs), larger ones go straight to a sink (a registry upload,
 * or a file) and are never held whole. After the last byte the artifact graph is checked from the main artifact:
 * every manifest/index is parsed, every descriptor it names must be in the set with that size, and the main digest
 * must be the one expected (the resource's ociArtifactDigest/v1). Manifests are only pushed after all of that, so a
 * broken set never leaves a manifest behind (at most unreferenced blobs, which the registry's GC removes).
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { bufferSource, isIndexMediaType, MediaType, noteStreamed, type BlobSource, type Descriptor, type Target } from '../oci/index.js';
import { OcmError } from './errors.js';

export const MAIN_ARTIFACT_ANNOTATION = 'software.ocm/main';
export const TAGS_ANNOTATION = 'software.ocm/tags';
const HELM_CHART_LAYER: string = MediaType.HelmChart;

/** Blobs up to this size are kept in memory (manifests, indexes, configs); larger ones stream to the sink. */
const KEEP_MAX = 1024 * 1024;
/** Upper bound of all kept blobs together; past it every further blob streams to the sink. */
const KEEP_TOTAL = 64 * 1024 * 1024;
const DESCRIPTOR_MAX = 4 * 1024 * 1024;
/** gunzip output pieces: zlib's 16 KiB default makes 65536 callbacks, socket writes and buffers per GiB. */
const INFLATE_CHUNK = 256 * 1024;

/** The set is not what it claims: a blob whose bytes do not match its name, a missing blob, a bad document. */
export class ArtifactSetError extends OcmError {
  constructor(
    message: string,
    /** the blob the problem is in, `sha256:<hex>`, when there is one */
    readonly blob?: string,
  ) {
    super('ArtifactSetInvalid', message);
  }
}

interface SetBlob {
  digest: string;
  size: number;
  /** bytes, for kept blobs */
  bytes?: Buffer;
}

/** Where blobs too large to keep go; `stream` must be consumed (the reader drains whatever is left). */
export type LargeBlobSink = (blob: { digest: string; size: number }, stream: Readable) => Promise<void>;

export interface ReadOptions {
  /** names the set in messages, e.g. `resource chart of acme.org/app:1.0.0` */
  what: string;
  /** `sha256:<hex>` the main artifact must have (ociArtifactDigest/v1); unchecked when absent */
  expectMain?: string;
  large: LargeBlobSink;
}

/** A checked set: the main artifact, the manifests to push (children before parents) and the blobs they name. */
export interface ArtifactSetContents {
  main: Descriptor;
  /** every manifest and index reachable from main, children first, main last */
  manifests: { descriptor: Descriptor; bytes: Buffer }[];
  /** configs and layers (and other non-manifest children of indexes) in the order first named */
  blobs: Descriptor[];
  /** bytes of kept blobs by digest */
  kept: Map<string, Buffer>;
}

/** Hashes what flows through; fails at its end when the bytes do not match the digest in the blob's name. */
class BlobHasher extends Transform {
  private readonly hash: Hash;
  private bytes = 0;
  mismatch?: ArtifactSetError;
  constructor(
    private readonly digest: string,
    private readonly size: number,
    private readonly what: string,
  ) {
    super();
    this.hash = createHash(digest.startsWith('sha512:') ? 'sha512' : 'sha256');
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    // every inflated piece is a new Buffer: let the process free the dead ones early (oci/young-garbage.ts)
    noteStreamed(chunk.length);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    const got = `${this.digest.slice(0, this.digest.indexOf(':'))}:${this.hash.digest('hex')}`;
    if (got !== this.digest || this.bytes !== this.size) {
      this.mismatch = new ArtifactSetError(
        `${this.what}: blob ${this.digest} does not match its name (its bytes hash to ${got}, ${this.bytes} bytes)`,
        this.digest,
      );
      cb(this.mismatch);
      return;
    }
    cb();
  }
}

function blobName(name: string): string | undefined {
  const m = /^blobs\/(sha256|sha512)[./]([0-9a-f]+)$/.exec(name);
  if (!m) return undefined;
  const hexLength = m[1] === 'sha256' ? 64 : 128;
  return m[2]!.length === hexLength ? `${m[1]}:${m[2]}` : undefined;
}

/** Splits off the first chunk to tell gzip from tar without buffering more than that chunk. */
async function sniffGzip(input: Readable): Promise<{ gz: boolean; stream: AsyncIterable<Buffer> }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head = await it.next();
  if (head.done) return { gz: false, stream: (async function* () {})() };
  const first = head.value;
  return {
    gz: first[0] === 0x1f && first[1] === 0x8b,
    stream: (async function* () {
      yield first;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value;
      }
    })(),
  };
}

/** Reads, hashes and checks an artifact set (see the module comment); large blobs go to `opts.large`. */
export async function readArtifactSet(input: Readable, opts: ReadOptions): Promise<ArtifactSetContents> {
  const { what } = opts;
  const blobs = new Map<string, SetBlob>();
  let descriptorFile: { name: string; bytes: Buffer } | undefined;
  let keptTotal = 0;
  let current = '';
  let blobError: ArtifactSetError | undefined;

  const extract = tarStream.extract();
  extract.on('entry', (header, entry, next) => {
    const name = header.name.replace(/^(\.\/|\/)+/, '');
    current = name;
    const fail = (e: unknown): void => {
      extract.destroy(e as Error);
    };
    const skip = (): void => {
      entry.on('end', () => next());
      entry.resume();
    };
    if (header.type === 'directory' || name === '' || name === 'oci-layout') return skip();
    if (name === 'index.json' || name === 'artifact-descriptor.json') {
      if (header.type !== 'file') return fail(new ArtifactSetError(`${what}: ${name} is not a regular file`));
      collect(entry, DESCRIPTOR_MAX, `${what}: ${name}`)
        .then((bytes) => {
          // both present: the OCI form wins, as in the OCM library
          if (name === 'index.json' || !descriptorFile) descriptorFile = { name, bytes };
          next();
        })
        .catch(fail);
      return;
    }
    const digest = blobName(name);
    if (!digest) return skip();
    if (header.type !== 'file') return fail(new ArtifactSetError(`${what}: ${name} is a ${header.type}, not a regular file`, digest));
    if (blobs.has(digest)) return fail(new ArtifactSetError(`${what}: blob ${digest} appears twice`, digest));
    const size = header.size ?? 0;
    const hasher = new BlobHasher(digest, size, what);
    entry.pipe(hasher);
    const keep = size <= KEEP_MAX && keptTotal + size <= KEEP_TOTAL;
    const done = keep
      ? collect(hasher, KEEP_MAX, `${what}: blob ${digest}`).then((bytes) => {
          keptTotal += size;
          blobs.set(digest, { digest, size, bytes });
        })
      : opts
          .large({ digest, size }, hasher)
          .then(() => drain(hasher))
          .then(() => {
            blobs.set(digest, { digest, size });
          });
    done.then(
      () => next(),
      (e: unknown) => {
        // the hash mismatch is the finding; an upload failing because of it only follows from it
        if (hasher.mismatch) blobError = hasher.mismatch;
        fail(hasher.mismatch ?? e);
      },
    );
  });

  const { gz, stream } = await sniffGzip(input);
  try {
    if (gz) await pipeline(stream, createGunzip({ chunkSize: INFLATE_CHUNK }), extract);
    else await pipeline(stream, extract);
  } catch (err) {
    if (blobError) throw blobError;
    if (err instanceof ArtifactSetError) throw err;
    throw formatError(err, what, current);
  }
  if (!descriptorFile) throw new ArtifactSetError(`${what}: the artifact set has neither index.json nor artifact-descriptor.json`);
  return checkGraph(descriptorFile, blobs, opts);
}

/** Turns a gzip or tar parse failure into a message; anything else (the source's own errors) passes unchanged. */
function formatError(err: unknown, what: string, current: string): unknown {
  const e = err as { code?: unknown; message?: unknown };
  const after = current ? ` (at or after ${current})` : '';
  const digest = blobName(current);
  if (typeof e.code === 'string' && e.code.startsWith('Z_')) {
    return new ArtifactSetError(`${what}: the artifact set is not a valid gzip stream${after}: ${String(e.message)}`, digest);
  }
  const msg = typeof e.message === 'string' ? e.message : '';
  if (/tar header|Unexpected end of data|Invalid tar|checksum/i.test(msg)) {
    return new ArtifactSetError(`${what}: the artifact set is not a valid tar archive${after}: ${msg}`, digest);
  }
  return err;
}

async function collect(stream: AsyncIterable<unknown>, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = c as Buffer;
    n += b.length;
    if (n > limit) throw new ArtifactSetError(`${what} is larger than ${limit} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

async function drain(stream: Readable): Promise<void> {
  if (stream.readableEnded) return;
  stream.resume();
  await new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
    stream.once('close', () => (stream.readableEnded ? resolve() : reject(new Error('blob stream closed early'))));
  });
}

interface IndexDoc {
  mediaType?: string;
  manifests?: Descriptor[];
  annotations?: Record<string, string>;
}
interface ManifestDoc {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

function parseJson<T>(bytes: Buffer, what: string, blob?: string): T {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as T;
  } catch (err) {
    throw new ArtifactSetError(`${what} is not valid JSON: ${(err as Error).message}`, blob);
  }
}

function isDescriptor(d: unknown): d is Descriptor {
  const r = d as Partial<Descriptor> | null;
  return typeof r === 'object' && r !== null && typeof r.digest === 'string' && /^sha(256|512):[0-9a-f]+$/.test(r.digest) && typeof r.size === 'number';
}

function mainOf(index: IndexDoc, what: string): Descriptor {
  const manifests = (index.manifests ?? []).filter(isDescriptor);
  const main = index.annotations?.[MAIN_ARTIFACT_ANNOTATION];
  if (main) {
    const byDigest = manifests.find((m) => m.digest === main);
    if (byDigest) return byDigest;
    const byTag = manifests.find((m) => (m.annotations?.[TAGS_ANNOTATION] ?? '').split(',').includes(main));
    if (byTag) return byTag;
    if (/^sha(256|512):[0-9a-f]+$/.test(main)) return { digest: main, size: -1, mediaType: '' };
    throw new ArtifactSetError(`${what}: the main artifact ${main} (${MAIN_ARTIFACT_ANNOTATION}) is not listed in the set`);
  }
  if (manifests.length === 1) return manifests[0]!;
  throw new ArtifactSetError(`${what}: the set lists ${manifests.length} artifacts and names no main one (${MAIN_ARTIFACT_ANNOTATION})`);
}

function checkGraph(file: { name: string; bytes: Buffer }, blobs: Map<string, SetBlob>, opts: ReadOptions): ArtifactSetContents {
  const { what } = opts;
  const index = parseJson<IndexDoc>(file.bytes, `${what}: ${file.name}`);
  const main = mainOf(index, `${what}: ${file.name}`);
  if (opts.expectMain && main.digest !== opts.expectMain) {
    throw new ArtifactSetError(
      `${what}: the set's main artifact is ${main.digest}, but the resource digest (ociArtifactDigest/v1) says ${opts.expectMain}`,
      main.digest,
    );
  }
  const manifests: ArtifactSetContents['manifests'] = [];
  const listed = new Set<string>();
  const out: Descriptor[] = [];
  const kept = new Map<string, Buffer>();

  const present = (d: Descriptor, parent: string): SetBlob | undefined => {
    const b = blobs.get(d.digest);
    if (!b) {
      // foreign (non-distributable) layers may be left out of a set, as of a registry
      if (d.urls?.length) return undefined;
      throw new ArtifactSetError(`${what}: ${parent} names blob ${d.digest}, which is not in the set`, d.digest);
    }
    if (d.size >= 0 && d.size !== b.size) {
      throw new ArtifactSetError(`${what}: ${parent} gives blob ${d.digest} size ${d.size}, the set holds ${b.size} bytes`, d.digest);
    }
    return b;
  };

  const visit = (d: Descriptor, parent: string, depth: number): Descriptor => {
    if (depth > 8) throw new ArtifactSetError(`${what}: indexes nested deeper than 8`, d.digest);
    const b = present(d, parent)!;
    if (!b.bytes) throw new ArtifactSetError(`${what}: manifest ${d.digest} is larger than ${KEEP_MAX} bytes`, d.digest);
    const doc = parseJson<ManifestDoc>(b.bytes, `${what}: manifest ${d.digest}`, d.digest);
    const mediaType = d.mediaType || doc.mediaType || (Array.isArray(doc.manifests) ? MediaType.ImageIndex : MediaType.ImageManifest);
    if (doc.mediaType && d.mediaType && doc.mediaType !== d.mediaType) {
      throw new ArtifactSetError(`${what}: ${parent} calls ${d.digest} ${d.mediaType}, the document says ${doc.mediaType}`, d.digest);
    }
    const self = `${isIndexMediaType(mediaType) ? 'index' : 'manifest'} ${d.digest}`;
    const addBlob = (child: Descriptor): void => {
      const cb = present(child, self);
      if (!cb || listed.has(child.digest)) return;
      listed.add(child.digest);
      out.push(child);
      if (cb.bytes) kept.set(child.digest, cb.bytes);
    };
    if (isIndexMediaType(mediaType)) {
      if (!Array.isArray(doc.manifests)) throw new ArtifactSetError(`${what}: ${self} has no manifests list`, d.digest);
      for (const child of doc.manifests) {
        if (!isDescriptor(child)) throw new ArtifactSetError(`${what}: ${self} has an invalid descriptor`, d.digest);
        const childType = child.mediaType ?? '';
        if (isIndexMediaType(childType) || childType === MediaType.ImageManifest || childType === MediaType.DockerManifest) {
          if (!manifests.some((m) => m.descriptor.digest === child.digest)) visit(child, self, depth + 1);
        } else addBlob(child);
      }
    } else {
      if (!isDescriptor(doc.config)) throw new ArtifactSetError(`${what}: ${self} has no valid config descriptor`, d.digest);
      const layers = doc.layers ?? [];
      if (!Array.isArray(layers) || !layers.every(isDescriptor)) throw new ArtifactSetError(`${what}: ${self} has an invalid layer descriptor`, d.digest);
      for (const child of [doc.config, ...layers]) addBlob(child);
    }
    const descriptor: Descriptor = { mediaType, digest: d.digest, size: b.size };
    manifests.push({ descriptor, bytes: b.bytes });
    return descriptor;
  };

  const root = visit(main, file.name, 0);
  return { main: root, manifests, blobs: out, kept };
}

/** A BlobSource over a stream that can be read once (a tar entry); a retried upload cannot re-read it. */
function onceSource(stream: Readable, digest: string): BlobSource {
  let opened = false;
  return {
    open(): Readable {
      if (opened) throw new ArtifactSetError(`blob ${digest} of the artifact set cannot be read twice (upload retried)`, digest);
      opened = true;
      return stream;
    },
  };
}

/**
 * Copies the artifact of a set into `dst`, streamed: large blobs are uploaded while the set is read, then (once the
 * whole set is checked) the kept blobs and the manifests, the main one last under `tag`. Manifest bytes are pushed
 * verbatim, so the main digest is unchanged. Returns the main descriptor.
 */
export async function copyArtifactSet(
  input: Readable,
  dst: Target,
  opts: { what: string; expectMain?: string; tag?: string },
): Promise<Descriptor> {
  const set = await readArtifactSet(input, {
    what: opts.what,
    ...(opts.expectMain ? { expectMain: opts.expectMain } : {}),
    large: (blob, stream) => dst.blobs.push(blob, onceSource(stream, blob.digest)),
  });
  for (const b of set.blobs) {
    const bytes = set.kept.get(b.digest);
    if (bytes) await dst.blobs.push({ digest: b.digest, size: b.size }, bufferSource(bytes));
  }
  for (const m of set.manifests) {
    const isMain = m.descriptor.digest === set.main.digest;
    const tag = isMain ? opts.tag : undefined;
    const existing = await dst.manifests.resolve(tag ?? m.descriptor.digest);
    if (existing?.digest !== m.descriptor.digest) await dst.manifests.push(m.bytes, m.descriptor.mediaType, tag);
  }
  return set.main;
}

/**
 * Extracts the Helm chart layer of a set's main manifest into `dir` (checked like any set). Large blobs are written
 * to `dir` while the set is read; returns the chart file and its descriptor.
 */
export async function extractChartFromArtifactSet(
  input: Readable,
  dir: string,
  opts: { what: string; expectMain?: string },
): Promise<{ path: string; layer: Descriptor; main: Descriptor }> {
  const files = new Map<string, string>();
  const set = await readArtifactSet(input, {
    what: opts.what,
    ...(opts.expectMain ? { expectMain: opts.expectMain } : {}),
    large: async (blob, stream) => {
      const path = join(dir, blob.digest.replace(':', '-'));
      await pipeline(stream, createWriteStream(path));
      files.set(blob.digest, path);
    },
  });
  if (isIndexMediaType(set.main.mediaType)) {
    throw new ArtifactSetError(`${opts.what}: the main artifact ${set.main.digest} is an index, not a Helm chart manifest`, set.main.digest);
  }
  const doc = JSON.parse(set.manifests[set.manifests.length - 1]!.bytes.toString('utf8')) as ManifestDoc;
  const layer = (doc.layers ?? []).find((l) => l.mediaType === HELM_CHART_LAYER);
  if (!layer) {
    const types = (doc.layers ?? []).map((l) => l.mediaType).join(', ') || 'none';
    throw new ArtifactSetError(`${opts.what}: the main manifest ${set.main.digest} has no Helm chart layer (${HELM_CHART_LAYER}); its layers: ${types}`, set.main.digest);
  }
  let path = files.get(layer.digest);
  if (!path) {
    path = join(dir, layer.digest.replace(':', '-'));
    await writeFile(path, set.kept.get(layer.digest)!);
  }
  return { path, layer: { ...layer }, main: set.main };
}
