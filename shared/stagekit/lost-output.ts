import { Reason, type ObjectKey, type SnapshotObject } from '../ports/index.js';
import { snapshotName } from './names.js';
import type { SnapshotDeps } from './snapshots.js';
import { step } from './step.js';

/**
 * A registry event said `hint.lost` was removed from the repository of `key` (its producer). True when that is the
 * manifest the producer's Snapshot references and the registry confirms it is gone (asked afresh): then the caller
 * reconciles, which re-pushes it. False for a superseded manifest (our own cleanup of a replaced result sends
 * such events too) or one that is back already: nothing to do.
 */
export async function lostOutput(deps: SnapshotDeps, key: ObjectKey, lost: { repository: string; digest: string }): Promise<boolean> {
  const snap = await deps.kube.get<SnapshotObject>({ kind: 'Snapshot', namespace: key.namespace, name: snapshotName(key.kind, key.name) });
  if (!snap?.spec || snap.metadata.deletionTimestamp) return false;
  if (snap.spec.repository !== lost.repository || snap.spec.digest !== lost.digest) return false;
  const present = await step(Reason.OCIRepositoryExistsFailed, () => deps.store.hasManifest(lost.repository, lost.digest, { fresh: true }));
  return !present;
}
