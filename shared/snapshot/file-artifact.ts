import { basename } from 'node:path';
import { Annotation, bufferSource, digestFile, digestOf, fileSource, MediaType, type Descriptor, type Target } from '../oci/index.js';

export interface FileArtifactOptions {
  artifactType: string;
  /** the layer's media type (default application/octet-stream) */
  mediaType?: string;
  /** org.opencontainers.image.title of the layer (default: the file's name) */
  title?: string;
  tag?: string;
  /** the file's digest and size when already known (skips hashing it) */
  layer?: { digest: string; size: number };
}

/**
 * Pushes one file as an OCI artifact (empty config, the file as its only layer), as `oras push <file>` does: the raw
 * form, without docs/design.md §6's tar/gzip and provenance. For peer interop tests and benchmarks. Returns the layer's and
 * the manifest's descriptors.
 */
export async function pushFileArtifact(target: Target, file: string, opts: FileArtifactOptions): Promise<{ layer: { digest: string; size: number }; manifest: Descriptor }> {
  const layer = opts.layer ?? (await digestFile(file));
  await target.blobs.push(layer, fileSource(file));
  const empty = Buffer.from('{}');
  await target.blobs.push({ digest: digestOf(empty), size: 2 }, bufferSource(empty));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      artifactType: opts.artifactType,
      config: { mediaType: MediaType.Empty, digest: digestOf(empty), size: 2 },
      layers: [{ mediaType: opts.mediaType ?? 'application/octet-stream', ...layer, annotations: { [Annotation.Title]: opts.title ?? basename(file) } }],
    }),
  );
  return { layer, manifest: await target.manifests.push(manifest, MediaType.ImageManifest, opts.tag) };
}
