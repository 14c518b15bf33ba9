import type { Readable } from 'node:stream';
import type { LocalBlob } from './artifacts.js';
import type { Identity, RepositorySpec } from './kinds.js';

/** A component repository plus the credentials to read it. */
export interface RepositoryAccess {
  spec: RepositorySpec;
  /** dockerconfigjson (never logged) */
  dockerConfig?: Buffer;
}

/** A public key (PEM) or CA certificates for the signature named `signature`, and whom it must name. */
export interface VerificationKey {
  signature: string;
  publicKeyPem: string;
  /** X.509: the DN the signing certificate's subject must match; sigstore-v2: the OIDC issuer */
  issuer?: string;
  /** sigstore-v2: the certified identity (email or URI) */
  subject?: string;
  /** sigstore: the Rekor log's public key (PEM), which every entry's signed entry timestamp must verify with */
  rekorKeyPem?: string;
}

export interface ComponentSet {
  name: string;
  version: string;
  /** the root component version digest (normalised, as in componentReferences[].digest) when known */
  digest?: string;
  /** the layer bytes: YAML `{components: [root, ...references]}` */
  yaml: string;
}

/** One resource entry of a descriptor, as written there (access/digest are the descriptor's). */
export interface ResourceEntry {
  name: string;
  version?: string;
  type: string;
  relation?: string;
  extraIdentity?: Identity;
  access: { type: string } & Record<string, unknown>;
  digest?: { hashAlgorithm?: string; normalisationAlgorithm?: string; value?: string };
  labels?: unknown[];
}

export interface ResolvedResource {
  resource: ResourceEntry;
  /** the component version that declares the resource (not necessarily the root) */
  owner: { name: string; version: string; repositorySpec?: RepositorySpec };
  /** the adapter's own parsed descriptor of the owner, carried to fetchResource (opaque to handlers) */
  native?: unknown;
}

/**
 * What the stages need from OCM. Implementations map library errors: problems of the object (no such component or
 * version, no match, verification or digest mismatch, unsupported access) to ObjectFailure with a reason of
 * docs/design.md §3; everything retryable to TransientError.
 */
export interface OcmSource {
  /** Checks the repository spec and that the repository answers. */
  checkRepository(repo: RepositoryAccess): Promise<void>;
  /** Highest version matching `semver` (and `semverFilter`), with the downgrade policy against `current`. */
  resolveVersion(req: {
    repo: RepositoryAccess;
    component: string;
    semver: string;
    semverFilter?: string;
    downgradePolicy: 'Allow' | 'Deny' | 'Enforce';
    current?: string;
  }): Promise<string>;
  /** The root descriptor and every referenced one (recursively), verified when keys are given. */
  fetchComponentSet(req: {
    repo: RepositoryAccess;
    component: string;
    version: string;
    verify: VerificationKey[];
  }): Promise<ComponentSet>;
  /**
   * Pure: resolves a resource by identity and referencePath in a component set (ComponentSet.yaml). The set is a
   * component snapshot this system wrote from validated descriptors: it is parsed, not validated again.
   */
  resolveResource(req: {
    setYaml: string;
    identity: Identity;
    referencePath?: Identity[];
  }): ResolvedResource;
  /**
   * Fetches a non-ociArtifact resource to a temp file, digest-checked against the descriptor unless `skipVerify`.
   * `repo` is where the owning component version lives.
   */
  fetchResource(req: { repo: RepositoryAccess; resolved: ResolvedResource; skipVerify: boolean }): Promise<LocalBlob>;
  /**
   * Runs `use` on the resource's bytes as a stream, as the access returns them, while the source is open (for
   * consumers that read and verify the content themselves: OCM artifact sets, whose ociArtifactDigest/v1 the
   * consumer checks). A genericBlobDigest/v1 is still checked on the stream unless `skipVerify`. With an
   * ociArtifactDigest/v1 (and not `skipVerify`) the consumer must check the set's main manifest against it and every
   * blob of the set against its name: the stored file is then not hashed against its own digest a second time.
   * Errors thrown by `use` come out unchanged.
   */
  withResourceStream<T>(
    req: { repo: RepositoryAccess; resolved: ResolvedResource; skipVerify: boolean },
    use: (src: { stream: Readable; mediaType: string }) => Promise<T>,
  ): Promise<T>;
}
