import { Reason, type Hint, type ObjectKey, type SnapshotObject, type StageResult } from '../ports/index.js';
import { hintKey, resyncScope, snapshotOwner } from './hints.js';
import { lostOutput } from './lost-output.js';
import { reconcileAll } from './reconcile.js';
import type { ObjectResult } from './results.js';
import { finalizeSnapshot, sweepOrphans } from './snapshot-cleanup.js';
import type { SnapshotDeps } from './snapshots.js';

/**
 * The part of `handle` every Snapshot-producing stage shares (resource, configure): a resync tick finishes deleting
 * the kind's Snapshots, sweeps orphans and reconciles every object in scope; an event on the kind itself sweeps on
 * delete and reconciles otherwise; a registry event (`hint.lost`) reconciles only when the lost manifest is the
 * object's current output. Returns undefined for hints the stage must route itself (Snapshot events).
 */
export async function handleProducerHint(
  deps: SnapshotDeps,
  kind: 'Resource' | 'Configuration',
  hint: Hint,
  reconcile: (key: ObjectKey, self: boolean) => Promise<ObjectResult>,
): Promise<StageResult | undefined> {
  const { kube } = deps;
  if (hint.type === 'resync') {
    const { namespace: ns, wants } = resyncScope(hint);
    for (const s of await kube.list<SnapshotObject>('Snapshot', ns)) {
      if (s.metadata.deletionTimestamp && snapshotOwner(s)?.kind === kind) await finalizeSnapshot(deps, s);
    }
    await sweepOrphans(deps, kind, ns);
    const all = wants(kind) ? await kube.list(kind, ns) : [];
    const keys = all.map((o) => ({ kind, namespace: o.metadata.namespace, name: o.metadata.name }));
    return { objects: await reconcileAll(keys, (k) => reconcile(k, false)) };
  }
  const key = hintKey(hint)!;
  if (key.kind !== kind) return undefined;
  if (hint.action === 'delete') {
    await sweepOrphans(deps, kind, key.namespace, { name: key.name });
    return { objects: [{ ...key, outcome: 'deleted' }] };
  }
  if (hint.lost) {
    // not an event on the object itself: no shortcut on its status, the input digest check decides
    if (!(await lostOutput(deps, key, hint.lost))) return { objects: [{ ...key, outcome: 'unchanged', reason: Reason.NotCurrentOutput }] };
    return { objects: [await reconcile(key, false)] };
  }
  return { objects: [await reconcile(key, true)] };
}
