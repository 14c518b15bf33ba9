/** Names and references derived from objects. */
import { createHash } from 'node:crypto';
import type { KubeObject, ObjectMeta, OwnerReference } from './types.js';

const MAX_NAME = 253;

/**
 * Deterministic Snapshot name: `<kind-lowercase>-<owner-name>`, truncated and suffixed with a hash of
 * the full name when it would exceed 253 characters, so distinct owners never share a Snapshot.
 */
export function snapshotName(ownerKind: string, ownerName: string): string {
  const full = `${ownerKind.toLowerCase()}-${ownerName}`;
  if (full.length <= MAX_NAME) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 10);
  const head = full.slice(0, MAX_NAME - hash.length - 1).replace(/[-.]+$/, '');
  return `${head}-${hash}`;
}

/** The controller ownerReference that makes `owner` garbage-collect the object. */
export function controllerRef(owner: KubeObject): OwnerReference {
  const { name, uid } = owner.metadata;
  if (name === undefined || uid === undefined) throw new TypeError(`owner ${owner.kind} has no name/uid yet: read it from the API server first`);
  return { apiVersion: owner.apiVersion, kind: owner.kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/** The controller owner of an object, if any (of any object with metadata: ours, the handlers' view, an event's). */
export function controllerOf(obj: { metadata: Pick<ObjectMeta, 'ownerReferences'> }): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function describe(kind: string, namespace: string | undefined, name: string | undefined): string {
  return `${kind} ${namespace ?? ''}${namespace !== undefined ? '/' : ''}${name ?? '<unnamed>'}`;
}
