/**
 * The one normalised event every stage handler receives, whatever produced it: ApiServerSource in Resource
 * or Reference mode, a PingSource resync tick, or the local runner's in-process bus.
 *
 * docs/design.md §4: an event is only a hint of *which* object to look at; handlers re-read the object from the API
 * server. `object` (Resource mode only) is what the sender saw, useful for logging and cheap pre-filters.
 */
import type { ObjectMeta, ObjectRef } from '../kube/types.js';

/** The minimum shape of a Kubernetes object as it travels in events (metadata as the API server writes it). */
export interface KubeObjectLike {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export type { ObjectRef } from '../kube/types.js';

export type ObjectEventType = 'add' | 'update' | 'delete';
export type HintType = ObjectEventType | 'resync';

/**
 * Where the hint came from; decides whether `object` is present. `registry`: a registry event (zot's
 * `zotregistry.image.deleted`) about the producing object's output, with `lost` set.
 */
export type HintOrigin = 'apiserver-resource' | 'apiserver-reference' | 'registry';

interface HintBase {
  /** CloudEvent id (dedupe key together with `source`). */
  id: string;
  /** CloudEvent source. */
  source: string;
  /** CloudEvent time, if the sender set one. */
  time?: string;
  /** W3C trace context, from the `traceparent` extension or HTTP header; only set when well-formed. */
  traceparent?: string;
  tracestate?: string;
}

/** Something happened to one object: look at it. */
export interface ObjectHint extends HintBase, ObjectRef {
  type: ObjectEventType;
  origin: HintOrigin;
  /** From the object's metadata (Resource mode only). */
  uid?: string;
  /** The object as sent (Resource mode only). A hint: re-read before acting. */
  object?: KubeObjectLike;
  /** origin `registry`: the manifest the registry reported removed from `<namespace>/<kind>/<name>` */
  lost?: { repository: string; digest: string };
}

/** A periodic tick (PingSource): list the kinds this stage owns and reconcile them all. */
export interface ResyncHint extends HintBase {
  type: 'resync';
  origin: 'ping';
  /** Optional scope from the PingSource's JSON `data`: `{"namespace": "...", "kinds": ["Component"]}`. */
  namespace?: string;
  kinds?: string[];
}

export type KubeEventHint = ObjectHint | ResyncHint;

export function isObjectHint(hint: KubeEventHint): hint is ObjectHint {
  return hint.type !== 'resync';
}
