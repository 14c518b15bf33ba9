/**
 * The shapes of our kinds as the handlers see them. Deliberately loose (`spec` fields optional): everything read
 * from the API server is validated by the stage that uses it, so a hand-edited or older object gives a
 * clear Ready=False reason instead of a crash.
 */
export const GROUP = 'serverless.ocm.software';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const FLUX_SOURCE_API_VERSION = 'source.toolkit.fluxcd.io/v1';

export type OurKind = 'OCMRepository' | 'Component' | 'Resource' | 'Configuration' | 'Publication' | 'Snapshot';
export type Kind = OurKind | 'OCIRepository';

export const OUR_KINDS: readonly OurKind[] = [
  'OCMRepository',
  'Component',
  'Resource',
  'Configuration',
  'Publication',
  'Snapshot',
];

export function isOurKind(kind: string): kind is OurKind {
  return (OUR_KINDS as readonly string[]).includes(kind);
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  deletionTimestamp?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

export interface Condition {
  type: 'Ready';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface CommonStatus {
  conditions?: Condition[];
  observedGeneration?: number;
}

export interface KubeObject<Spec = unknown, Status extends CommonStatus = CommonStatus> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
}

export interface LocalObjectReference {
  name: string;
}

export type RepositorySpec =
  | { type: 'OCIRegistry'; baseUrl: string; subPath?: string }
  | { type: 'CommonTransportFormat'; filePath: string };

export interface OCMRepositorySpec {
  repositorySpec?: RepositorySpec;
  secretRef?: LocalObjectReference;
  interval?: string;
  suspend?: boolean;
}

export interface VerifySpec {
  signature: string;
  secretRef?: LocalObjectReference;
  value?: string;
  /** X.509: the DN the signing certificate's subject must match; sigstore-v2: the OIDC issuer */
  issuer?: string;
  /** sigstore-v2: the certified identity (email or URI) */
  subject?: string;
}

export interface ComponentSpec {
  repositoryRef?: LocalObjectReference;
  component?: string;
  semver?: string;
  semverFilter?: string;
  downgradePolicy?: 'Allow' | 'Deny' | 'Enforce';
  verify?: VerifySpec[];
  interval?: string;
  suspend?: boolean;
}

/** Status of kinds with a spec.interval (shared/stagekit/interval.ts). */
export interface CheckedStatus extends CommonStatus {
  /** RFC 3339: when the repository was last checked (asked for versions, for a Component) */
  lastCheckedAt?: string;
  /** the reconcile.fluxcd.io/requestedAt value last acted on */
  lastHandledReconcileAt?: string;
}

export interface OCMRepositoryStatus extends CheckedStatus {
  repositorySpec?: RepositorySpec;
}

export interface ComponentStatus extends CheckedStatus {
  component?: { name: string; version: string; digest?: string; repositorySpec?: RepositorySpec };
  snapshotRef?: LocalObjectReference;
}

export type Identity = Record<string, string>;

export interface ResourceSpec {
  componentRef?: LocalObjectReference;
  resource?: { byReference?: { resource?: Identity; referencePath?: Identity[] } };
  skipVerify?: boolean;
  suspend?: boolean;
}

export interface ResourceStatus extends CommonStatus {
  resource?: {
    name: string;
    type: string;
    version?: string;
    extraIdentity?: Identity;
    access?: Record<string, unknown>;
    /** `hashAlgorithm:normalisationAlgorithm:value` from the descriptor */
    digest?: string;
    /** OCM media type of the resource blob */
    mediaType?: string;
  };
  /** the component version the resource was taken from */
  component?: { name: string; version: string };
  snapshotRef?: LocalObjectReference;
}

export interface TargetRef {
  kind: 'Resource' | 'Configuration';
  name: string;
}

export interface ConfigurationSpec {
  target?: TargetRef;
  rules?: unknown[];
  configRef?: { kind: 'ConfigMap' | 'Resource'; name: string; key?: string };
  suspend?: boolean;
}

export interface ConfigurationStatus extends CommonStatus {
  snapshotRef?: LocalObjectReference;
  digest?: string;
}

export interface PublicationSpec {
  source?: TargetRef;
  flux?: { interval?: string; layerSelector?: { mediaType?: string; operation?: 'extract' | 'copy' } };
  target?: { url: string; secretRef?: LocalObjectReference; insecure?: boolean };
  suspend?: boolean;
}

export interface PublicationStatus extends CommonStatus {
  ociRepositoryRef?: LocalObjectReference;
  published?: { url: string; digest: string; tag?: string };
}

export interface SnapshotSpec {
  identity: Identity;
  repository: string;
  digest: string;
  tag: string;
  blob: { digest: string; size: number; mediaType: string };
}

export interface SnapshotStatus extends CommonStatus {
  /** oci://host/repository */
  repositoryURL?: string;
  /** the manifest digest that was verified in the registry */
  digest?: string;
}

export type OCMRepositoryObject = KubeObject<OCMRepositorySpec, OCMRepositoryStatus>;
export type ComponentObject = KubeObject<ComponentSpec, ComponentStatus>;
export type ResourceObject = KubeObject<ResourceSpec, ResourceStatus>;
export type ConfigurationObject = KubeObject<ConfigurationSpec, ConfigurationStatus>;
export type PublicationObject = KubeObject<PublicationSpec, PublicationStatus>;
export type SnapshotObject = KubeObject<SnapshotSpec, SnapshotStatus>;

/** Flux source.toolkit.fluxcd.io/v1 OCIRepository, only the fields we set. */
export interface OCIRepositorySpec {
  url: string;
  ref: { digest?: string; tag?: string };
  layerSelector?: { mediaType: string; operation: 'extract' | 'copy' };
  interval: string;
  insecure?: boolean;
  certSecretRef?: LocalObjectReference;
  secretRef?: LocalObjectReference;
  /** cosign: source-controller checks the artifact's signature with the public key(s) in this Secret */
  verify?: { provider: 'cosign'; secretRef: LocalObjectReference };
  /** set by people (`flux suspend source oci`), never by us; server-side apply keeps it */
  suspend?: boolean;
}
export type OCIRepositoryObject = KubeObject<OCIRepositorySpec>;

/** Annotations and finalizers we own. */
export const INPUT_DIGEST_ANNOTATION = `${GROUP}/input-digest`;
export const SNAPSHOT_FINALIZER = `${GROUP}/manifest`;
/** `<snapshot-name>@<digest>` of the Snapshot a result was computed from (cheap staleness check) */
export const INPUT_SNAPSHOT_ANNOTATION = `${GROUP}/input-snapshot`;
