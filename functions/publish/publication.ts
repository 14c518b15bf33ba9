import { DEFAULT_INTERVAL } from '../../shared/kube/schema/common.js';
import {
  API_VERSION,
  FLUX_SOURCE_API_VERSION,
  INPUT_DIGEST_ANNOTATION,
  ObjectFailure,
  Reason,
  controllerOf,
  type ArtifactStore,
  type KubePort,
  type OCIRepositoryObject,
  type OCIRepositorySpec,
  type ObjectKey,
  type PublicationObject,
  type PublicationSpec,
  type SnapshotSpec,
  type TargetRef,
} from '../../shared/ports/index.js';
import { isReadyCurrent } from '../../shared/kube/conditions.js';
import { dockerConfigFrom } from '../../shared/stagekit/credentials.js';
import { assertInputUnchanged, readySnapshotOf } from '../../shared/stagekit/dependencies.js';
import { inputDigest } from '../../shared/stagekit/input-digest.js';
import { REQUESTED_AT } from '../../shared/stagekit/interval.js';
import { reconcileObject } from '../../shared/stagekit/reconcile.js';
import type { Applied, ObjectResult } from '../../shared/stagekit/results.js';
import { ownerReference } from '../../shared/stagekit/snapshots.js';
import { step } from '../../shared/stagekit/step.js';
import type { PublishDeps } from './deps.js';
import { fluxFailed, layerSelectorFor } from './flux.js';

/** spec.source: the Resource or Configuration whose Snapshot is published. */
export function parseSource(obj: PublicationObject): TargetRef {
  const s = obj.spec?.source;
  if (!s || (s.kind !== 'Resource' && s.kind !== 'Configuration') || !s.name) {
    throw new ObjectFailure(Reason.SpecInvalid, `Publication ${obj.metadata.name}: spec.source needs kind Resource or Configuration and a name`);
  }
  return s;
}

/**
 * The OCIRepository we apply for `spec`. `requestedAt` (reconcile.fluxcd.io/requestedAt) asks Flux to reconcile
 * now; otherwise the value already there is carried over, so that our apply does not remove it.
 */
function ociRepositoryFor(key: ObjectKey, owner: PublicationObject, digest: string, spec: OCIRepositorySpec, existing: OCIRepositoryObject | undefined, requestedAt?: string): OCIRepositoryObject {
  const requested = requestedAt ?? existing?.metadata.annotations?.[REQUESTED_AT];
  return {
    apiVersion: FLUX_SOURCE_API_VERSION,
    kind: 'OCIRepository',
    metadata: {
      name: key.name,
      namespace: key.namespace,
      labels: { 'serverless.ocm.software/publication': key.name },
      annotations: { [INPUT_DIGEST_ANNOTATION]: digest, ...(requested ? { [REQUESTED_AT]: requested } : {}) },
      ownerReferences: [ownerReference(owner)],
    },
    spec,
  };
}

/**
 * Points a Flux OCIRepository (named after the Publication) at the source's Snapshot by digest, after copying it to
 * spec.target and signing it when configured; unchanged input only re-signs and re-asks Flux when needed.
 */
export async function reconcilePublication(deps: PublishDeps, key: ObjectKey, selfEvent: boolean): Promise<ObjectResult> {
  const { kube, store } = deps;
  return reconcileObject<PublicationObject>(deps, key, async (obj): Promise<Applied> => {
    const source = parseSource(obj);
    // no shortcut for our own status updates: the input-digest check below costs three GETs and is always right
    void selfEvent;
    const { snapshot } = await readySnapshotOf(kube, source.kind, key.namespace, source.name, Reason.SourceIsNotReady);
    const snap = snapshot.spec!;
    const { spec, digest } = fluxSpecFor(store, obj, snap);
    const existing = await kube.get<OCIRepositoryObject>({ kind: 'OCIRepository', namespace: key.namespace, name: key.name });
    const message = `Published ${source.kind} ${source.name} at ${snap.digest}`;
    if (existing && unchangedFor(obj, existing, snap, spec, digest)) {
      await repairBehindOurBack(deps, key, obj, existing, snap, spec, digest);
      return { outcome: 'unchanged', message, fields: { ociRepositoryRef: obj.status?.ociRepositoryRef, published: obj.status?.published } };
    }
    if (existing && controllerOf(existing) && controllerOf(existing)!.uid !== obj.metadata.uid) {
      throw new ObjectFailure(
        Reason.CreateOCIRepositoryFailed,
        `OCIRepository ${key.name} exists and is controlled by ${controllerOf(existing)!.kind} ${controllerOf(existing)!.name}`,
      );
    }

    const published = obj.spec?.target ? await copyToTarget(deps, obj, obj.spec.target, snap) : { url: spec.url, digest: snap.digest, tag: snap.tag };
    // sign before Flux is told to check signatures, so it never sees our artifact unsigned
    const signatures = store.signatures;
    if (signatures) await step(Reason.SigningFailed, () => signatures.sign(snap.repository, snap.digest));
    await step(Reason.CreateOCIRepositoryFailed, () => kube.upsert(ociRepositoryFor(key, obj, digest, spec, existing)));
    await assertInputUnchanged(kube, snapshot, `Publication ${key.name}`);
    return {
      outcome: 'applied',
      message,
      snapshot: { name: snapshot.metadata.name, namespace: key.namespace, repository: published.url, digest: published.digest, tag: snap.tag },
      fields: { ociRepositoryRef: { name: key.name }, published },
    };
  });
}

