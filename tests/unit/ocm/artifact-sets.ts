/**
 * Builds OCM artifact sets in memory, in the format the OCM library (v0.48.0) writes: a tar (optionally gzipped)
 * whose first entry is the descriptor file (`index.json`, or `artifact-descriptor.json` in the older form), then
 * `oci-layout`, then the blobs as `blobs/sha256.<hex>` (or nested `blobs/sha256/<hex>`). The index's annotation
 * `software.ocm/main` names the main artifact. Small fixtures for unit tests only.
 */
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { MediaType, type Descriptor } from '../../../shared/oci/index.js';
import { sha256 } from '../../support/digest.js';

export function describe(bytes: Buffer, mediaType: string): Descriptor {
  return { mediaType, digest: sha256(bytes), size: bytes.length };
}

export interface Doc {
  bytes: Buffer;
  desc: Descriptor;
}

/** An image manifest over a config and layers; returns the manifest and every blob (config, layers). */
export function image(config: Buffer, layers: { bytes: Buffer; mediaType: string }[], configType: string = MediaType.ImageConfig): { manifest: Doc; blobs: Buffer[] } {
  const body = {
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    config: describe(config, configType),
    layers: layers.map((l) => describe(l.bytes, l.mediaType)),
  };
  const bytes = Buffer.from(JSON.stringify(body));
  return { manifest: { bytes, desc: describe(bytes, MediaType.ImageManifest) }, blobs: [config, ...layers.map((l) => l.bytes)] };
}

/** An image index over manifests (each with a platform). */
export function imageIndex(manifests: Doc[]): Doc {
  const body = {
    schemaVersion: 2,
    mediaType: MediaType.ImageIndex,
    manifests: manifests.map((m, i) => ({ ...m.desc, platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' } })),
  };
  const bytes = Buffer.from(JSON.stringify(body));
  return { bytes, desc: describe(bytes, MediaType.ImageIndex) };
}

export interface SetOptions {
  /** the artifact listed in the set's index (main) */
  main: Doc;
  /** every blob of the set, manifests included */
  blobs: Buffer[];
  descriptorFile?: 'index.json' | 'artifact-descriptor.json';
  /** `blobs/sha256/<hex>` (OCM's oci/v1+compliant form) instead of `blobs/sha256.<hex>` */
  nested?: boolean;
  gzip?: boolean;
  /** name main by its tag instead of its digest */
  mainByTag?: boolean;
  /** leave out software.ocm/main */
  noMainAnnotation?: boolean;
  tag?: string;
  /** a hand-made descriptor file instead of the one built from `main` */
  index?: Buffer;
  /** put these bytes under the name of this digest (a changed blob in a consistent tar) */
  replace?: { digest: string; bytes: Buffer };
}

export function setIndex(opts: SetOptions): Buffer {
  const tag = opts.tag ?? '1.0.0';
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ImageIndex,
    manifests: [{ ...opts.main.desc, annotations: { 'org.opencontainers.image.ref.name': tag, 'software.ocm/tags': tag } }],
    ...(opts.noMainAnnotation ? {} : { annotations: { 'software.ocm/main': opts.mainByTag ? tag : opts.main.desc.digest } }),
  };
  return Buffer.from(JSON.stringify(index));
}

/** The set as a tar (or tgz) in memory. */
export async function artifactSet(opts: SetOptions): Promise<Buffer> {
  const pack = tar.pack();
  const mtime = new Date(0);
  pack.entry({ name: opts.descriptorFile ?? 'index.json', mtime }, opts.index ?? setIndex(opts));
  if ((opts.descriptorFile ?? 'index.json') === 'index.json') pack.entry({ name: 'oci-layout', mtime }, '{"imageLayoutVersion":"1.0.0"}');
  pack.entry({ name: 'blobs', type: 'directory', mtime });
  const seen = new Set<string>();
  for (const b of opts.blobs) {
    const hex = describe(b, '').digest.slice('sha256:'.length);
    if (seen.has(hex)) continue;
    seen.add(hex);
    const body = opts.replace?.digest === `sha256:${hex}` ? opts.replace.bytes : b;
    pack.entry({ name: opts.nested ? `blobs/sha256/${hex}` : `blobs/sha256.${hex}`, mtime }, body);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  const tarBytes = Buffer.concat(chunks);
  return opts.gzip ? gzipSync(tarBytes) : tarBytes;
}
