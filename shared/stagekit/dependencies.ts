import {
  Reason,
  SnapshotContentMissingError,
  TransientError,
  controllerOf,
  type ArtifactStore,
  type KubeObject,
  type KubePort,
  type LayerText,
  type LocalBlob,
  type SnapshotObject,
} from '../ports/index.js';
import { isReadyCurrent, readyCondition } from '../kube/conditions.js';
import { snapshotName } from './names.js';
import { InProgress, WaitingFor } from './results.js';
import { step } from './step.js';

/**
 * The Snapshot produced by `kind/name`, found by its deterministic name and owner uid rather than through the
 * producer's status: the Snapshot's own events are what trigger consumers, and they arrive before the producer's
 * status patch does. A Ready Snapshot stays usable while its producer fails later (last good artifact, as in Flux).
 */
export async function readySnapshotOf<T extends KubeObject>(
  kube: KubePort,
  kind: 'Component' | 'Resource' | 'Configuration',
  namespace: string,
  name: string,
  reason: Reason = kind === 'Component' ? Reason.ComponentIsNotReady : Reason.TargetIsNotReady,
): Promise<{ owner: T; snapshot: SnapshotObject }> {
  const owner = await kube.get<T>({ kind, namespace, name });
  if (!owner) throw new WaitingFor(reason, `${kind} ${name} not found`);
  const snapName = snapshotName(kind, name);
  const snapshot = await kube.get<SnapshotObject>({ kind: 'Snapshot', namespace, name: snapName });
  if (!snapshot?.spec || controllerOf(snapshot)?.uid !== owner.metadata.uid) {
    const why = readyCondition(owner);
    const detail = why && why.status !== 'True' ? `: ${why.reason}: ${why.message}` : '';
    throw new WaitingFor(reason, `${kind} ${name} has no snapshot yet${detail}`);
  }
  if (snapshot.metadata.deletionTimestamp) throw new InProgress(reason, `Snapshot ${snapName} is being deleted`);
  if (!isReadyCurrent(snapshot)) {
    const c = readyCondition(snapshot);
    if (c?.status === 'False') throw new WaitingFor(reason, `Snapshot ${snapName} is not ready: ${c.message}`);
    throw new InProgress(reason, `Snapshot ${snapName} is being updated`);
  }
  return { owner, snapshot };
}

/**
 * The layer of an input Snapshot. When its manifest is gone and the Snapshot has meanwhile moved to another digest
 * (or is being deleted), the input is mid-update: InProgress, whose new Snapshot's event brings us back, instead
 * of a retryable error that would fail a whole resync tick.
 */
export async function fetchInputLayer(kube: KubePort, store: ArtifactStore, snapshot: SnapshotObject, reason: Reason): Promise<LocalBlob> {
  try {
    return await store.fetchLayer(snapshot.spec!.repository, snapshot.spec!.digest);
  } catch (err) {
    if (!(err instanceof SnapshotContentMissingError)) throw err;
    const now = await kube.get<SnapshotObject>({ kind: 'Snapshot', namespace: snapshot.metadata.namespace, name: snapshot.metadata.name });
    if (!now || now.metadata.deletionTimestamp || now.spec?.digest !== snapshot.spec?.digest) {
      throw new InProgress(reason, `Snapshot ${snapshot.metadata.name} moved on while it was being read`, { cause: err });
    }
    throw err;
  }
}

/**
 * Guards against a slow worker overwriting a newer result (deliveries are concurrent and unordered): after
 * recording, the input Snapshot must still have the digest we worked from; otherwise retry, so the recomputation
 * (with the new input) wins.
 */
export async function assertInputUnchanged(kube: KubePort, input: SnapshotObject, what: string): Promise<void> {
  const now = await kube.get<SnapshotObject>({ kind: 'Snapshot', namespace: input.metadata.namespace, name: input.metadata.name });
  if (now?.spec?.digest !== input.spec?.digest) {
    throw new TransientError(`${what}: input Snapshot ${input.metadata.name} changed while this result was being written; recomputing`);
  }
}

/** The YAML `{components: [...]}` layer of a descriptor Snapshot (what resolving a resource reads). */
export async function readComponentSet(
  deps: { kube: KubePort; store: ArtifactStore; layerText: LayerText },
  snapshot: SnapshotObject,
): Promise<string> {
  const blob = await step(Reason.GetComponentDescriptorsFailed, () => fetchInputLayer(deps.kube, deps.store, snapshot, Reason.ComponentIsNotReady));
  try {
    return await deps.layerText.whole(blob);
  } finally {
    await blob.dispose();
  }
}
