import {
  API_VERSION,
  FLUX_SOURCE_API_VERSION,
  INPUT_DIGEST_ANNOTATION,
  ObjectFailure,
  Reason,
  type ArtifactStore,
  type Hint,
  type KubePort,
  type Logger,
  type OCIRepositoryObject,
  type OCIRepositorySpec,
  type ObjectKey,
  type PublicationObject,
  type SnapshotObject,
  type Stage,
  type StageResult,
  type TargetRef,
  controllerOf,
} from '../../shared/ports/index.js';
import { DEFAULT_INTERVAL } from '../../shared/kube/schema/common.js';
import { isReadyCurrent } from '../../shared/stagekit/conditions.js';
import { dockerConfigFrom } from '../../shared/stagekit/credentials.js';
import { assertInputUnchanged, readySnapshotOf } from '../../shared/stagekit/dependencies.js';
import { hintKey, resyncScope, snapshotOwner, snapshotOwnerFromHint } from '../../shared/stagekit/hints.js';
import { inputDigest } from '../../shared/stagekit/input-digest.js';
import { REQUESTED_AT } from '../../shared/stagekit/interval.js';
import { reconcileAll, reconcileObject } from '../../shared/stagekit/reconcile.js';
import { withReplies } from '../../shared/stagekit/replies.js';
import type { Applied, ObjectResult } from '../../shared/stagekit/results.js';
import { ownerReference } from '../../shared/stagekit/snapshots.js';
import { step } from '../../shared/stagekit/step.js';

export interface PublishDeps {
  kube: KubePort;
  store: ArtifactStore;
  log?: Logger;
}

const HELM_CHART_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

/** Flux layerSelector for a Snapshot: Helm charts are copied as .tgz (HelmRelease chartRef), archives extracted. */
export function layerSelectorFor(
  blobMediaType: string,
  override?: { mediaType?: string; operation?: 'extract' | 'copy' },
): OCIRepositorySpec['layerSelector'] {
  if (override?.mediaType) {
    return { mediaType: override.mediaType, operation: override.operation ?? 'extract' };
  }
  // whole-artifact copies (images): the manifest is not a layer; Flux takes the first layer by default
  if (MANIFEST_TYPES.has(blobMediaType)) return undefined;
  const operation = blobMediaType === HELM_CHART_LAYER ? 'copy' : 'extract';
  return { mediaType: blobMediaType, operation: override?.operation ?? operation };
}

/**
 * true when source-controller has looked at the OCIRepository as it is now and could not take it (Ready=False for
 * the current generation): e.g. our artifact or its signature was missing or replaced when it pulled.
 */
export function fluxFailed(repo: OCIRepositoryObject): boolean {
  const ready = repo.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'False' && ready.observedGeneration === repo.metadata.generation && repo.spec?.suspend !== true;
}

