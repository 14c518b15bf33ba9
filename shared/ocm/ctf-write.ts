/**
 * Producing component versions without the OCM CLI: build the OCI artifact of a component version
 * (descriptor tar layer + local blobs), write it into a CTF (directory, tar or tgz; byte-for-byte deterministic),
 * or push it to a registry through the OciConnector.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { listDirectory, packEntries } from '../archive/index.js';
import { serializeComponentDescriptor } from './descriptor.js';
import { COMPONENT_DESCRIPTOR_FILE } from './cv-artifact.js';
import { Annotation, MediaType } from '../oci/media-types.js';
import { ARTIFACT_INDEX, CTF_COMPONENT_PREFIX, type CtfIndexEntry } from './ctf.js';
import { GENERIC_BLOB_DIGEST_V1 } from './access.js';
import { cvName, type ComponentDescriptor, type Identity, type Label, type Resource, type TypedSpec } from './model.js';
import { componentRepositoryPath, parseBaseUrl } from './oci-repo.js';
import type { OciConnector } from './ports.js';
import type { Descriptor } from '../oci/types.js';
import { digestFile, digestOf } from '../oci/digest.js';
import { readBounded } from './streams.js';
import { versionToTag } from './tag.js';

export const CREATOR = 'ocm-knative';

/** A local blob: bytes in memory or a file. digest/size are computed when absent. */
export interface LocalBlobInput {
  mediaType: string;
  data?: Buffer;
  path?: string;
  digest?: string;
  size?: number;
}

export interface ComponentVersionInput {
  descriptor: ComponentDescriptor;
  blobs?: LocalBlobInput[];
}

interface ResolvedBlob {
  mediaType: string;
  digest: string;
  size: number;
  open(): Readable;
  data?: Buffer;
}

async function resolveBlob(b: LocalBlobInput): Promise<ResolvedBlob> {
  if (b.data) {
    const data = b.data;
    return {
      mediaType: b.mediaType,
      digest: b.digest ?? digestOf(data),
      size: data.length,
      data,
      open: () => Readable.from([data]),
    };
  }
  if (!b.path) throw new TypeError('local blob needs data or path');
  const path = b.path;
  let digest = b.digest;
  let size = b.size;
  if (!digest || size === undefined) ({ digest, size } = await digestFile(path));
  return { mediaType: b.mediaType, digest, size, open: () => createReadStream(path) };
}

export interface LocalResourceMeta {
  name: string;
  version: string;
  type: string;
  relation?: 'local' | 'external';
  extraIdentity?: Identity;
  labels?: Label[];
  referenceName?: string;
  globalAccess?: TypedSpec;
}

/** A resource with localBlob access and genericBlobDigest/v1 digest, plus the blob to store with it. */
export async function localBlobResource(meta: LocalResourceMeta, blob: LocalBlobInput): Promise<{ resource: Resource; blob: LocalBlobInput }> {
  const rb = await resolveBlob(blob);
  const access: TypedSpec = { type: 'localBlob', localReference: rb.digest, mediaType: rb.mediaType };
  if (meta.referenceName) access['referenceName'] = meta.referenceName;
  if (meta.globalAccess) access['globalAccess'] = meta.globalAccess;
  const resource: Resource = {
    name: meta.name,
    version: meta.version,
    type: meta.type,
    relation: meta.relation ?? 'local',
    access,
    digest: { hashAlgorithm: 'SHA-256', normalisationAlgorithm: GENERIC_BLOB_DIGEST_V1, value: rb.digest.slice('sha256:'.length) },
  };
  if (meta.extraIdentity) resource.extraIdentity = meta.extraIdentity;
  if (meta.labels) resource.labels = meta.labels;
  return { resource, blob: { ...blob, digest: rb.digest, size: rb.size } };
}

export interface BuiltComponentArtifact {
  manifest: Buffer;
  manifestDigest: string;
  config: Buffer;
  descriptorLayer: Buffer;
  blobs: ResolvedBlob[];
}

/** The component version's OCI artifact (manifest, config, descriptor layer, local blob layers). */
export async function buildComponentArtifact(cv: ComponentVersionInput): Promise<BuiltComponentArtifact> {
  const cd = cv.descriptor;
  const yaml = Buffer.from(serializeComponentDescriptor(cd, 'yaml'), 'utf8');
  const descriptorLayer = await readBounded(packEntries([{ path: COMPONENT_DESCRIPTOR_FILE, type: 'file', content: yaml }], { gzip: false }), 64 * 1024 * 1024, 'descriptor layer');
  const layerDesc: Descriptor = { mediaType: MediaType.ComponentDescriptorTar, digest: digestOf(descriptorLayer), size: descriptorLayer.length };
  const config = Buffer.from(JSON.stringify({ componentDescriptorLayer: layerDesc }), 'utf8');
  const blobs = await Promise.all((cv.blobs ?? []).map(resolveBlob));
  const unique = new Map<string, ResolvedBlob>();
  for (const b of blobs) if (!unique.has(b.digest)) unique.set(b.digest, b);
  const referenced = new Set(
    cd.resources.map((r) => r.access).filter((a): a is TypedSpec => a?.type === 'localBlob').map((a) => String(a['localReference'])),
  );
  for (const ref of referenced) if (!unique.has(ref)) throw new TypeError(`${cvName(cd)}: no blob given for localReference ${ref}`);
  const layers: Descriptor[] = [layerDesc];
  for (const b of unique.values()) {
    const users = [...cd.resources, ...cd.sources]
      .filter((r) => r.access?.type === 'localBlob' && r.access['localReference'] === b.digest)
      .map((r) => ({ kind: cd.resources.includes(r as Resource) ? 'resource' : 'source', identity: { name: r.name, ...(r.extraIdentity ?? {}) } }));
    const l: Descriptor = { mediaType: b.mediaType || 'application/octet-stream', digest: b.digest, size: b.size };
    if (users.length) l.annotations = { [Annotation.Artifact]: JSON.stringify(users) };
    layers.push(l);
  }
  const manifestObj = {
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    config: { mediaType: MediaType.ComponentConfig, digest: digestOf(config), size: config.length },
    layers,
    annotations: { [Annotation.ComponentVersion]: cvName(cd), [Annotation.Creator]: CREATOR },
  };
  const manifest = Buffer.from(JSON.stringify(manifestObj), 'utf8');
  return { manifest, manifestDigest: digestOf(manifest), config, descriptorLayer, blobs: [...unique.values()] };
}

