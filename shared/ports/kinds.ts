/**
 * The shapes of our kinds as the handlers see them, derived from the CRD schemas (shared/kube/schema, through the
 * types shared/kube/types.ts infers from them), so a field renamed or retyped there is renamed or retyped here.
 *
 * The view is deliberately loose where the API server is strict: every `spec` field is optional, because everything
 * read from the API server is validated by the stage that uses it, so a hand-edited or older object gives a clear
 * Ready=False reason instead of a crash. It is narrower in three places, each for what our stages write, and each
 * checked below to still fit the schema (a write of the view is a valid object):
 * - a condition's `type` is `Ready` (the only condition type we use);
 * - a Snapshot has a `tag` (every stage pushes under one; the CRD also admits a hand-made Snapshot without);
 * - a Component's `status.component.repositorySpec` is the parsed RepositorySpec the descriptor stage recorded.
 */
import type * as Schema from '../kube/types.js';

import { GROUP } from '../kube/schema/common.js';

export { API_VERSION, GROUP, VERSION } from '../kube/schema/common.js';
export { OUR_KINDS, isOurKind, type OurKind } from '../kube/schema/kinds/index.js';
export type { Identity, LocalObjectReference, ObjectRef, OwnerReference } from '../kube/types.js';
export type { Kind } from '../kube/api.js';

export const FLUX_SOURCE_API_VERSION = 'source.toolkit.fluxcd.io/v1';


/** T with the fields K required and narrowed to V; the constraints fail `tsc` when the schema renames or retypes K. */
type Narrowed<T, K extends keyof T, V extends NonNullable<T[K]>> = Omit<T, K> & { [P in K]: V };
/** The same, the fields staying optional. */
type NarrowedOptional<T, K extends keyof T, V extends NonNullable<T[K]>> = Omit<T, K> & { [P in K]?: V };

/** Every object the handlers read is namespaced and named. */
export type ObjectMeta = Narrowed<Schema.ObjectMeta, 'name' | 'namespace', string>;

export type Condition = Narrowed<Schema.Condition, 'type', 'Ready'>;

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

/** The status of a kind in the view: the schema's, with Ready conditions. */
type StatusView<S> = CommonStatus & Omit<S, 'conditions' | 'observedGeneration'>;

/** An OCM repository spec after parsing (shared/stagekit/repository.ts): what the OcmSource port is given. */
export type RepositorySpec =
  | { type: 'OCIRegistry'; baseUrl: string; subPath?: string }
  | { type: 'CommonTransportFormat'; filePath: string };

export type OCMRepositorySpec = Partial<Schema.OCMRepositorySpec>;
export type OCMRepositoryStatus = StatusView<Schema.OCMRepositoryStatus>;

export type VerifySpec = NonNullable<Schema.ComponentSpec['verify']>[number];
export type ComponentSpec = Partial<Schema.ComponentSpec>;
type ComponentInfo = NonNullable<Schema.ComponentStatus['component']>;
export type ComponentStatus = StatusView<NarrowedOptional<Schema.ComponentStatus, 'component', NarrowedOptional<ComponentInfo, 'repositorySpec', RepositorySpec>>>;

/** Status of kinds with a spec.interval (shared/stagekit/interval.ts). */
export type CheckedStatus = CommonStatus & Pick<Schema.ComponentStatus & Schema.OCMRepositoryStatus, 'lastCheckedAt' | 'lastHandledReconcileAt'>;

export type ResourceSpec = Partial<Schema.ResourceSpec>;
export type ResourceStatus = StatusView<Schema.ResourceStatus>;

export type TargetRef = Schema.ConfigurationSpec['target'];
export type ConfigurationSpec = Partial<Schema.ConfigurationSpec>;
export type ConfigurationStatus = StatusView<Schema.ConfigurationStatus>;

export type PublicationSpec = Partial<Schema.PublicationSpec>;
export type PublicationStatus = StatusView<Schema.PublicationStatus>;

export type SnapshotSpec = Narrowed<Schema.SnapshotSpec, 'tag', string>;
export type SnapshotStatus = StatusView<Schema.SnapshotStatus>;

export type OCMRepositoryObject = KubeObject<OCMRepositorySpec, OCMRepositoryStatus>;
export type ComponentObject = KubeObject<ComponentSpec, ComponentStatus>;
export type ResourceObject = KubeObject<ResourceSpec, ResourceStatus>;
export type ConfigurationObject = KubeObject<ConfigurationSpec, ConfigurationStatus>;
export type PublicationObject = KubeObject<PublicationSpec, PublicationStatus>;
export type SnapshotObject = KubeObject<SnapshotSpec, SnapshotStatus>;

/** Flux source.toolkit.fluxcd.io/v1 OCIRepository, as publish writes it: `ref`, `layerSelector` always set. */
type FluxSpec = Schema.FluxOCIRepository['spec'];
export type OCIRepositorySpec = NarrowedOptional<
  Narrowed<FluxSpec, 'ref', NonNullable<FluxSpec['ref']>>,
  'layerSelector',
  Required<NonNullable<FluxSpec['layerSelector']>>
>;
export type OCIRepositoryObject = KubeObject<OCIRepositorySpec>;

/**
 * Compile-time checks that the view as a whole still fits the schema (a status the stages write through the view
 * is one the API server admits): `tsc` fails here when shared/kube/schema drifts away from it.
 */
type Fits<View extends Wire, Wire> = View;
type _ViewFitsSchema = [
  Fits<Condition, Schema.Condition>,
  Fits<SnapshotSpec, Schema.SnapshotSpec>,
  Fits<ComponentStatus, Schema.ComponentStatus>,
  Fits<OCMRepositoryStatus, Schema.OCMRepositoryStatus>,
  Fits<ResourceStatus, Schema.ResourceStatus>,
  Fits<ConfigurationStatus, Schema.ConfigurationStatus>,
  Fits<PublicationStatus, Schema.PublicationStatus>,
  Fits<SnapshotStatus, Schema.SnapshotStatus>,
  Fits<OCIRepositorySpec, FluxSpec>,
  Fits<ObjectMeta, Schema.ObjectMeta>,
];

/** Annotations and finalizers we own. */
export const INPUT_DIGEST_ANNOTATION = `${GROUP}/input-digest`;
export const SNAPSHOT_FINALIZER = `${GROUP}/manifest`;
/** `<snapshot-name>@<digest>` of the Snapshot a result was computed from (cheap staleness check) */
export const INPUT_SNAPSHOT_ANNOTATION = `${GROUP}/input-snapshot`;
