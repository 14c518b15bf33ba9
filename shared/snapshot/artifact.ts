import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Annotation, digestFile, digestOf, InvalidArgumentError, MediaType, type Descriptor, type ImageManifest } from '../oci/index.js';
import { gzipFile, readTarEntry, sniffFormat, wrapFileInTarGzip } from './deterministic-tar.js';
// A static import on purpose: a lazy `await import('yaml')` here failed inside the esbuild bundle of the resource
// function ("Bt is not a function" on every Helm chart); this module loads with the handler, not at start-up.
import { parse as parseYaml } from 'yaml';

/** Where an artifact's single blob comes from. A stream is spooled to a temporary file first (never held in memory). */
export type ArtifactContent = { path: string } | { stream: Readable };

/** What the blob is. `auto` decides from the OCM media type and the bytes. */
export type ArtifactKind = 'auto' | 'descriptors' | 'helm' | 'archive';

/** Who produced the content; becomes manifest annotations (docs/design.md §6). All optional. */
export interface Provenance {
  /** component repository, e.g. `ghcr.io/acme/ocm` (org.opencontainers.image.source) */
  source?: string;
  component?: string;
  version?: string;
  /** identity map of the resource (software.ocm.identity, JSON with sorted keys) */
  identity?: Record<string, string>;
}

export interface ArtifactInput {
  content: ArtifactContent;
  /** the blob's original OCM media type (kept in annotation software.ocm.resource.mediaType) */
  mediaType: string;
  /** resource name: the file name when a non-archive blob is wrapped in a tar, and the layer title */
  name: string;
  kind?: ArtifactKind;
  provenance?: Provenance;
  /** extra manifest annotations, e.g. serverless.ocm.software/input-digest */
  annotations?: Record<string, string>;
}

/** A built artifact: the layer file on disk, config bytes, manifest bytes. Call `dispose()` when pushed. */
export interface BuiltArtifact {
  manifest: { bytes: Buffer; descriptor: Descriptor };
  config: { bytes: Buffer; descriptor: Descriptor };
  layer: { path: string; descriptor: Descriptor };
  /** chart version for Helm charts (Flux wants it as the tag) */
  chartVersion?: string;
  dispose(): Promise<void>;
}

const EMPTY_CONFIG = Buffer.from('{}');

function sorted(rec: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(rec).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The manifest annotations of docs/design.md §6 for a provenance (no timestamps). */
export function provenanceAnnotations(p: Provenance | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!p) return out;
  if (p.source) out[Annotation.Source] = p.source;
  if (p.component && p.version) {
    out[Annotation.Revision] = `${p.component}@${p.version}`;
    out[Annotation.ComponentVersion] = `${p.component}:${p.version}`;
  }
  if (p.identity) out[Annotation.Identity] = JSON.stringify(sorted(p.identity));
  return out;
}

/**
 * Serialises a single-layer image manifest. Key order is fixed and annotation keys are sorted, so equal inputs
 * give equal bytes.
 */
export function buildManifest(opts: {
  config: Descriptor;
  layer: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}): Buffer {
  const layer: Descriptor = {
    mediaType: opts.layer.mediaType,
    digest: opts.layer.digest,
    size: opts.layer.size,
    ...(opts.layer.annotations && Object.keys(opts.layer.annotations).length ? { annotations: sorted(opts.layer.annotations) } : {}),
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
    config: { mediaType: opts.config.mediaType, digest: opts.config.digest, size: opts.config.size },
    layers: [layer],
    ...(opts.annotations && Object.keys(opts.annotations).length ? { annotations: sorted(opts.annotations) } : {}),
  };
  return Buffer.from(JSON.stringify(manifest));
}

function looksLikeHelm(mediaType: string): boolean {
  return mediaType === MediaType.HelmChart || /helm/i.test(mediaType);
}

/** Layer file names must not escape anything a puller writes to; keep a plain file name. */
function safeFileName(name: string): string {
  const cleaned = name.replace(/[/\\]/g, '_').replace(/^\.+/, '_');
  if (!cleaned) throw new InvalidArgumentError('artifact name is empty');
  return cleaned;
}

/**
 * Builds a single-layer artifact on disk per docs/design.md §6: decides the layer media type, adds gzip to plain tars,
 * wraps other blobs in a one-entry tar, derives the Helm config from Chart.yaml, and serialises the manifest.
 * Deterministic: same input bytes and fields => same manifest digest.
 */
