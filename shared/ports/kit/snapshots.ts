import type { ArtifactStore, PushedArtifact } from '../artifacts.js';
import { TransientError } from '../errors.js';
import {
  API_VERSION,
  INPUT_DIGEST_ANNOTATION,
  INPUT_SNAPSHOT_ANNOTATION,
  SNAPSHOT_FINALIZER,
  type Identity,
  type KubeObject,
  type OwnerReference,
  type SnapshotObject,
} from '../kinds.js';
import { controllerOf, type KubePort, type ObjectKey } from '../kube.js';
import type { Hint, Logger, StageResult } from '../stage.js';
import { hintKey, resyncScope, snapshotOwner } from './hints.js';
import { isReadyCurrent } from './conditions.js';
import { snapshotName } from './names.js';
import { reconcileAll, step, type ObjectResult, type SnapshotRef } from './reconcile.js';

export interface SnapshotDeps {
  kube: KubePort;
  store: ArtifactStore;
  log?: Logger;
}

export const OWNER_KIND_LABEL = 'serverless.ocm.software/owner-kind';
export const OWNER_NAME_LABEL = 'serverless.ocm.software/owner-name';

export function ownerReference(owner: KubeObject): OwnerReference {
  if (!owner.metadata.uid) throw new TransientError(`${owner.kind} ${owner.metadata.name} has no uid yet`);
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function snapshotKeyFor(owner: KubeObject) {
  return { kind: 'Snapshot' as const, namespace: owner.metadata.namespace, name: snapshotName(owner.kind, owner.metadata.name) };
}

/**
 * The owner's Snapshot when it already holds the result for `digest` (same input digest, Ready for its current
 * generation, manifest present in the registry): then there is no work to do.
 */
export async function upToDateSnapshot(
  deps: SnapshotDeps,
  owner: KubeObject,
  digest: string,
): Promise<SnapshotObject | undefined> {
  const snap = await deps.kube.get<SnapshotObject>(snapshotKeyFor(owner));
  if (!snap || snap.metadata.deletionTimestamp || !snap.spec) return undefined;
  if (snap.metadata.annotations?.[INPUT_DIGEST_ANNOTATION] !== digest) return undefined;
  if (controllerOf(snap)?.uid !== owner.metadata.uid) return undefined;
  if (!isReadyCurrent(snap)) return undefined;
  const present = await step('OCIRepositoryExistsFailed', () =>
    deps.store.hasManifest(snap.spec!.repository, snap.spec!.digest),
  );
  return present ? snap : undefined;
}

/**
 * Records a pushed artifact: creates or updates the owner's Snapshot (ownerReference, finalizer, input digest),
 * marks it Ready once the manifest is confirmed in the registry, then removes the manifest it replaced.
 */
export async function recordSnapshot(
  deps: SnapshotDeps,
  owner: KubeObject,
  pushed: PushedArtifact,
  identity: Identity,
  digest: string,
  input?: SnapshotObject,
): Promise<SnapshotObject> {
  const key = snapshotKeyFor(owner);
  const previous = await deps.kube.get<SnapshotObject>(key);
  if (previous?.metadata.deletionTimestamp) {
    // The old one is being finalized; a later event (its deletion) brings us back to create the new one.
    throw new TransientError(`Snapshot ${key.namespace}/${key.name} is being deleted; will recreate it afterwards`);
  }
  const desired: SnapshotObject = {
    apiVersion: API_VERSION,
    kind: 'Snapshot',
    metadata: {
      name: key.name,
      namespace: key.namespace,
      labels: { [OWNER_KIND_LABEL]: owner.kind.toLowerCase(), [OWNER_NAME_LABEL]: truncateLabel(owner.metadata.name) },
      annotations: {
        [INPUT_DIGEST_ANNOTATION]: digest,
        ...(input?.spec ? { [INPUT_SNAPSHOT_ANNOTATION]: `${input.metadata.name}@${input.spec.digest}` } : {}),
      },
      finalizers: [SNAPSHOT_FINALIZER],
      ownerReferences: [ownerReference(owner)],
    },
    spec: {
      identity,
      repository: pushed.repository,
      digest: pushed.digest,
      tag: pushed.tag,
      blob: pushed.blob,
    },
  };
  const stored = await step('CreateSnapshotFailed', () => deps.kube.upsert(desired));
  // Ready only when the manifest is really there under the digest we recorded (DESIGN §10).
  const present = await step('OCIRepositoryExistsFailed', () => deps.store.hasManifest(pushed.repository, pushed.digest));
  if (!present) throw new TransientError(`manifest ${pushed.repository}@${pushed.digest} not found right after the push`);
  await step('SnapshotReadyFailed', () =>
    deps.kube.patchStatus(key, {
      fields: { repositoryURL: `oci://${deps.store.referenceFor(pushed.repository)}`, digest: pushed.digest },
      ready: { status: 'True', reason: 'Succeeded', message: `manifest ${pushed.digest} present` },
      observedGeneration: stored.metadata.generation,
    }),
  );
  stored.status = {
    ...stored.status,
    repositoryURL: `oci://${deps.store.referenceFor(pushed.repository)}`,
    digest: pushed.digest,
    observedGeneration: stored.metadata.generation,
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Succeeded',
        message: `manifest ${pushed.digest} present`,
        lastTransitionTime: new Date().toISOString(),
      },
    ],
  };
  const old = previous?.spec;
  if (old?.repository && old.digest && (old.digest !== pushed.digest || old.repository !== pushed.repository)) {
    try {
      await deps.store.deleteManifest(old.repository, old.digest);
    } catch (err) {
      // The registry's GC and the next deletion clean up; the new result is already recorded.
      deps.log?.warn({ repository: old.repository, digest: old.digest, err: String(err) }, 'old manifest not deleted');
    }
  }
  return stored;
}

