/**
 * Writes a tiny OCI image layout (one random layer, empty config) for smoke tests that push with
 * skopeo/oras and pull with crane. Returns the digests so a test can check what came back.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../support/digest.js';
import { MediaType } from '../../shared/oci/media-types.js';

export interface OciLayout {
  dir: string;
  tag: string;
  manifestDigest: string;
  manifestBytes: Buffer;
  layerDigest: string;
  layerSize: number;
}

export async function writeOciLayout(dir: string, opts: { tag?: string; layerBytes?: number } = {}): Promise<OciLayout> {
  const tag = opts.tag ?? 'v1';
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (b: Buffer): Promise<string> => {
    const d = sha256(b);
    await writeFile(join(blobs, d.slice('sha256:'.length)), b);
    return d;
  };
  const layer = randomBytes(opts.layerBytes ?? 64 * 1024);
  const config = Buffer.from('{}');
  const layerDigest = await put(layer);
  const configDigest = await put(config);
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      artifactType: MediaType.SnapshotArtifact,
      config: { mediaType: MediaType.Empty, digest: configDigest, size: config.length },
      layers: [{ mediaType: MediaType.Layer, digest: layerDigest, size: layer.length }],
    }),
  );
  const manifestDigest = await put(manifestBytes);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: MediaType.ImageManifest,
          digest: manifestDigest,
          size: manifestBytes.length,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return { dir, tag, manifestDigest, manifestBytes, layerDigest, layerSize: layer.length };
}
