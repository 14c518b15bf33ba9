import {
  API_VERSION,
  INPUT_DIGEST_ANNOTATION,
  INPUT_SNAPSHOT_ANNOTATION,
  Reason,
  SNAPSHOT_FINALIZER,
  TransientError,
  controllerOf,
  type ArtifactStore,
  type Identity,
  type KubeObject,
  type KubePort,
  type Logger,
  type OwnerReference,
  type PushedArtifact,
  type SnapshotObject,
} from '../ports/index.js';
import { isReadyCurrent } from '../kube/conditions.js';
import { snapshotName } from './names.js';
import type { SnapshotRef } from './results.js';
import { step } from './step.js';

export interface SnapshotDeps {
  kube: KubePort;
  store: ArtifactStore;
  log?: Logger;
}

const OWNER_KIND_LABEL = 'serverless.ocm.software/owner-kind';
const OWNER_NAME_LABEL = 'serverless.ocm.software/owner-name';

/**
 * The controller ownerReference that makes `owner` garbage-collect the object. Only the identity fields are read, so
 * any object view (the handlers' or the schema type) fits; an owner not yet stored has no uid: retry once it is.
 */
export function ownerReference(owner: { apiVersion: string; kind: string; metadata: { name?: string; uid?: string } }): OwnerReference {
  const { name, uid } = owner.metadata;
  if (!name || !uid) throw new TransientError(`${owner.kind} ${name} has no uid yet`);
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name,
    uid,
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
  const present = await step(Reason.OCIRepositoryExistsFailed, () =>
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
  const stored = await step(Reason.CreateSnapshotFailed, () => deps.kube.upsert(desired));
  // Ready only when the manifest is really there under the digest we recorded (docs/design.md §10).
  const present = await step(Reason.OCIRepositoryExistsFailed, () => deps.store.hasManifest(pushed.repository, pushed.digest));
  if (!present) throw new TransientError(`manifest ${pushed.repository}@${pushed.digest} not found right after the push`);
  await step(Reason.SnapshotReadyFailed, () =>
    deps.kube.patchStatus(key, {
      fields: { repositoryURL: `oci://${deps.store.referenceFor(pushed.repository)}`, digest: pushed.digest },
      ready: { status: 'True', reason: Reason.Succeeded, message: `manifest ${pushed.digest} present` },
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
        reason: Reason.Succeeded,
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
