import { controllerOf, type Hint, type KubeObject, type ObjectKey, type OurKind } from '../ports/index.js';
import { ownerFromSnapshotName } from './names.js';

/** The object a hint points at, or undefined for resync ticks. */
export function hintKey(hint: Hint): ObjectKey | undefined {
  if (hint.type !== 'object') return undefined;
  return { kind: hint.ref.kind as OurKind, namespace: hint.ref.namespace, name: hint.ref.name };
}

/**
 * Owner (kind, name) of the Snapshot a hint points at, without I/O: from the event payload's controller reference
 * when there is one (Resource mode), else from the deterministic Snapshot name (Reference mode).
 */
export function snapshotOwnerFromHint(hint: Hint): { kind: string; name: string; uid?: string } | undefined {
  if (hint.type !== 'object' || hint.ref.kind !== 'Snapshot') return undefined;
  const obj = hint.object as KubeObject | undefined;
  const ref = obj?.metadata ? controllerOf(obj) : undefined;
  if (ref) return { kind: ref.kind, name: ref.name, uid: ref.uid };
  return ownerFromSnapshotName(hint.ref.name);
}

/** Owner of a Snapshot read from the API (controller reference, else the name). */
export function snapshotOwner(snap: KubeObject): { kind: string; name: string; uid?: string } | undefined {
  const ref = controllerOf(snap);
  if (ref) return { kind: ref.kind, name: ref.name, uid: ref.uid };
  return ownerFromSnapshotName(snap.metadata.name);
}

/** The scope of a resync tick: which namespace (all when undefined) and whether a kind is included. */
export function resyncScope(hint: Hint): { namespace?: string; wants(kind: string): boolean } {
  if (hint.type !== 'resync') return { wants: () => false };
  const kinds = hint.kinds && hint.kinds.length > 0 ? new Set(hint.kinds) : undefined;
  return { ...(hint.namespace ? { namespace: hint.namespace } : {}), wants: (kind) => !kinds || kinds.has(kind) };
}