export function createPublishStage(deps: PublishDeps): Stage {
  const { kube, store } = deps;

  function parseSource(obj: PublicationObject): TargetRef {
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

  async function reconcilePublication(key: ObjectKey, selfEvent: boolean): Promise<ObjectResult> {
    return reconcileObject<PublicationObject>(deps, key, async (obj): Promise<Applied> => {
      const source = parseSource(obj);
      const current = { ociRepositoryRef: obj.status?.ociRepositoryRef, published: obj.status?.published };
      // no shortcut for our own status updates: the input-digest check below costs three GETs and is always right
      void selfEvent;
      const { snapshot } = await readySnapshotOf(kube, source.kind, key.namespace, source.name, Reason.SourceIsNotReady);
      const snap = snapshot.spec!;
      const url = `oci://${store.referenceFor(snap.repository)}`;
      const layerSelector = layerSelectorFor(snap.blob.mediaType, obj.spec?.flux?.layerSelector);
      const interval = obj.spec?.flux?.interval ?? DEFAULT_INTERVAL;
      const target = obj.spec?.target;
      const signatures = store.signatures;
      const verify = signatures ? { provider: 'cosign' as const, secretRef: { name: signatures.verifySecretRef } } : undefined;
      const digest = inputDigest('publish', { url, digest: snap.digest, layerSelector, interval, target, registry: store.flux, verify });
      // Flux reads from our registry (a target is an extra copy for others). Only fields we own: `suspend` and the
      // like stay with whoever set them (server-side apply).
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

      const ociKey = { kind: 'OCIRepository' as const, namespace: key.namespace, name: key.name };
      const existing = await kube.get<OCIRepositoryObject>(ociKey);
      const message = `Published ${source.kind} ${source.name} at ${snap.digest}`;
      if (
        existing?.metadata.annotations?.[INPUT_DIGEST_ANNOTATION] === digest &&
        controllerOf(existing)?.uid === obj.metadata.uid &&
        // someone may have edited what Flux reads (source-controller then checks it, and refuses an unsigned one)
        existing.spec?.url === url &&
        existing.spec.ref?.digest === snap.digest &&
        (!verify || existing.spec.verify?.secretRef?.name === verify.secretRef.name) &&
        isReadyCurrent(obj) &&
        obj.status?.published?.digest === snap.digest
      ) {
        // Unchanged for us, but the registry may have changed behind our back: put our signature back when it is
        // gone or replaced, and ask Flux to look again now (not at its next interval) when it could not take
        // what is (again) there.
        const resigned = signatures ? !(await step(Reason.SigningFailed, () => signatures.isSigned(snap.repository, snap.digest))) : false;
        if (resigned) await step(Reason.SigningFailed, () => signatures!.sign(snap.repository, snap.digest));
        if (resigned || fluxFailed(existing)) {
          await step(Reason.CreateOCIRepositoryFailed, () => kube.upsert(ociRepositoryFor(key, obj, digest, spec, existing, new Date().toISOString())));
          deps.log?.info({ publication: key.name, resigned }, 'asked Flux to reconcile the OCIRepository again');
        }
        return { outcome: 'unchanged', message, fields: current };
      }
      if (existing && controllerOf(existing) && controllerOf(existing)!.uid !== obj.metadata.uid) {
        throw new ObjectFailure(
          Reason.CreateOCIRepositoryFailed,
          `OCIRepository ${key.name} exists and is controlled by ${controllerOf(existing)!.kind} ${controllerOf(existing)!.name}`,
        );
      }

      let published = { url, digest: snap.digest, tag: snap.tag };
      if (target) {
        const dockerConfig = await dockerConfigFrom(kube, obj, target.secretRef?.name, 'spec.target.secretRef');
        const out = await step(Reason.ReplicationFailed, () =>
          store.copyOut({
            repository: snap.repository,
            digest: snap.digest,
            target: target.url,
            tag: snap.tag,
            ...(dockerConfig ? { dockerConfig } : {}),
            ...(target.insecure ? { insecure: true } : {}),
          }),
        );
        published = { url: out.url.startsWith('oci://') ? out.url : `oci://${out.url}`, digest: out.digest, tag: snap.tag };
      }

      // sign before Flux is told to check signatures, so it never sees our artifact unsigned
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

  async function publicationsOf(namespace: string, kind: string, name: string): Promise<ObjectKey[]> {
    const all = await kube.list<PublicationObject>('Publication', namespace);
    return all
      .filter((p) => p.spec?.source?.kind === kind && p.spec.source.name === name)
      .map((p) => ({ kind: 'Publication' as const, namespace, name: p.metadata.name }));
  }

  /** Deletes OCIRepositories whose Publication is gone (the GC does this on a cluster; the local runner has none). */
  async function sweepOCIRepositories(namespace?: string, only?: string): Promise<string[]> {
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

  async function handle(hint: Hint): Promise<StageResult> {
    if (hint.type === 'resync') {
      const { namespace: ns, wants } = resyncScope(hint);
      await sweepOCIRepositories(ns);
      const all = wants('Publication') ? await kube.list<PublicationObject>('Publication', ns) : [];
      const keys = all.map((p) => ({ kind: 'Publication' as const, namespace: p.metadata.namespace, name: p.metadata.name }));
      return { objects: await reconcileAll(keys, (k) => reconcilePublication(k, false)) };
    }
    const key = hintKey(hint)!;
    if (key.kind === 'Publication') {
      if (hint.action === 'delete') {
        const gone = await sweepOCIRepositories(key.namespace, key.name);
        return { objects: gone.map((name) => ({ kind: 'OCIRepository', namespace: key.namespace, name, outcome: 'deleted' as const })) };
      }
      return { objects: [await reconcilePublication(key, true)] };
    }
    if (key.kind !== 'Snapshot') return { objects: [] };
    const snap = await kube.get<SnapshotObject>(key);
    const owner = (snap && snapshotOwner(snap)) ?? snapshotOwnerFromHint(hint);
    if (!owner || (owner.kind !== 'Resource' && owner.kind !== 'Configuration')) return { objects: [] };
    const keys = await publicationsOf(key.namespace, owner.kind, owner.name);
    return { objects: await reconcileAll(keys, (k) => reconcilePublication(k, false)) };
  }

  return withReplies({
    name: 'publish',
    routes(hint: Hint): boolean {
      if (hint.type === 'resync') return true;
      if (hint.ref.kind === 'Publication') return true;
      const owner = snapshotOwnerFromHint(hint)?.kind;
      return owner === 'Resource' || owner === 'Configuration';
    },
    handle,
  }, API_VERSION);
}
