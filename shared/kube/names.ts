/** References derived from objects. Snapshot names and owner references are the stage kit's (shared/stagekit). */
import type { ObjectMeta, OwnerReference } from './types.js';

/** The controller owner of an object, if any (of any object with metadata: ours, the handlers' view, an event's). */
export function controllerOf(obj: { metadata: Pick<ObjectMeta, 'ownerReferences'> }): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function describe(kind: string, namespace: string | undefined, name: string | undefined): string {
  return `${kind} ${namespace ?? ''}${namespace !== undefined ? '/' : ''}${name ?? '<unnamed>'}`;
}
