/**
 * A component version stored as an OCI artifact (registry or CTF): manifest -> config
 * (`componentDescriptorLayer`) -> descriptor layer (tar with component-descriptor.yaml, or plain YAML/JSON),
 * plus local blobs as further layers. Reading accepts the current and the legacy (Gardener) media types.
 */
import type { Readable } from 'node:stream';
import { MediaType } from '../oci/media-types.js';
import { ArtifactFormatError } from './errors.js';
import { parseComponentDescriptor, DEFAULT_MAX_DESCRIPTOR_BYTES, type ParseOptions } from './descriptor.js';
import type { ComponentDescriptor } from './model.js';
import type { Descriptor, ImageManifest } from '../oci/types.js';
import { extractTarMember, looksLikeTar, readBounded } from './streams.js';

/** Config media types a component version may carry: OCM's and the Gardener tooling's before it. */
export const COMPONENT_CONFIG_MEDIA_TYPES: readonly string[] = [
  MediaType.ComponentConfig,
  MediaType.LegacyComponentConfig,
  MediaType.LegacyComponentDescriptorMetadataConfig,
];

/** Descriptor layer media types we read (tar, JSON or YAML; OCM's and the Gardener tooling's). */
export const DESCRIPTOR_LAYER_MEDIA_TYPES: readonly string[] = [
  MediaType.ComponentDescriptorTar,
  MediaType.ComponentDescriptorJson,
  MediaType.ComponentDescriptorYaml,
  MediaType.LegacyComponentDescriptorTar,
  MediaType.LegacyComponentDescriptorJson,
  MediaType.LegacyComponentDescriptorYaml,
];

export const COMPONENT_DESCRIPTOR_FILE = 'component-descriptor.yaml';

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function descriptorOf(v: unknown, what: string): Descriptor {
  if (!isObj(v) || typeof v['digest'] !== 'string' || typeof v['mediaType'] !== 'string' || typeof v['size'] !== 'number') {
    throw new ArtifactFormatError(`${what} is not an OCI descriptor (needs mediaType, digest, size)`);
  }
  return v as unknown as Descriptor;
}

export function parseManifest(bytes: Buffer, what: string): ImageManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) throw new ArtifactFormatError(`${what}: manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ArtifactFormatError(`${what}: manifest is not JSON`, { cause: err });
  }
  if (!isObj(m)) throw new ArtifactFormatError(`${what}: manifest is not an object`);
  if (Array.isArray(m['manifests'])) throw new ArtifactFormatError(`${what}: is an image index, not a component version manifest`);
  const config = descriptorOf(m['config'], `${what}: config`);
  if (!Array.isArray(m['layers'])) throw new ArtifactFormatError(`${what}: manifest has no layers`);
  const layers = m['layers'].map((l, i) => descriptorOf(l, `${what}: layers[${i}]`));
  // schemaVersion is not checked (nothing depends on it); the manifest is read as the image-spec's
  const out: ImageManifest = { schemaVersion: 2, config, layers };
  if (typeof m['mediaType'] === 'string') out.mediaType = m['mediaType'];
  if (isObj(m['annotations'])) out.annotations = m['annotations'] as Record<string, string>;
  return out;
}

export type BlobReader = (desc: Descriptor) => Promise<Readable>;

/** Find the descriptor layer: the config names it; fall back to the first layer with a descriptor media type. */
export async function descriptorLayerOf(manifest: ImageManifest, readBlob: BlobReader, what: string): Promise<Descriptor> {
  const cfgType = manifest.config.mediaType;
  if (COMPONENT_CONFIG_MEDIA_TYPES.includes(cfgType)) {
    const cfgBytes = await readBounded(await readBlob(manifest.config), 1024 * 1024, `${what}: config`);
    let cfg: unknown;
    try {
      cfg = JSON.parse(cfgBytes.toString('utf8'));
    } catch (err) {
      throw new ArtifactFormatError(`${what}: component config is not JSON`, { cause: err });
    }
    const ref = isObj(cfg) ? cfg['componentDescriptorLayer'] : undefined;
    if (isObj(ref) && typeof ref['digest'] === 'string') {
      const layer = manifest.layers.find((l) => l.digest === ref['digest']);
      if (layer) return layer;
      throw new ArtifactFormatError(`${what}: componentDescriptorLayer ${String(ref['digest'])} is not a layer of the manifest`);
    }
  } else {
    throw new ArtifactFormatError(`${what}: config media type ${cfgType} is not an OCM component config`);
  }
  const layer = manifest.layers.find((l) => DESCRIPTOR_LAYER_MEDIA_TYPES.includes(l.mediaType)) ?? manifest.layers[0];
  if (!layer) throw new ArtifactFormatError(`${what}: manifest has no descriptor layer`);
  return layer;
}

/** Decode the descriptor layer bytes (tar with component-descriptor.yaml, or YAML/JSON). */
export async function descriptorFromLayer(bytes: Buffer, mediaType: string, what: string, opts: ParseOptions = {}): Promise<ComponentDescriptor> {
  const limit = opts.maxBytes ?? DEFAULT_MAX_DESCRIPTOR_BYTES;
  let doc: Buffer = bytes;
  if (mediaType.endsWith('+tar') || looksLikeTar(bytes)) {
    const member = await extractTarMember(bytes, (n) => n === COMPONENT_DESCRIPTOR_FILE, limit);
    if (!member) throw new ArtifactFormatError(`${what}: descriptor layer tar has no ${COMPONENT_DESCRIPTOR_FILE}`);
    doc = member;
  }
  return parseComponentDescriptor(doc, opts);
}

export async function readDescriptorFromArtifact(
  manifestBytes: Buffer,
  readBlob: BlobReader,
  what: string,
  opts: ParseOptions = {},
): Promise<{ manifest: ImageManifest; descriptor: ComponentDescriptor }> {
  const manifest = parseManifest(manifestBytes, what);
  const layer = await descriptorLayerOf(manifest, readBlob, what);
  const limit = (opts.maxBytes ?? DEFAULT_MAX_DESCRIPTOR_BYTES) + 64 * 1024;
  const bytes = await readBounded(await readBlob(layer), limit, `${what}: descriptor layer`);
  const descriptor = await descriptorFromLayer(bytes, layer.mediaType, what, opts);
  return { manifest, descriptor };
}

/** `sha256.<hex>` (component-archive file names) -> `sha256:<hex>`. */
export function normaliseLocalReference(ref: string): string {
  return /^(sha256|sha512)\.[0-9a-f]+$/.test(ref) ? ref.replace('.', ':') : ref;
}
