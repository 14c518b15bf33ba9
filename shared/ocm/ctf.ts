/**
 * Common Transport Format reader: a directory (or tar / tgz of one) holding `artifact-index.json` and
 * content-addressed `blobs/<alg>.<hex>`. Archives are unpacked once into a private temp directory (only the
 * index and blob files, names validated, sizes bounded), so reading stays random-access and memory-flat.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { ArtifactFormatError, ComponentNotFoundError, RepositorySpecError, VersionNotFoundError } from './errors.js';
import { normaliseLocalReference, parseManifest, readDescriptorFromArtifact } from './cv-artifact.js';
import type { ComponentDescriptor } from './model.js';
import type { BlobHandle, ComponentRepository, OciConnector, RepositorySpec } from './ports.js';
import type { ImageManifest } from '../oci/types.js';
import { readBounded, splitDigest, verifyingStream } from './streams.js';
import { tagToVersion, versionToTag } from './tag.js';

/** Blob reads in 256 KiB pieces: a 1 GiB localBlob is 4096 reads and stream hops instead of 16384 (bench/pipeline/ocm-by-value.ts). */
const READ_CHUNK = 256 * 1024;
import type { ParseOptions } from './descriptor.js';

export const ARTIFACT_INDEX = 'artifact-index.json';
export const CTF_COMPONENT_PREFIX = 'component-descriptors/';

export interface CtfIndexEntry {
  repository: string;
  tag?: string;
  digest: string;
  mediaType?: string;
}

export interface CtfLimits {
  /** max total unpacked bytes of an archive (default 8 GiB) */
  maxTotalBytes?: number;
  /** max number of archive entries (default 100000) */
  maxEntries?: number;
}

function parseIndex(bytes: Buffer, where: string): CtfIndexEntry[] {
  let j: unknown;
  try {
    j = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ArtifactFormatError(`${where}: ${ARTIFACT_INDEX} is not JSON`, { cause: err });
  }
  if (typeof j !== 'object' || j === null) throw new ArtifactFormatError(`${where}: ${ARTIFACT_INDEX} is not an object`);
  const o = j as Record<string, unknown>;
  if (o['schemaVersion'] !== 1) throw new ArtifactFormatError(`${where}: ${ARTIFACT_INDEX} schemaVersion ${String(o['schemaVersion'])} unsupported (want 1)`);
  const arts = o['artifacts'];
  if (arts === null || arts === undefined) return [];
  if (!Array.isArray(arts)) throw new ArtifactFormatError(`${where}: ${ARTIFACT_INDEX} artifacts must be a list`);
  return arts.map((a: unknown, i) => {
    const e = a as Record<string, unknown>;
    if (typeof e?.['repository'] !== 'string' || typeof e['digest'] !== 'string') {
      throw new ArtifactFormatError(`${where}: ${ARTIFACT_INDEX} artifacts[${i}] needs repository and digest`);
    }
    const entry: CtfIndexEntry = { repository: e['repository'], digest: e['digest'] };
    if (typeof e['tag'] === 'string' && e['tag']) entry.tag = e['tag'];
    if (typeof e['mediaType'] === 'string') entry.mediaType = e['mediaType'];
    return entry;
  });
}

const BLOB_NAME = /^blobs\/(sha256\.[0-9a-f]{64}|sha512\.[0-9a-f]{128})$/;

/** Unpack a CTF tar/tgz into `dir`, taking only the index and blob files. */
async function unpackArchive(file: string, dir: string, gz: boolean, limits: CtfLimits): Promise<void> {
  const maxTotal = limits.maxTotalBytes ?? 8 * 1024 ** 3;
  const maxEntries = limits.maxEntries ?? 100_000;
  let total = 0;
  let entries = 0;
  await mkdir(join(dir, 'blobs'), { recursive: true });
  const extract = tarStream.extract();
  extract.on('entry', (header, stream, next) => {
    entries++;
    const name = header.name.replace(/^\.\//, '').replace(/\/$/, '');
    const fail = (msg: string): void => {
      // destroying the extractor (not next(err)) makes the pipeline reject exactly once; the entry stream gets
      // the same error, which the pipeline already reports
      stream.on('error', () => undefined);
      extract.destroy(new ArtifactFormatError(`CTF archive ${file}: ${msg}`));
    };
    if (entries > maxEntries) return fail(`more than ${maxEntries} entries`);
    if (header.type === 'directory' && (name === '' || name === '.' || name === 'blobs')) {
      stream.resume();
      stream.on('end', () => next());
      return;
    }
    if (header.type !== 'file') return fail(`unexpected entry ${name} of type ${header.type}`);
    if (name !== ARTIFACT_INDEX && !BLOB_NAME.test(name)) return fail(`unexpected file ${JSON.stringify(name)}`);
    total += header.size ?? 0;
    if (total > maxTotal) return fail(`unpacked size above ${maxTotal} bytes`);
    pipeline(stream, createWriteStream(join(dir, name), { flags: 'wx' }))
      .then(() => next())
      .catch((e: unknown) => next(e as Error));
  });
  const src = createReadStream(file);
  await (gz ? pipeline(src, createGunzip(), extract) : pipeline(src, extract));
}

async function detectFormat(path: string): Promise<'directory' | 'tar' | 'tgz'> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new RepositorySpecError(`CTF ${path} does not exist (${(err as Error).message})`);
  }
  if (st.isDirectory()) return 'directory';
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, 0);
    return b[0] === 0x1f && b[1] === 0x8b ? 'tgz' : 'tar';
  } finally {
    await fh.close();
  }
}

export interface CtfOpenOptions extends CtfLimits {
  /** connector for globalAccess / ociArtifact resources referenced from this CTF */
  oci?: OciConnector;
  parse?: ParseOptions;
}

