/**
 * Pushing a single-layer OCI image manifest by hand (its config and layer blobs first): what tests do to put an
 * image, a hand-made component version or a signed-artifact target into a registry without going through our writers.
 */
import { bufferSource, MediaType, type RemoteRepository } from '../../shared/oci/index.js';
import { sha256 } from './digest.js';

export interface SingleLayerManifest {
  config: Buffer;
  configMediaType: string;
  layer: Buffer;
  layerMediaType: string;
  artifactType?: string;
  /** a tag to push the manifest under; without it the manifest is pushed by digest */
  tag?: string;
}

/** Pushes the two blobs and the manifest; returns the manifest's digest and size (for an index that lists it). */
export async function pushSingleLayerManifest(repo: RemoteRepository, m: SingleLayerManifest): Promise<{ digest: string; size: number }> {
  await repo.blobs.push({ digest: sha256(m.layer), size: m.layer.length }, bufferSource(m.layer));
  await repo.blobs.push({ digest: sha256(m.config), size: m.config.length }, bufferSource(m.config));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      ...(m.artifactType !== undefined ? { artifactType: m.artifactType } : {}),
      config: { mediaType: m.configMediaType, digest: sha256(m.config), size: m.config.length },
      layers: [{ mediaType: m.layerMediaType, digest: sha256(m.layer), size: m.layer.length }],
    }),
  );
  const desc = await repo.manifests.push(manifest, MediaType.ImageManifest, m.tag);
  return { digest: desc.digest, size: manifest.length };
}