/**
 * The OCIRepository spec for a Snapshot, and the input digest it is recorded with. Flux reads from our registry (a
 * target is an extra copy for others). Only fields we own: `suspend` and the like stay with whoever set them
 * (server-side apply).
 */
function fluxSpecFor(store: ArtifactStore, obj: PublicationObject, snap: SnapshotSpec): { spec: OCIRepositorySpec; digest: string } {
  const url = `oci://${store.referenceFor(snap.repository)}`;
  const layerSelector = layerSelectorFor(snap.blob.mediaType, obj.spec?.flux?.layerSelector);
  const interval = obj.spec?.flux?.interval ?? DEFAULT_INTERVAL;
  const signatures = store.signatures;
  const verify = signatures ? { provider: 'cosign' as const, secretRef: { name: signatures.verifySecretRef } } : undefined;
  const digest = inputDigest('publish', { url, digest: snap.digest, layerSelector, interval, target: obj.spec?.target, registry: store.flux, verify });
  const access = store.flux;
  const spec: OCIRepositorySpec = {
    url,
    ref: { digest: snap.digest },
    ...(layerSelector ? { layerSelector } : {}),
    interval,
    ...(access.insecure ? { insecure: true } : {}),
    ...(access.certSecretRef ? { certSecretRef: { name: access.certSecretRef } } : {}),
    ...(access.secretRef ? { secretRef: { name: access.secretRef } } : {}),
    ...(verify ? { verify } : {}),
  };
  return { spec, digest };
}

/** Our OCIRepository already says what `spec` says, for this input, and the Publication is Ready for it. */
function unchangedFor(obj: PublicationObject, existing: OCIRepositoryObject, snap: SnapshotSpec, spec: OCIRepositorySpec, digest: string): boolean {
  return (
    existing.metadata.annotations?.[INPUT_DIGEST_ANNOTATION] === digest &&
    controllerOf(existing)?.uid === obj.metadata.uid &&
    // someone may have edited what Flux reads (source-controller then checks it, and refuses an unsigned one)
    existing.spec?.url === spec.url &&
    existing.spec.ref?.digest === snap.digest &&
    (!spec.verify || existing.spec.verify?.secretRef?.name === spec.verify.secretRef.name) &&
    isReadyCurrent(obj) &&
    obj.status?.published?.digest === snap.digest
  );
}

/**
 * Unchanged for us, but the registry may have changed behind our back: put our signature back when it is gone or
 * replaced, and ask Flux to look again now (not at its next interval) when it could not take what is (again) there.
 */
async function repairBehindOurBack(
  deps: PublishDeps,
  key: ObjectKey,
  obj: PublicationObject,
  existing: OCIRepositoryObject,
  snap: SnapshotSpec,
  spec: OCIRepositorySpec,
  digest: string,
): Promise<void> {
  const signatures = deps.store.signatures;
  const resigned = signatures ? !(await step(Reason.SigningFailed, () => signatures.isSigned(snap.repository, snap.digest))) : false;
  if (resigned) await step(Reason.SigningFailed, () => signatures!.sign(snap.repository, snap.digest));
  if (resigned || fluxFailed(existing)) {
    await step(Reason.CreateOCIRepositoryFailed, () => deps.kube.upsert(ociRepositoryFor(key, obj, digest, spec, existing, new Date().toISOString())));
    deps.log?.info({ publication: key.name, resigned }, 'asked Flux to reconcile the OCIRepository again');
  }
}

/** Copies the Snapshot's artifact to spec.target; what was published there. */
async function copyToTarget(
  deps: PublishDeps,
  obj: PublicationObject,
  target: NonNullable<PublicationSpec['target']>,
  snap: SnapshotSpec,
): Promise<{ url: string; digest: string; tag: string }> {
  const dockerConfig = await dockerConfigFrom(deps.kube, obj, target.secretRef?.name, 'spec.target.secretRef');
  const out = await step(Reason.ReplicationFailed, () =>
    deps.store.copyOut({
      repository: snap.repository,
      digest: snap.digest,
      target: target.url,
      tag: snap.tag,
      ...(dockerConfig ? { dockerConfig } : {}),
      ...(target.insecure ? { insecure: true } : {}),
    }),
  );
  return { url: out.url.startsWith('oci://') ? out.url : `oci://${out.url}`, digest: out.digest, tag: snap.tag };
}

/** The Publications whose source is `kind/name`. */
export async function publicationsOf(kube: KubePort, namespace: string, kind: string, name: string): Promise<ObjectKey[]> {
  const all = await kube.list<PublicationObject>('Publication', namespace);
  return all
    .filter((p) => p.spec?.source?.kind === kind && p.spec.source.name === name)
    .map((p) => ({ kind: 'Publication' as const, namespace, name: p.metadata.name }));
}

/** Deletes OCIRepositories whose Publication is gone (the GC does this on a cluster; the local runner has none). */
export async function sweepOCIRepositories(kube: KubePort, namespace?: string, only?: string): Promise<string[]> {
  const repos = await kube.list<OCIRepositoryObject>('OCIRepository', namespace);
  const gone: string[] = [];
  for (const r of repos) {
    const ref = controllerOf(r);
    if (!ref || ref.kind !== 'Publication' || ref.apiVersion !== API_VERSION) continue;
    if (only && ref.name !== only) continue;
    const pub = await kube.get({ kind: 'Publication', namespace: r.metadata.namespace, name: ref.name });
    if (pub && pub.metadata.uid === ref.uid) continue;
    await kube.delete({ kind: 'OCIRepository', namespace: r.metadata.namespace, name: r.metadata.name });
    gone.push(r.metadata.name);
  }
  return gone;
}
