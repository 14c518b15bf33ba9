import type { Readable } from 'node:stream';
import type { Identity } from './kinds.js';

/** A file on local disk whose bytes have been digest-checked. `dispose` removes it (idempotent). */
export interface LocalBlob {
  path: string;
  size: number;
  /** `sha256:<hex>` of the file's bytes */
  digest: string;
  /** media type of the content (OCM media type for resources, OCI layer type for snapshot layers) */
  mediaType: string;
  dispose(): Promise<void>;
}

/** What goes into a single-layer artifact; the store picks media types per docs/design.md §6. */
export type LayerKind =
  /** YAML `{components: [...]}` */
  | 'component-descriptors'
  /** a Helm chart archive: Helm config + chart layer, tag = chart version */
  | 'helm-chart'
  /** anything else: gzip added to a plain tar, a non-archive wrapped in a tar under `resourceName` */
  | 'blob';

export interface SingleLayerRequest {
  /** `<namespace>/<kind-lowercase>/<name>` */
  repository: string;
  /** the version (the store maps `+` to `.build-`); ignored for helm-chart, which is tagged with the chart version */
  tag: string;
  kind: LayerKind;
  content: LocalBlob;
  /** the original OCM media type, kept in annotation software.ocm.resource.mediaType */
  ocmMediaType?: string;
  /** file name when a non-archive blob is wrapped in a tar */
  resourceName?: string;
  annotations: {
    /** org.opencontainers.image.source: the component repository */
    source?: string;
    /** component name and version: revision `<component>@<version>`, software.ocm.componentversion */
    component?: { name: string; version: string };
    identity?: Identity;
  };
}

export interface PushedArtifact {
  repository: string;
  tag: string;
  /** manifest digest, verified against what the registry reports */
  digest: string;
  /** the layer (for whole-artifact copies: the manifest itself, size 0 when unknown) */
  blob: { digest: string; size: number; mediaType: string };
}

export interface CopyInRequest {
  /** a full image reference `host[:port]/path[:tag][@digest]` outside our registry */
  source: string;
  /** dockerconfigjson for the source registry */
  dockerConfig?: Buffer;
  /** when set, the source manifest digest must equal this before anything is copied */
  expectDigest?: string;
  repository: string;
  tag: string;
}

/** The handlers ask it through the ports; the media types are shared/oci's. */
export { isArtifactSetMediaType } from '../oci/media-types.js';

/**
 * An OCM artifact set (a localBlob holding an OCI artifact as a tar/tgz, see shared/ocm/artifact-set.ts), read
 * from a stream exactly once and verified blob by blob while it is stored.
 */
export interface ArtifactSetRequest {
  repository: string;
  /** the resource version (the store maps `+`); a Helm chart is tagged with its chart version */
  tag: string;
  content: Readable;
  /** names the resource in messages */
  what: string;
  /** `sha256:<hex>` the set's main artifact must have (the resource's ociArtifactDigest/v1) */
  expectDigest?: string;
  /** `artifact`: the main artifact is copied whole (digest kept); `helm-chart`: its chart layer becomes a Helm snapshot */
  as: 'artifact' | 'helm-chart';
  resourceName: string;
  ocmMediaType: string;
  annotations: SingleLayerRequest['annotations'];
}

export interface CopyOutRequest {
  repository: string;
  digest: string;
  /** `oci://host/path[:tag]` or `host/path[:tag]` */
  target: string;
  tag: string;
  dockerConfig?: Buffer;
  /** plain HTTP to the target (Publication.spec.target.insecure) */
  insecure?: boolean;
}

/**
 * The internal registry as the stages see it (zot, any distribution registry, or OCI layouts on disk).
 * Errors: a registry that is down throws TransientError; DigestMismatch is a DigestMismatchError.
 */
export interface ArtifactStore {
  pushSingleLayer(req: SingleLayerRequest): Promise<PushedArtifact>;
  /** Copies a whole artifact (manifest or index, every blob) from an external registry into ours. */
  copyIn(req: CopyInRequest): Promise<PushedArtifact>;
  /** Stores the artifact of an OCM artifact set (streamed; every blob hashed against its name and descriptor). */
  pushArtifactSet(req: ArtifactSetRequest): Promise<PushedArtifact>;
  /** Copies one of our artifacts to an external registry; returns where it landed. */
  copyOut(req: CopyOutRequest): Promise<{ url: string; digest: string }>;
  /**
   * true when the manifest is present. An implementation may remember a recent answer; `fresh` asks the registry
   * regardless (a registry event said it was removed).
   */
  hasManifest(repository: string, digest: string, opts?: { fresh?: boolean }): Promise<boolean>;
  /** Downloads the single layer of one of our manifests to a temp file (digest-checked). */
  fetchLayer(repository: string, digest: string): Promise<LocalBlob>;
  /** Deletes a manifest; resolves false when it was not there. */
  deleteManifest(repository: string, digest: string): Promise<boolean>;
  /** `host[:port]/<repository>` (no scheme), for Flux `oci://` URLs and Snapshot status. */
  referenceFor(repository: string): string;
  /** registry access settings to put on the Flux OCIRepository */
  readonly flux: { insecure?: boolean; certSecretRef?: string; secretRef?: string };
  /** cosign-compatible signatures of our artifacts; absent when no signing key is configured */
  readonly signatures?: SignatureStore;
}

/** Our signatures of artifacts in the internal registry, in the form Flux's `verify: {provider: cosign}` checks. */
export interface SignatureStore {
  /** name of the Secret (key `cosign.pub`, in the OCIRepository's namespace) for `spec.verify.secretRef` */
  readonly verifySecretRef: string;
  /** Pushes our signature of repository@digest, replacing whatever its signature tag held. */
  sign(repository: string, digest: string): Promise<void>;
  /** true when the signature tag of repository@digest holds a valid signature by our key */
  isSigned(repository: string, digest: string): Promise<boolean>;
}

/** Content that does not hash to its digest: the one class (shared/oci's), whichever layer checked it. */
export { DigestMismatchError } from '../oci/errors.js';

/** Resource content that is not what its descriptor says (beyond a plain digest mismatch): names the blob. */
export class ResourceContentError extends Error {
  override readonly name = 'ResourceContentError';
  constructor(
    message: string,
    /** `sha256:<hex>` of the blob at fault, when known */
    readonly blob?: string,
  ) {
    super(message);
  }
}