async function writeBlobFile(dir: string, digest: string, write: (path: string) => Promise<void>): Promise<void> {
  const path = join(dir, 'blobs', digest.replace(':', '.'));
  try {
    await stat(path);
    return; // content-addressed: already there
  } catch {
    // write below
  }
  const tmp = `${path}.tmp-${process.pid}`;
  await write(tmp);
  await rename(tmp, path);
}

/** Add component versions to a CTF directory (created if missing; existing entries for the same version replaced). */
export async function writeCtfDirectory(dir: string, cvs: ComponentVersionInput[]): Promise<CtfIndexEntry[]> {
  await mkdir(join(dir, 'blobs'), { recursive: true });
  let index: CtfIndexEntry[] = [];
  try {
    const j = JSON.parse(await readFile(join(dir, ARTIFACT_INDEX), 'utf8')) as { artifacts?: CtfIndexEntry[] | null };
    index = j.artifacts ?? [];
  } catch {
    // new CTF
  }
  for (const cv of cvs) {
    const built = await buildComponentArtifact(cv);
    for (const [digest, bytes] of [
      [built.manifestDigest, built.manifest],
      [digestOf(built.config), built.config],
      [digestOf(built.descriptorLayer), built.descriptorLayer],
    ] as const) {
      await writeBlobFile(dir, digest, (p) => writeFile(p, bytes));
    }
    for (const b of built.blobs) {
      await writeBlobFile(dir, b.digest, (p) => pipeline(b.open(), createWriteStream(p)));
    }
    const repository = CTF_COMPONENT_PREFIX + cv.descriptor.name;
    const tag = versionToTag(cv.descriptor.version);
    index = index.filter((e) => !(e.repository === repository && e.tag === tag));
    index.push({ repository, tag, digest: built.manifestDigest });
  }
  index.sort((a, b) => (a.repository === b.repository ? ((a.tag ?? '') < (b.tag ?? '') ? -1 : 1) : a.repository < b.repository ? -1 : 1));
  await writeFile(join(dir, ARTIFACT_INDEX), JSON.stringify({ schemaVersion: 1, artifacts: index }));
  return index;
}

/** Write a CTF archive file (tgz by default, or plain tar) deterministically: same input, same bytes. */
export async function writeCtfArchive(file: string, cvs: ComponentVersionInput[], format: 'tgz' | 'tar' = 'tgz'): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'ocm-ctf-write-'));
  try {
    await writeCtfDirectory(tmp, cvs);
    await mkdir(dirname(file), { recursive: true });
    const entries = await listDirectory(tmp);
    await pipeline(packEntries(entries, { gzip: format === 'tgz' }), createWriteStream(`${file}.tmp`));
    await rename(`${file}.tmp`, file);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Pack an existing CTF directory as tgz/tar (deterministic). */
export async function packCtfDirectory(dir: string, file: string, format: 'tgz' | 'tar' = 'tgz'): Promise<void> {
  const entries = await listDirectory(dir);
  await pipeline(packEntries(entries, { gzip: format === 'tgz' }), createWriteStream(file));
}

/** Push a component version to `<baseUrl>/<subPath>/component-descriptors/<name>:<tag>`. */
export async function pushComponentVersion(oci: OciConnector, baseUrl: string, cv: ComponentVersionInput, subPath?: string): Promise<Descriptor> {
  const { registry, prefix } = parseBaseUrl(baseUrl);
  const repo = oci(registry, componentRepositoryPath(prefix, subPath, cv.descriptor.name));
  const built = await buildComponentArtifact(cv);
  const small = (b: Buffer) => ({ open: () => Readable.from([b]) });
  await repo.blobs.push({ digest: digestOf(built.descriptorLayer), size: built.descriptorLayer.length }, small(built.descriptorLayer));
  await repo.blobs.push({ digest: digestOf(built.config), size: built.config.length }, small(built.config));
  for (const b of built.blobs) await repo.blobs.push({ digest: b.digest, size: b.size }, { open: () => b.open() });
  return repo.manifests.push(built.manifest, MediaType.ImageManifest, versionToTag(cv.descriptor.version));
}
