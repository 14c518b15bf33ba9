/**
 * TypeScript types of our kinds, inferred from the very schemas the CRDs are generated from
 * (shared/kube/schema), so they cannot drift.
 */
import type { Infer } from './schema/builder.js';
import { API_VERSION } from './schema/common.js';
import type { componentSpec, componentStatus } from './schema/kinds/component.js';
import type { configurationSpec, configurationStatus } from './schema/kinds/configuration.js';
import type { ocmRepositorySpec, ocmRepositoryStatus } from './schema/kinds/ocmrepository.js';
import type { publicationSpec, publicationStatus } from './schema/kinds/publication.js';
import type { resourceSpec, resourceStatus } from './schema/kinds/resource.js';
import type { snapshotSpec, snapshotStatus } from './schema/kinds/snapshot.js';

export { API_VERSION };
export type { Condition, Identity, LocalObjectReference } from './schema/common.js';
export type { ConfigurationRule } from './schema/kinds/configuration.js';
export type { RepositorySpec } from './schema/kinds/ocmrepository.js';

/**
 * Which namespaced object: what an event names (any kind; shared/cloudevents), and, narrowed, what the stages read
 * (shared/ports: `Hint.ref`, `ObjectKey`).
 */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** metadata as the API server returns it in JSON (timestamps are strings). */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
}

/** An object of one kind as the schema types it (spec required); the handlers' looser view is shared/ports `KubeObject`. */
export interface SchemaObject<K extends string = string, Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export type OCMRepositorySpec = Infer<typeof ocmRepositorySpec>;
export type OCMRepositoryStatus = Infer<typeof ocmRepositoryStatus>;
export type ComponentSpec = Infer<typeof componentSpec>;
export type ComponentStatus = Infer<typeof componentStatus>;
export type ResourceSpec = Infer<typeof resourceSpec>;
export type ResourceStatus = Infer<typeof resourceStatus>;
export type ConfigurationSpec = Infer<typeof configurationSpec>;
export type ConfigurationStatus = Infer<typeof configurationStatus>;
export type PublicationSpec = Infer<typeof publicationSpec>;
export type PublicationStatus = Infer<typeof publicationStatus>;
export type SnapshotSpec = Infer<typeof snapshotSpec>;
export type SnapshotStatus = Infer<typeof snapshotStatus>;

export type OCMRepository = SchemaObject<'OCMRepository', OCMRepositorySpec, OCMRepositoryStatus>;
export type Component = SchemaObject<'Component', ComponentSpec, ComponentStatus>;
export type Resource = SchemaObject<'Resource', ResourceSpec, ResourceStatus>;
export type Configuration = SchemaObject<'Configuration', ConfigurationSpec, ConfigurationStatus>;
export type Publication = SchemaObject<'Publication', PublicationSpec, PublicationStatus>;
export type Snapshot = SchemaObject<'Snapshot', SnapshotSpec, SnapshotStatus>;

export type OurObject = OCMRepository | Component | Resource | Configuration | Publication | Snapshot;
export type ObjectOfKind<K extends OurObject['kind']> = Extract<OurObject, { kind: K }>;
/** Status type of a kind; every status has conditions and observedGeneration. */
export type StatusOfKind<K extends OurObject['kind']> = NonNullable<ObjectOfKind<K>['status']>;

/** Flux OCIRepository (source.toolkit.fluxcd.io/v1): only the fields we write or read. */
export interface FluxOCIRepository extends SchemaObject<'OCIRepository'> {
  spec: {
    url: string;
    ref?: { tag?: string; semver?: string; semverFilter?: string; digest?: string };
    layerSelector?: { mediaType?: string; operation?: 'extract' | 'copy' };
    provider?: 'generic' | 'aws' | 'azure' | 'gcp';
    secretRef?: { name: string };
    certSecretRef?: { name: string };
    serviceAccountName?: string;
    insecure?: boolean;
    interval: string;
    timeout?: string;
    /** cosign: source-controller checks the artifact's signature with the public key(s) in this Secret */
    verify?: { provider: 'cosign'; secretRef: { name: string } };
    /** set by people (`flux suspend source oci`), never by us; server-side apply keeps it */
    suspend?: boolean;
  };
  status?: {
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string; observedGeneration?: number }>;
    artifact?: { digest?: string; revision?: string; url?: string };
    observedGeneration?: number;
  };
}
