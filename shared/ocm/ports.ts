/**
 * Ports of the OCM library: what it needs from the outside (an OCI registry client, HTTP) and what it offers
 * to the stage handlers (a component repository). The OCI port is structurally the same as shared/oci's
 * `Target`, so the real client plugs in without an adapter; tests may pass their own.
 */
import type { Readable } from 'node:stream';
import type { ComponentDescriptor } from './model.js';
import type { Descriptor } from '../oci/types.js';

/** One repository of an OCI registry (structural subset of shared/oci `Target`). */
export interface OciRepositoryPort {
  readonly repository: string;
  readonly blobs: {
    /** streams the blob; the stream must fail when the bytes do not match the digest */
    fetch(desc: { digest: string; size?: number }): Promise<Readable>;
    exists(digest: string): Promise<boolean>;
    push(desc: { digest: string; size: number }, source: { open(): Readable | Promise<Readable> }): Promise<void>;
  };
  readonly manifests: {
    resolve(reference: string): Promise<Descriptor | undefined>;
    fetch(reference: string): Promise<{ descriptor: Descriptor; bytes: Buffer }>;
    push(bytes: Buffer, mediaType: string, tag?: string): Promise<Descriptor>;
    tags(): Promise<string[]>;
  };
}

/** Where a registry lives. `insecure` = plain HTTP (from an `http://` baseUrl). */
export interface RegistryLocation {
  host: string;
  insecure?: boolean;
}

/** Opens a repository of a registry; the implementation looks up credentials for `registry.host` itself. */
export type OciConnector = (registry: RegistryLocation, repository: string) => OciRepositoryPort;

/** Repository specs we understand (upstream field names). */
export type RepositorySpec =
  | { type: 'OCIRegistry' | 'OCIRegistry/v1' | 'ociRegistry'; baseUrl: string; subPath?: string; componentNameMapping?: string }
  | { type: 'CommonTransportFormat' | 'CommonTransportFormat/v1'; filePath: string; fileFormat?: 'directory' | 'tar' | 'tgz' };

/** A blob handed out by a repository or an access method. `open` may be called again for a fresh stream. */
export interface BlobHandle {
  mediaType: string;
  /** size in bytes when known */
  size?: number;
  /** `sha256:<hex>` when known (content-addressed storage) */
  digest?: string;
  /**
   * The bytes, hashed against `digest` as they stream unless `skipDigestVerification` (only for consumers that hash
   * every content byte against its own name themselves: an artifact set read against a pinned main digest).
   */
  open(opts?: { skipDigestVerification?: boolean }): Promise<Readable>;
}

/** A source of component versions: an OCI registry or a CTF archive. */
export interface ComponentRepository {
  /** the spec it was opened with (normalised), for status fields */
  readonly spec: RepositorySpec;
  /** human-readable location for messages */
  readonly location: string;
  /** all versions of a component (tags mapped back: `.build-` -> `+`), unsorted; [] when the component is unknown */
  listVersions(component: string): Promise<string[]>;
  /** the parsed and schema-validated descriptor; VersionNotFoundError when absent */
  getDescriptor(component: string, version: string): Promise<ComponentDescriptor>;
  /** a local blob of a component version (localBlob access `localReference`) */
  getLocalBlob(component: string, version: string, localReference: string, mediaType?: string): Promise<BlobHandle>;
  /** the OCI connector used for global/ociArtifact access in this repository's context (undefined for CTF without one) */
  readonly oci?: OciConnector;
  close(): Promise<void>;
}
