import { API_VERSION, Reason, SNAPSHOT_FINALIZER, controllerOf, type SnapshotObject } from '../ports/index.js';
import type { SnapshotDeps } from './snapshots.js';
import { step } from './step.js';

/**
 * The Snapshot finalizer: when a Snapshot we produce is being deleted, delete its manifest, then let it go.
 * Returns true when the snapshot was being deleted (nothing else to do for it).
 */
export async function finalizeSnapshot(deps: SnapshotDeps, snap: SnapshotObject): Promise<boolean> {
  if (!snap.metadata.deletionTimestamp) return false;
  if (!snap.metadata.finalizers?.includes(SNAPSHOT_FINALIZER)) return true;
  if (snap.spec?.repository && snap.spec.digest) {
    await step(Reason.DeleteOCIRepositoryFailed, () => deps.store.deleteManifest(snap.spec!.repository, snap.spec!.digest));
  }
  await step(Reason.DeleteSnapshotFailed, () =>
    deps.kube.removeFinalizer({ kind: 'Snapshot', namespace: snap.metadata.namespace, name: snap.metadata.name }, SNAPSHOT_FINALIZER),
  );
  return true;
}

/**
 * Deletes Snapshots controlled by an `ownerKind` object that no longer exists (or was recreated with another uid).
 * On a cluster the garbage collector does this too; here it also covers the local runner and API servers without
 * kube-controller-manager, and a second delete is harmless.
 */
export async function sweepOrphans(
  deps: SnapshotDeps,
  ownerKind: string,
  namespace?: string,
  only?: { name: string },
): Promise<string[]> {
  const snaps = await deps.kube.list<SnapshotObject>('Snapshot', namespace);
  const deleted: string[] = [];
  for (const snap of snaps) {
    const ref = controllerOf(snap);
    if (!ref || ref.kind !== ownerKind || ref.apiVersion !== API_VERSION) continue;
    if (only && ref.name !== only.name) continue;
    const owner = await deps.kube.get({ kind: ownerKind as 'Component', namespace: snap.metadata.namespace, name: ref.name });
    if (owner && owner.metadata.uid === ref.uid) continue;
    if (!snap.metadata.deletionTimestamp) {
      await deps.kube.delete({ kind: 'Snapshot', namespace: snap.metadata.namespace, name: snap.metadata.name });
    }
    deleted.push(`${snap.metadata.namespace}/${snap.metadata.name}`);
  }
  return deleted;
}
