/** CloudEvent types we consume and produce (knative/eventing pkg/apis/sources/constants.go; our own replies). */
export const EventTypes = {
  resourceAdd: 'dev.knative.apiserver.resource.add',
  resourceUpdate: 'dev.knative.apiserver.resource.update',
  resourceDelete: 'dev.knative.apiserver.resource.delete',
  refAdd: 'dev.knative.apiserver.ref.add',
  refUpdate: 'dev.knative.apiserver.ref.update',
  refDelete: 'dev.knative.apiserver.ref.delete',
  ping: 'dev.knative.sources.ping',
  snapshotReady: 'software.ocm.serverless.snapshot.ready',
  snapshotFailed: 'software.ocm.serverless.snapshot.failed',
} as const;

export const RESOURCE_PREFIX = 'dev.knative.apiserver.resource.';
export const REF_PREFIX = 'dev.knative.apiserver.ref.';

/** Our API group, for reply-event subjects and sources. */
export const API_GROUP = 'serverless.ocm.software';
export const API_VERSION = `${API_GROUP}/v1alpha1`;

/** What ApiServerSource puts in `source` when no host is known: the in-cluster API server address. */
export const DEFAULT_APISERVER_SOURCE = 'https://kubernetes.default.svc:443';
