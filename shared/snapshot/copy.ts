import {
  isIndexMediaType,
  isManifestMediaType,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type Target,
} from '../oci/index.js';

export interface CopyOptions {
  /** tag for the root manifest in the destination (default: by digest only) */
  tag?: string;
  /** blobs copied in parallel (default 3) */
  concurrency?: number;
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

/**
 * Copies a whole artifact (image manifest or index, every referenced manifest and blob) from one Target to another,
 * in either direction between registries and layouts. Manifests are copied byte for byte, so digests are kept.
 * Blobs stream from source to destination (digest verified on both ends) and are skipped when already present.
 * Returns the root descriptor.
 */
export async function copyArtifact(src: Target, reference: string, dst: Target, opts: CopyOptions = {}): Promise<Descriptor> {
  const concurrency = opts.concurrency ?? 3;
  const seen = new Set<string>();

  const copyBlob = async (desc: Descriptor): Promise<void> => {
    if (seen.has(desc.digest)) return;
    seen.add(desc.digest);
    // foreign layers (urls set) may be non-distributable and absent from the source
    if (desc.urls?.length && !(await src.blobs.exists(desc.digest))) return;
    // the destination verifies digest and size (a registry on PUT, a layout before rename), so hash only once;
    // the source store's own BlobSource may offer a file or a download-to-file, which skips the streams
    const blob = { digest: desc.digest, size: desc.size };
    await dst.blobs.push(blob, src.blobs.source?.(blob) ?? { open: () => src.blobs.fetch(desc, { verify: false }) });
  };

  const copyManifest = async (ref: string, tag: string | undefined): Promise<Descriptor> => {
    const fetched = await src.manifests.fetch(ref);
    const desc = fetched.descriptor;
    const body = JSON.parse(fetched.bytes.toString('utf8')) as Partial<ImageManifest & ImageIndex>;
    if (isIndexMediaType(desc.mediaType) || Array.isArray(body.manifests)) {
      for (const child of body.manifests ?? []) {
        if (isManifestMediaType(child.mediaType)) {
          if (!(await dst.manifests.resolve(child.digest))) await copyManifest(child.digest, undefined);
        } else {
          await copyBlob(child);
        }
      }
    } else {
      const blobs = [...(body.config ? [body.config] : []), ...(body.layers ?? [])];
      await mapLimit(blobs, concurrency, copyBlob);
    }
    const existing = await dst.manifests.resolve(tag ?? desc.digest);
    if (existing?.digest !== desc.digest) await dst.manifests.push(fetched.bytes, desc.mediaType, tag);
    return desc;
  };

  return copyManifest(reference, opts.tag);
}
