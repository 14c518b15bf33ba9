import type { Condition, Kind, KubeObject, ObjectRef } from './kinds.js';

export { controllerOf } from '../kube/names.js';

/** Where one of our objects lives (an ObjectRef of one of our kinds). `namespace` is always set: all our kinds are namespaced. */
export interface ObjectKey extends Omit<ObjectRef, 'apiVersion' | 'kind'> {
  kind: Kind;
}

/** A status write: fields merged into `.status` (null deletes), plus the Ready condition when given. */
export interface StatusPatch {
  fields?: Record<string, unknown>;
  ready?: Omit<Condition, 'type' | 'lastTransitionTime' | 'observedGeneration'>;
  observedGeneration?: number;
}

export type EventType = 'Normal' | 'Warning';

/**
 * What the stage handlers need from the Kubernetes API. Implementations: client-node (functions/adapters),
 * file-backed (the local runner), in-memory (unit tests). Errors: NotFound is `undefined`/`false`, anything an
 * implementation cannot do now (API down, conflicts after retries) throws TransientError.
 */
export interface KubePort {
  get<T extends KubeObject = KubeObject>(key: ObjectKey): Promise<T | undefined>;
  /** All objects of `kind` in `namespace` (all namespaces when undefined). */
  list<T extends KubeObject = KubeObject>(kind: Kind, namespace?: string): Promise<T[]>;
  /**
   * Patches the status subresource. Sets `lastTransitionTime` only when the Ready status flips, retries
   * conflicts with a fresh read. Resolves false when the object is gone.
   */
  patchStatus(key: ObjectKey, patch: StatusPatch): Promise<boolean>;
  /**
   * Creates the object or updates its spec, labels, annotations and ownerReferences (never status). Finalizers in
   * `obj.metadata.finalizers` are added, never removed. Returns the stored object.
   */
  upsert<T extends KubeObject>(obj: T): Promise<T>;
  /** Removes one finalizer; resolves false when the object is gone. */
  removeFinalizer(key: ObjectKey, finalizer: string): Promise<boolean>;
  /** Requests deletion (finalizers apply). Resolves false when it was already gone. */
  delete(key: ObjectKey): Promise<boolean>;
  /** Secret data (decoded), or undefined when missing. */
  getSecret(namespace: string, name: string): Promise<Record<string, Buffer> | undefined>;
  getConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** A Kubernetes Event on `regarding`; best effort (never throws). */
  emitEvent(regarding: KubeObject, type: EventType, reason: string, message: string): Promise<void>;
}

export function keyOf(obj: KubeObject): ObjectKey {
  return { kind: obj.kind as Kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
}
