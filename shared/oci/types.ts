import type { Readable } from 'node:stream';

/** An OCI content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
  data?: string;
  platform?: { architecture: string; os: string; [key: string]: unknown };
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/**
 * Where a blob's bytes come from. `open` may be called more than once (each retry of an upload starts again from
 * byte 0), so it must return a fresh stream each time. A file is the usual source.
 */
export interface BlobSource {
  open(): Readable | Promise<Readable>;
  /**
   * A local file holding exactly the blob's bytes, when there is one. A registry upload then sends the body from
   * the file on a raw socket with reused buffers (socket-transfer.ts) instead of through a stream.
   */
  readonly file?: string;
  /**
   * Writes the blob's bytes into `path` (created or truncated), verified against its digest and size; rejects
   * otherwise. Offered by sources that can download straight into a file (a registry's raw-socket GET); a
   * layout destination then skips its own stream and hashing.
   */
  writeTo?(path: string): Promise<void>;
}

/** A fetched manifest: its exact bytes (digest-verified) and its descriptor. */
export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
}

/** Blob operations of one repository (oras-go `content.Storage` spirit). */
export interface BlobStore {
  /** true when the blob is present (HEAD 200, or a redirect). */
  exists(digest: string): Promise<boolean>;
  /**
   * Streams the blob; the stream errors with DigestMismatchError if the bytes do not match `desc`.
   * `verify: false` skips hashing, for callers whose sink verifies anyway (copy into a registry or layout).
   */
  fetch(desc: { digest: string; size?: number }, opts?: { verify?: boolean }): Promise<Readable>;
  /** Pushes a blob of known digest and size. Skips the upload when it is already present (HEAD first). */
  push(desc: Pick<Descriptor, 'digest' | 'size'>, source: BlobSource): Promise<void>;
  /**
   * Optional: a source for copying the blob into another store, read unverified (the destination verifies) and
   * carrying this store's shortcut (`file` for a layout, `writeTo` for a registry). copyArtifact uses it when
   * present; a plain `{ open: () => fetch(desc, { verify: false }) }` otherwise.
   */
  source?(desc: Pick<Descriptor, 'digest' | 'size'>): BlobSource;
}

/** Manifest operations of one repository. `reference` is a tag or a digest. */
export interface ManifestStore {
  /** Descriptor of the manifest, or undefined when it does not exist. */
  resolve(reference: string): Promise<Descriptor | undefined>;
  /** Fetches the manifest bytes (digest verified); throws NotFoundError when absent. */
  fetch(reference: string): Promise<FetchedManifest>;
  /** Pushes manifest bytes verbatim, by digest, or under `tag` when given. Returns its descriptor. */
  push(bytes: Buffer, mediaType: string, tag?: string): Promise<Descriptor>;
  /** Deletes the manifest by digest. Resolves false when it was not there. */
  delete(digest: string): Promise<boolean>;
  /** All tags of the repository (empty when the repository does not exist). */
  tags(): Promise<string[]>;
}

/** One repository: blobs and manifests (oras-go `oras.Target` spirit). */
export interface Target {
  readonly repository: string;
  readonly blobs: BlobStore;
  readonly manifests: ManifestStore;
}
