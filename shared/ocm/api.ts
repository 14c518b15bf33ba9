/**
 * Types of the facade the stage handlers use (see index.ts for the functions).
 */
import type { Readable } from 'node:stream';
import type { ComponentDescriptor, DigestSpec, Identity, Resource } from './model.js';
import type { DowngradePolicy } from './versions.js';
import type { OciConnector } from './ports.js';
import type { ImageReference } from '../oci/reference.js';

export interface ResolveVersionOptions {
  /** semver constraint (Component.spec.semver) */
  semver: string;
  /** regex (Component.spec.semverFilter) */
  semverFilter?: string;
  /** default Deny, as upstream */
  downgradePolicy?: DowngradePolicy;
  /** the version currently applied (Component.status.component.version), for the downgrade check */
  current?: string;
}

export interface ResolvedVersion {
  version: string;
  descriptor: ComponentDescriptor;
  /** true when `version` is lower than `current` and the policy allowed it */
  downgraded: boolean;
}

/** A public key (PEM: PKCS#1 `RSA PUBLIC KEY`, SPKI `PUBLIC KEY`) or a certificate (chain) PEM, by signature name. */
export interface VerificationKey {
  /** signature name (Component.spec.verify[].signature) */
  signature: string;
  /** PEM text of a public key or certificate; for PEM signatures with certificate chains: the root CA(s) */
  publicKey: string | Buffer;
  /**
   * who must have signed, for certificate based signatures: an RFC 2253-ish DN or CN the signing certificate's
   * subject must match (RSA with an X.509 chain, OCM's `--issuer`); for sigstore, the OIDC issuer in the Fulcio certificate
   */
  issuer?: string;
  /** sigstore only: the identity (email or URI) the Fulcio certificate certifies */
  subject?: string;
  /** sigstore only: the Rekor log's PEM public key; each entry's signed entry timestamp must verify with it */
  rekorKey?: string | Buffer;
}

export interface VerifyOptions {
  keys: VerificationKey[];
  /** skip re-digesting resources (Resource.spec.skipVerify / cheap descriptor stage); default false */
  skipResourceDigests?: boolean;
  /** needed to re-digest resources: the repository to read local blobs etc. from */
  access?: AccessContext;
}

export interface VerifiedSignature {
  name: string;
  algorithm: string;
  /** the normalised digest that was verified */
  digest: DigestSpec;
}

export interface VerificationResult {
  component: string;
  version: string;
  signatures: VerifiedSignature[];
  /** the verified component-version digest (first verified signature's digest spec) */
  digest: DigestSpec;
  /** resource digests that were checked (`name` -> hex) */
  resourcesChecked: number;
  referencesChecked: number;
}

/** Everything an access method may need to fetch bytes. */
export interface AccessContext {
  /** the repository the owning component version was read from (localBlob) */
  repository?: import('./ports.js').ComponentRepository;
  /** registry connector for ociArtifact/ociBlob/OCI helm charts and globalAccess */
  oci?: OciConnector;
  /** HTTP fetch for helm chart repositories (defaults to global fetch, which is undici) */
  fetch?: typeof fetch;
  /** limit for index.yaml and similar metadata documents (default 16 MiB) */
  maxMetadataBytes?: number;
  /**
   * The consumer reads a localBlob as an artifact set against a pinned main digest, hashing every blob in it against
   * its name: the localBlob file is then not hashed a second time against its own digest (one SHA-256 pass over the
   * data instead of two, bench/pipeline/ocm-by-value.ts).
   */
  consumerHashesSetBlobs?: boolean;
}

/**
 * What an access method yields.
 * - `blob`: bytes, streamed; `open()` returns a stream that errors with DigestMismatchError at the end if the
 *   content does not match the resource's genericBlobDigest/v1 digest (when the descriptor carries one).
 * - `ociArtifact`: a reference to copy whole (manifest/index + blobs) with shared/snapshot's copy; when the
 *   resource has an ociArtifactDigest/v1, `expectedManifestDigest` is set and `verifiedManifestDigest` tells
 *   whether the registry's manifest already matched (HEAD) when the access was opened.
 */
export type ResourceAccess =
  | {
      kind: 'blob';
      resource: Resource;
      component: ComponentDescriptor;
      mediaType: string;
      size?: number;
      /** `sha256:<hex>` of the bytes when known up front */
      digest?: string;
      open(): Promise<Readable>;
    }
  | {
      kind: 'ociArtifact';
      resource: Resource;
      component: ComponentDescriptor;
      /** where the artifact is (Docker Hub as `docker.io`: `registryHost` gives the host to connect to) */
      reference: ImageReference;
      /** `sha256:<hex>` from the resource's ociArtifactDigest/v1, when present */
      expectedManifestDigest?: string;
      /** the manifest digest the registry reported (HEAD) */
      manifestDigest?: string;
      mediaType?: string;
    };

export interface ResourceSelector {
  resource: Identity;
  referencePath?: Identity[];
}

/** The descriptor-stage output layer: YAML `{components: [root, ...references]}` (schema v2 objects). */
export interface DescriptorList {
  components: ComponentDescriptor[];
}
