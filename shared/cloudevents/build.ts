/**
 * Event builders. `apiServerSourceEvent` reproduces what Knative's ApiServerSource receive adapter sends
 * (knative/eventing pkg/adapter/apiserver/events), so the e2e driver and the local runner's in-process bus
 * deliver exactly the shapes a cluster would. `pingSourceEvent` mirrors PingSource; `snapshotReplyEvent`
 * is our own reply (docs/design.md §4).
 */
import { randomUUID } from 'node:crypto';
import { CloudEvent } from 'cloudevents';
import { controllerOf } from '../kube/names.js';
import { API_GROUP, DEFAULT_APISERVER_SOURCE, EventTypes, REF_PREFIX, RESOURCE_PREFIX } from './constants.js';
import { validTraceparent } from './trace.js';
import type { KubeObjectLike, ObjectEventType, ObjectRef } from './types.js';

export type ApiServerSourceMode = 'Resource' | 'Reference';

export interface ApiServerSourceEventInput {
  mode: ApiServerSourceMode;
  op: ObjectEventType;
  /** The object as the watch delivered it (for delete: the last known state). */
  object: KubeObjectLike;
  /** The API server host from the adapter's rest config, e.g. `https://10.96.0.1:443`. */
  source?: string;
  /** Defaults to a fresh UUID per send, as the adapter does. */
  id?: string;
  time?: Date | string;
  /** Reference mode with `spec.owner` set: reference the controlling owner instead of the object. */
  asController?: boolean;
  /** `spec.ceOverrides.extensions`. */
  extensions?: Record<string, string>;
}

/**
 * The `subject` ApiServerSource computes: a selfLink-like path with a naively guessed plural
 * (lowercase kind + "s"), `/apis/<apiVersion>/namespaces/<ns>/<plural>/<name>`, also for core types.
 */
export function apiServerSubject(ref: ObjectRef): string {
  let version = ref.apiVersion;
  // Upstream quirk kept for fidelity: a bare group without a version gets "/versionUnknown".
  if (version.includes('.') && !version.includes('/')) version = `${version}/versionUnknown`;
  return `/apis/${version}/namespaces/${ref.namespace}/${ref.kind.toLowerCase()}s/${ref.name}`;
}

function refOf(object: KubeObjectLike): ObjectRef {
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata.name ?? '',
    namespace: object.metadata.namespace ?? '',
  };
}

function controllerObjectRef(object: KubeObjectLike): ObjectRef | undefined {
  const owner = controllerOf(object);
  if (!owner) return undefined;
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, namespace: object.metadata.namespace ?? '' };
}

/** Build the CloudEvent ApiServerSource would send for this watch event. */
export function apiServerSourceEvent(input: ApiServerSourceEventInput): CloudEvent<unknown> {
  const ref = refOf(input.object);
  const prefix = input.mode === 'Resource' ? RESOURCE_PREFIX : REF_PREFIX;
  const data: unknown =
    input.mode === 'Resource' ? input.object : ((input.asController ? controllerObjectRef(input.object) : undefined) ?? ref);
  return new CloudEvent<unknown>({
    specversion: '1.0',
    id: input.id ?? randomUUID(),
    type: `${prefix}${input.op}`,
    source: input.source ?? DEFAULT_APISERVER_SOURCE,
    subject: apiServerSubject(ref),
    time: (input.time instanceof Date ? input.time : new Date(input.time ?? Date.now())).toISOString(),
    datacontenttype: 'application/json',
    // Extensions describe the watched object (even when data references its owner), so Triggers can filter.
    kind: ref.kind,
    apiversion: ref.apiVersion,
    name: ref.name,
    namespace: ref.namespace,
    ...input.extensions,
    data,
  });
}

export interface PingSourceEventInput {
  /** The PingSource's namespace and name (they make up `source`). */
  namespace: string;
  name: string;
  /** `spec.data`; a JSON object here may scope the resync: `{namespace?, kinds?}`. */
  data?: unknown;
  contentType?: string;
  id?: string;
  time?: Date | string;
  extensions?: Record<string, string>;
}

/** The CloudEvent a PingSource (sources.knative.dev/v1) sends on each tick. */
export function pingSourceEvent(input: PingSourceEventInput): CloudEvent<unknown> {
  return new CloudEvent<unknown>({
    specversion: '1.0',
    id: input.id ?? randomUUID(),
    type: EventTypes.ping,
    source: `/apis/v1/namespaces/${input.namespace}/pingsources/${input.name}`,
    time: (input.time instanceof Date ? input.time : new Date(input.time ?? Date.now())).toISOString(),
    ...(input.data !== undefined ? { datacontenttype: input.contentType ?? 'application/json', data: input.data } : {}),
    ...input.extensions,
  });
}

export interface SnapshotInfo {
  name: string;
  namespace: string;
  /** Registry repository URL (`<host>/<namespace>/<kind>/<name>`). */
  repository: string;
  /** Manifest digest. */
  digest: string;
  tag?: string;
}

export interface SnapshotReplyInput {
  stage: string;
  /** The producer (Component, Resource, Configuration, Publication) the stage worked on. */
  object: ObjectRef;
  status: 'ready' | 'failed';
  snapshot?: SnapshotInfo;
  /** Condition reason and message (failed: why). */
  reason?: string;
  message?: string;
  /** The id of the event this answers (kept as extension `causationid`). */
  causationId?: string;
  traceparent?: string;
  id?: string;
  time?: Date | string;
}

export interface SnapshotReplyData {
  stage: string;
  object: ObjectRef;
  snapshot?: SnapshotInfo;
  reason?: string;
  message?: string;
}

/** `software.ocm.serverless.snapshot.ready|failed`: for external subscribers; nothing internal depends on it. */
export function snapshotReplyEvent(input: SnapshotReplyInput): CloudEvent<SnapshotReplyData> {
  const traceparent = validTraceparent(input.traceparent);
  const data: SnapshotReplyData = {
    stage: input.stage,
    // Only the reference: callers may pass a richer object (e.g. a hint).
    object: { apiVersion: input.object.apiVersion, kind: input.object.kind, namespace: input.object.namespace, name: input.object.name },
    ...(input.snapshot ? { snapshot: input.snapshot } : {}),
    ...(input.reason ? { reason: input.reason } : {}),
    ...(input.message ? { message: input.message } : {}),
  };
  return new CloudEvent<SnapshotReplyData>({
    specversion: '1.0',
    id: input.id ?? randomUUID(),
    type: input.status === 'ready' ? EventTypes.snapshotReady : EventTypes.snapshotFailed,
    source: `/${API_GROUP}/stages/${input.stage}`,
    subject: apiServerSubject(input.object),
    time: (input.time instanceof Date ? input.time : new Date(input.time ?? Date.now())).toISOString(),
    datacontenttype: 'application/json',
    kind: input.object.kind,
    apiversion: input.object.apiVersion,
    name: input.object.name,
    namespace: input.object.namespace,
    stage: input.stage,
    ...(input.causationId ? { causationid: input.causationId } : {}),
    ...(traceparent ? { traceparent } : {}),
    data,
  });
}