/**
 * The Snapshot finalizer: when a Snapshot we produce is being deleted, delete its manifest, then let it go.
 * Returns true when the snapshot was being deleted (nothing else to do for it).
 */
export async function finalizeSnapshot(deps: SnapshotDeps, snap: SnapshotObject): Promise<boolean> {
  if (!snap.metadata.deletionTimestamp) return false;
  if (!snap.metadata.finalizers?.includes(SNAPSHOT_FINALIZER)) return true;
  if (snap.spec?.repository && snap.spec.digest) {
    await step('DeleteOCIRepositoryFailed', () => deps.store.deleteManifest(snap.spec!.repository, snap.spec!.digest));
  }
  await step('DeleteSnapshotFailed', () =>
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

function truncateLabel(v: string): string {
  return v.length <= 63 ? v : v.slice(0, 63).replace(/[-_.]+$/, '');
}

/** What a reply event says about a Snapshot. */
export function snapshotRefOf(store: ArtifactStore, snap: SnapshotObject): SnapshotRef {
  return {
    name: snap.metadata.name,
    namespace: snap.metadata.namespace,
    repository: store.referenceFor(snap.spec!.repository),
    digest: snap.spec!.digest,
    ...(snap.spec!.tag ? { tag: snap.spec!.tag } : {}),
  };
}

/** True when `snap` was computed from the current content of the Snapshot named in its input annotation. */
export async function inputStillCurrent(kube: KubePort, snap: SnapshotObject): Promise<boolean> {
  const ref = snap.metadata.annotations?.[INPUT_SNAPSHOT_ANNOTATION];
  if (!ref) return false;
  const at = ref.lastIndexOf('@');
  const input = await kube.get<SnapshotObject>({ kind: 'Snapshot', namespace: snap.metadata.namespace, name: ref.slice(0, at) });
  return input?.spec?.digest === ref.slice(at + 1) && isReadyCurrent(input);
}

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
  const present = await step('OCIRepositoryExistsFailed', () => deps.store.hasManifest(lost.repository, lost.digest, { fresh: true }));
  return !present;
}

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
    if (!(await lostOutput(deps, key, hint.lost))) return { objects: [{ ...key, outcome: 'unchanged', reason: 'NotCurrentOutput' }] };
    return { objects: [await reconcile(key, false)] };
  }
  return { objects: [await reconcile(key, true)] };
}
