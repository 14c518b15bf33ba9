import type { Readable } from 'node:stream';
import {
  isIndexMediaType,
  MediaType,
  OciError,
  fileSource,
  bufferSource,
  type Descriptor,
  type FetchedManifest,
  type ImageManifest,
  type Target,
} from '../oci/index.js';
import { buildArtifact, type ArtifactInput, type BuiltArtifact } from './artifact.js';

/** The descriptors of a pushed single-layer artifact (a Snapshot records its digest, tag and blob, docs/design.md §3). */
export interface PushedManifest {
  repository: string;
  /** the tag it was pushed under, if any */
  tag?: string;
  manifest: Descriptor;
  config: Descriptor;
  /** the single layer */
  blob: Descriptor;
}

/** A fetched single-layer artifact: manifest (parsed and raw) and its layer descriptor. */
export interface FetchedArtifact extends FetchedManifest {
  manifest: ImageManifest;
  blob: Descriptor;
}

/**
 * An OCI store: repositories of blobs and manifests, with single-layer artifact helpers. Two adapters: RegistryStore
 * (an OCI registry) and LayoutStore (OCI image layouts on disk, zot's format). Repositories are OCI names like
 * `ns/resource/name`. The stages do not see it: functions/adapters/artifact-store.ts turns it into their
 * ArtifactStore port (shared/ports/artifacts.ts).
 */
export interface OciStore {
  /** where the store lives: `https://host:port` for a registry, `file:///abs/path` for layouts */
  readonly url: string;
  /** raw access to one repository (blobs + manifests) */
  repository(name: string): Target;
  /** builds (docs/design.md §6) and pushes a single-layer artifact; HEAD-before-push makes a repeat push cheap */
  pushArtifact(repository: string, input: ArtifactInput, opts?: { tag?: string; tmpDir?: string }): Promise<PushedManifest>;
  /** pushes an artifact built with `buildArtifact` (digests already known) */
  pushBuilt(repository: string, built: BuiltArtifact, opts?: { tag?: string }): Promise<PushedManifest>;
  /** manifest descriptor by tag or digest; undefined when absent */
  resolve(repository: string, reference: string): Promise<Descriptor | undefined>;
  /** manifest bytes (digest verified); NotFoundError when absent */
  fetchManifest(repository: string, reference: string): Promise<FetchedManifest>;
  /** a single-layer artifact's manifest and layer descriptor; OciError when it is not one */
  fetchArtifact(repository: string, reference: string): Promise<FetchedArtifact>;
  /** streams a blob; the stream errors with DigestMismatchError when the bytes are wrong */
  openBlob(repository: string, desc: { digest: string; size?: number }): Promise<Readable>;
  /** deletes a manifest by digest; false when it was not there */
  deleteManifest(repository: string, digest: string): Promise<boolean>;
  listTags(repository: string): Promise<string[]>;
  close(): Promise<void>;
}

/** The operations shared by both adapters, written once over `Target`. */
export abstract class BaseOciStore implements OciStore {
  abstract readonly url: string;
  abstract repository(name: string): Target;

  async close(): Promise<void> {
    // nothing to release by default
  }

  async pushArtifact(
    repository: string,
    input: ArtifactInput,
    opts: { tag?: string; tmpDir?: string } = {},
  ): Promise<PushedManifest> {
    const built = await buildArtifact(input, opts.tmpDir ? { tmpDir: opts.tmpDir } : {});
    try {
      return await this.pushBuilt(repository, built, opts.tag === undefined ? {} : { tag: opts.tag });
    } finally {
      await built.dispose();
    }
  }

  async pushBuilt(repository: string, built: BuiltArtifact, opts: { tag?: string } = {}): Promise<PushedManifest> {
    const target = this.repository(repository);
    // helm push writes `+` (not allowed in OCI tags) as `_`, and Flux/helm read it back that way
    const tag = opts.tag ?? built.chartVersion?.replaceAll('+', '_');
    const layer = built.layer.descriptor;
    const config = built.config.descriptor;
    await target.blobs.push(layer, fileSource(built.layer.path));
    await target.blobs.push(config, bufferSource(built.config.bytes));
    const existing = await target.manifests.resolve(tag ?? built.manifest.descriptor.digest);
    if (existing?.digest !== built.manifest.descriptor.digest) {
      await target.manifests.push(built.manifest.bytes, MediaType.ImageManifest, tag);
    }
    return {
      repository,
      ...(tag === undefined ? {} : { tag }),
      manifest: built.manifest.descriptor,
      config,
      blob: layer,
    };
  }

  resolve(repository: string, reference: string): Promise<Descriptor | undefined> {
    return this.repository(repository).manifests.resolve(reference);
  }

  fetchManifest(repository: string, reference: string): Promise<FetchedManifest> {
    return this.repository(repository).manifests.fetch(reference);
  }

  async fetchArtifact(repository: string, reference: string): Promise<FetchedArtifact> {
    const fetched = await this.fetchManifest(repository, reference);
    if (isIndexMediaType(fetched.descriptor.mediaType)) {
      throw new OciError(`${repository}:${reference} is an image index, not a single-layer artifact`);
    }
    const manifest = JSON.parse(fetched.bytes.toString('utf8')) as ImageManifest;
    const blob = manifest.layers?.[0];
    if (!blob || manifest.layers.length !== 1) {
      throw new OciError(`${repository}:${reference} has ${manifest.layers?.length ?? 0} layers, expected exactly one`);
    }
    return { ...fetched, manifest, blob };
  }

  openBlob(repository: string, desc: { digest: string; size?: number }): Promise<Readable> {
    return this.repository(repository).blobs.fetch(desc);
  }

  deleteManifest(repository: string, digest: string): Promise<boolean> {
    return this.repository(repository).manifests.delete(digest);
  }

  listTags(repository: string): Promise<string[]> {
    return this.repository(repository).manifests.tags();
  }
}