export async function buildArtifact(input: ArtifactInput, opts: { tmpDir?: string } = {}): Promise<BuiltArtifact> {
  const work = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'ocmk-artifact-'));
  const dispose = (): Promise<void> => rm(work, { recursive: true, force: true });
  try {
    let src: string;
    if ('path' in input.content) src = input.content.path;
    else {
      src = join(work, 'input');
      await pipeline(input.content.stream, createWriteStream(src));
    }
    const name = safeFileName(input.name);
    let kind = input.kind ?? 'auto';
    if (kind === 'auto') {
      if (input.mediaType === MediaType.ComponentDescriptors) kind = 'descriptors';
      else if (looksLikeHelm(input.mediaType)) kind = 'helm';
      else kind = 'archive';
    }

    let layerPath = src;
    let layerDigest: { digest: string; size: number };
    let layerMediaType: string;
    let title: string;
    let config: { bytes: Buffer; mediaType: string } = { bytes: EMPTY_CONFIG, mediaType: MediaType.Empty };
    let artifactType: string | undefined = MediaType.SnapshotArtifact;
    let chartVersion: string | undefined;

    if (kind === 'descriptors') {
      layerDigest = await digestFile(src);
      layerMediaType = MediaType.ComponentDescriptors;
      title = name.endsWith('.yaml') ? name : `${name}.yaml`;
    } else {
      const format = await sniffFormat(src);
      if (format === 'tar+gzip') {
        layerDigest = await digestFile(src);
      } else if (format === 'tar') {
        layerPath = join(work, 'layer.tar.gz');
        layerDigest = await gzipFile(src, layerPath);
      } else {
        if (kind === 'helm') {
          throw new InvalidArgumentError(`artifact "${input.name}": a Helm chart must be a tar or tar+gzip archive`);
        }
        layerPath = join(work, 'layer.tar.gz');
        layerDigest = await wrapFileInTarGzip(src, name, layerPath);
      }
      if (kind === 'helm') {
        const chart = await readTarEntry(layerPath, true, (n) => /^[^/]+\/Chart\.yaml$/.test(n), 1024 * 1024);
        if (!chart) throw new InvalidArgumentError(`artifact "${input.name}": Helm chart has no <chart>/Chart.yaml`);
        let meta: unknown;
        try {
          meta = parseYaml(chart.bytes.toString('utf8'), { maxAliasCount: 100 });
        } catch (err) {
          throw new InvalidArgumentError(`artifact "${input.name}": ${chart.name} is not valid YAML: ${(err as Error).message}`);
        }
        if (typeof meta !== 'object' || meta === null) {
          throw new InvalidArgumentError(`artifact "${input.name}": ${chart.name} is not a YAML mapping`);
        }
        const m = meta as { name?: unknown; version?: unknown };
        if (typeof m.name !== 'string' || (typeof m.version !== 'string' && typeof m.version !== 'number')) {
          throw new InvalidArgumentError(`artifact "${input.name}": ${chart.name} needs "name" and "version"`);
        }
        chartVersion = String(m.version);
        config = { bytes: Buffer.from(JSON.stringify(meta)), mediaType: MediaType.HelmConfig };
        layerMediaType = MediaType.HelmChart;
        artifactType = undefined;
        title = `${m.name}-${chartVersion}.tgz`;
      } else {
        layerMediaType = MediaType.LayerGzip;
        title = `${name}.tar.gz`;
      }
    }

    const configDesc: Descriptor = { mediaType: config.mediaType, digest: digestOf(config.bytes), size: config.bytes.length };
    const layerDesc: Descriptor = {
      mediaType: layerMediaType,
      digest: layerDigest.digest,
      size: layerDigest.size,
      annotations: { [Annotation.Title]: title, [Annotation.ResourceMediaType]: input.mediaType },
    };
    const annotations = {
      ...provenanceAnnotations(input.provenance),
      [Annotation.ResourceMediaType]: input.mediaType,
      ...input.annotations,
    };
    const manifestBytes = buildManifest({
      config: configDesc,
      layer: layerDesc,
      ...(artifactType ? { artifactType } : {}),
      annotations,
    });
    return {
      manifest: {
        bytes: manifestBytes,
        descriptor: {
          mediaType: MediaType.ImageManifest,
          digest: digestOf(manifestBytes),
          size: manifestBytes.length,
          ...(artifactType ? { artifactType } : {}),
        },
      },
      config: { bytes: config.bytes, descriptor: configDesc },
      layer: { path: layerPath, descriptor: layerDesc },
      ...(chartVersion !== undefined ? { chartVersion } : {}),
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}