export class CtfRepository implements ComponentRepository {
  readonly location: string;
  private manifests = new Map<string, ImageManifest>();
  private constructor(
    readonly spec: RepositorySpec,
    private readonly dir: string,
    private readonly index: CtfIndexEntry[],
    private readonly tempDir: string | undefined,
    readonly oci: OciConnector | undefined,
    private readonly parseOpts: ParseOptions,
  ) {
    this.location = `CTF ${(spec as { filePath: string }).filePath}`;
  }

  static async open(spec: Extract<RepositorySpec, { filePath: string }>, opts: CtfOpenOptions = {}): Promise<CtfRepository> {
    const format = await detectFormat(spec.filePath);
    if (spec.fileFormat && spec.fileFormat !== format && !(spec.fileFormat === 'tar' && format === 'tgz')) {
      throw new RepositorySpecError(`CTF ${spec.filePath} is a ${format}, but fileFormat says ${spec.fileFormat}`);
    }
    let dir = spec.filePath;
    let temp: string | undefined;
    if (format !== 'directory') {
      temp = await mkdtemp(join(tmpdir(), 'ocm-ctf-'));
      try {
        await unpackArchive(spec.filePath, temp, format === 'tgz', opts);
      } catch (err) {
        await rm(temp, { recursive: true, force: true });
        throw err;
      }
      dir = temp;
    }
    let indexBytes: Buffer;
    try {
      indexBytes = await readFile(join(dir, ARTIFACT_INDEX));
    } catch (err) {
      if (temp) await rm(temp, { recursive: true, force: true });
      throw new ArtifactFormatError(`CTF ${spec.filePath} has no ${ARTIFACT_INDEX}`, { cause: err });
    }
    const index = parseIndex(indexBytes, `CTF ${spec.filePath}`);
    return new CtfRepository({ ...spec, fileFormat: format }, dir, index, temp, opts.oci, opts.parse ?? {});
  }

  /** all component versions in the archive */
  componentVersions(): { component: string; version: string }[] {
    return this.index
      .filter((e) => e.repository.startsWith(CTF_COMPONENT_PREFIX) && e.tag)
      .map((e) => ({ component: e.repository.slice(CTF_COMPONENT_PREFIX.length), version: tagToVersion(e.tag!) }));
  }

  async listVersions(component: string): Promise<string[]> {
    const repo = CTF_COMPONENT_PREFIX + component;
    return this.index.filter((e) => e.repository === repo && e.tag).map((e) => tagToVersion(e.tag!));
  }

  private blobPath(digest: string): string {
    const { algorithm, hex } = splitDigest(digest);
    return join(this.dir, 'blobs', `${algorithm}.${hex}`);
  }

  private async openBlob(digest: string, size: number | undefined, what: string, verify = true): Promise<Readable> {
    const path = this.blobPath(digest);
    try {
      const st = await stat(path);
      if (!st.isFile()) throw new Error('not a file');
    } catch (err) {
      throw new ArtifactFormatError(`${this.location}: blob ${digest} (${what}) is missing`, { cause: err });
    }
    const file = createReadStream(path, { highWaterMark: READ_CHUNK });
    return verify ? verifyingStream(file, `${what} ${digest}`, digest, size) : file;
  }

  /** The component version's manifest bytes (hashed against the index's digest). */
  private async manifestBytes(component: string, version: string): Promise<{ bytes: Buffer; what: string }> {
    const repo = CTF_COMPONENT_PREFIX + component;
    const tag = versionToTag(version);
    const entry = this.index.find((e) => e.repository === repo && (e.tag === tag || e.tag === version));
    if (!entry) {
      if (!this.index.some((e) => e.repository === repo)) throw new ComponentNotFoundError(component, this.location);
      throw new VersionNotFoundError(component, version, this.location);
    }
    const what = `${this.location} ${component}:${version}`;
    const bytes = await readBounded(await this.openBlob(entry.digest, undefined, 'manifest'), 4 * 1024 * 1024, `${what} manifest`);
    return { bytes, what };
  }

  private async manifestFor(component: string, version: string): Promise<{ manifest: ImageManifest; descriptor: ComponentDescriptor }> {
    const { bytes, what } = await this.manifestBytes(component, version);
    const res = await readDescriptorFromArtifact(bytes, (d) => this.openBlob(d.digest, d.size, 'blob'), what, this.parseOpts);
    this.manifests.set(`${component}:${version}`, res.manifest);
    return res;
  }

  async getDescriptor(component: string, version: string): Promise<ComponentDescriptor> {
    return (await this.manifestFor(component, version)).descriptor;
  }

  async getLocalBlob(component: string, version: string, localReference: string, mediaType?: string): Promise<BlobHandle> {
    const digest = normaliseLocalReference(localReference);
    // only the manifest's layers are needed: the caller has the descriptor (a stage: from its validated snapshot), so
    // it is not read and validated again here (a JSON-schema compile per process, ~0.3 CPU s and ~9 MiB)
    let manifest = this.manifests.get(`${component}:${version}`);
    if (!manifest) {
      const { bytes, what } = await this.manifestBytes(component, version);
      manifest = parseManifest(bytes, what);
      this.manifests.set(`${component}:${version}`, manifest);
    }
    const layer = manifest.layers.find((l) => l.digest === digest);
    if (!layer) {
      throw new ArtifactFormatError(`${this.location}: local blob ${localReference} is not a layer of ${component}:${version}`);
    }
    return {
      mediaType: mediaType || layer.mediaType,
      size: layer.size,
      digest,
      open: (opts) => this.openBlob(digest, layer.size, `local blob of ${component}:${version}`, !opts?.skipDigestVerification),
    };
  }

  async close(): Promise<void> {
    if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

