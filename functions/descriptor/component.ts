import { digestOf } from '../../shared/oci/digest.js';
import { MediaType } from '../../shared/oci/media-types.js';
import {
  Reason,
  type ComponentObject,
  type KubePort,
  type OCMRepositoryObject,
  type ObjectKey,
  type RepositoryAccess,
  type SnapshotObject,
  type VerificationKey,
} from '../../shared/ports/index.js';
import { isReadyCurrent } from '../../shared/kube/conditions.js';
import { inputDigest } from '../../shared/stagekit/input-digest.js';
import { checkedFields, checkNotDue, newReconcileRequest } from '../../shared/stagekit/interval.js';
import { repositoryName } from '../../shared/stagekit/names.js';
import { reconcileObject } from '../../shared/stagekit/reconcile.js';
import { repositoryUrl } from '../../shared/stagekit/repository.js';
import { WaitingFor, recordedFailure, type Applied, type ObjectResult } from '../../shared/stagekit/results.js';
import { recordSnapshot, snapshotKeyFor, snapshotRefOf, upToDateSnapshot } from '../../shared/stagekit/snapshots.js';
import { step } from '../../shared/stagekit/step.js';
import { blobFromBytes } from '../../shared/stagekit/temp.js';
import { nowMs, type DescriptorDeps } from './deps.js';
import { repositoryAccess } from './repository.js';
import { parseComponent, type ComponentInput } from './spec.js';
import { verificationKeys } from './verification.js';

/**
 * How much to re-check a Component:
 * - self: an event on the Component itself; skip when its status already describes this generation (our own
 *   status patches come back as update events);
 * - dependency: something it depends on changed; skip only when it is Ready for this generation;
 * - tick: a resync tick; skip when it is Ready for this generation and spec.interval has not passed since the
 *   repository was last asked for versions (status.lastCheckedAt, shared/stagekit/interval.ts); otherwise resolve
 *   the version again, which is how new versions appear;
 * - full: lost output, or a new reconcile.fluxcd.io/requestedAt annotation; always resolve the version again.
 * Skipping always confirms that the Component's Snapshot is there and current, so lost output is never skipped.
 */
export type Mode = 'self' | 'dependency' | 'tick' | 'full';

export async function reconcileComponent(deps: DescriptorDeps, key: ObjectKey, mode: Mode): Promise<ObjectResult> {
  return reconcileObject<ComponentObject>(deps, key, async (obj): Promise<Applied> => {
    const input = parseComponent(obj);
    const effective: Mode = newReconcileRequest(obj) !== undefined ? 'full' : mode;
    const kept = await stillApplied(deps, obj, input, effective);
    if (kept) return kept;

    const repo = await readyRepository(deps.kube, key.namespace, input.repositoryName);
    const repoAccess = await repositoryAccess(deps, repo);
    const checked = checkedFields(obj, nowMs(deps));
    const version = await step(Reason.CheckVersionFailed, () =>
      deps.ocm.resolveVersion({
        repo: repoAccess,
        component: input.component,
        semver: input.semver,
        ...(input.semverFilter !== undefined ? { semverFilter: input.semverFilter } : {}),
        downgradePolicy: input.downgradePolicy,
        ...(obj.status?.component?.version ? { current: obj.status.component.version } : {}),
      }),
    );
    const keys = await verificationKeys(deps.kube, obj, input);
    const digest = descriptorInputDigest(input, version, repoAccess, keys);
    const snapName = snapshotKeyFor(obj).name;
    const existing = await upToDateSnapshot(deps, obj, digest);
    if (existing) {
      return {
        outcome: 'unchanged',
        message: `Applied version ${version}`,
        fields: {
          component: { ...(obj.status?.component ?? {}), name: input.component, version, repositorySpec: repoAccess.spec },
          snapshotRef: { name: snapName },
          ...checked,
        },
      };
    }

    const set = await step(Reason.GetComponentDescriptorsFailed, () =>
      deps.ocm.fetchComponentSet({ repo: repoAccess, component: input.component, version, verify: keys }),
    );
    const snapshot = await recordDescriptors(deps, obj, input.component, version, set.yaml, repoAccess, digest);
    return {
      outcome: 'applied',
      snapshot: snapshotRefOf(deps.store, snapshot),
      message: `Applied version ${version}`,
      fields: {
        component: {
          name: input.component,
          version,
          ...(set.digest ? { digest: set.digest } : {}),
          repositorySpec: repoAccess.spec,
        },
        snapshotRef: { name: snapName },
        ...checked,
      },
    };
  });
}

/**
 * The result to keep when `mode` allows skipping and the Component's Ready Snapshot is there (a tick also asks the
 * registry for its manifest); a failure already recorded for this generation is repeated; undefined means work.
 */
async function stillApplied(deps: DescriptorDeps, obj: ComponentObject, input: ComponentInput, mode: Mode): Promise<Applied | undefined> {
  const skippable =
    mode === 'self'
      ? obj.status?.observedGeneration === obj.metadata.generation && obj.status?.conditions?.some((c) => c.type === 'Ready')
      : mode === 'dependency'
        ? isReadyCurrent(obj)
        : mode === 'tick' && checkNotDue(obj, input.intervalMs, nowMs(deps));
  if (!skippable) return undefined;
  const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') {
    const snap = await deps.kube.get<SnapshotObject>(snapshotKeyFor(obj));
    const usable = snap !== undefined && !snap.metadata.deletionTimestamp && isReadyCurrent(snap);
    // a tick also confirms the manifest itself (lost output is what ticks recover; a HEAD, remembered 10 s)
    const there =
      usable && (mode !== 'tick' || (await step(Reason.PushSnapshotFailed, () => deps.store.hasManifest(snap.spec!.repository, snap.spec!.digest))));
    if (there) return { outcome: 'unchanged', message: ready.message, fields: { component: obj.status?.component, snapshotRef: obj.status?.snapshotRef } };
  } else if (ready) {
    // the failure is already recorded for this generation; dependencies retrigger us through their own events
    throw recordedFailure(ready);
  }
  return undefined;
}

/** The Component's OCMRepository, Ready for its generation; otherwise the Component waits for it. */
async function readyRepository(kube: KubePort, namespace: string, name: string): Promise<OCMRepositoryObject> {
  const repo = await kube.get<OCMRepositoryObject>({ kind: 'OCMRepository', namespace, name });
  if (!repo) {
    throw new WaitingFor(Reason.RepositoryIsNotReady, `OCMRepository ${name} not found`);
  }
  if (!isReadyCurrent(repo)) {
    const why = repo.status?.conditions?.find((c) => c.type === 'Ready')?.message;
    throw new WaitingFor(Reason.RepositoryIsNotReady, `OCMRepository ${name} is not ready${why ? `: ${why}` : ''}`);
  }
  return repo;
}

/** What the descriptors Snapshot depends on: the version, where it came from, and what verified it. */
function descriptorInputDigest(input: ComponentInput, version: string, repo: RepositoryAccess, keys: VerificationKey[]): string {
  return inputDigest('descriptor', {
    component: input.component,
    version,
    repository: repo.spec,
    // what the verification depends on: a new identity or Rekor key verifies again
    verify: keys.map((k) => ({
      signature: k.signature,
      key: digestOf(k.publicKeyPem),
      ...(k.issuer ? { issuer: k.issuer } : {}),
      ...(k.subject ? { subject: k.subject } : {}),
      ...(k.rekorKeyPem ? { rekor: digestOf(k.rekorKeyPem) } : {}),
    })),
  });
}

/** Pushes the component set as the Component's single-layer artifact and records its Snapshot. */
async function recordDescriptors(
  deps: DescriptorDeps,
  obj: ComponentObject,
  component: string,
  version: string,
  setYaml: string,
  repo: RepositoryAccess,
  digest: string,
): Promise<SnapshotObject> {
  const content = await blobFromBytes(setYaml, MediaType.ComponentDescriptors, 'component-descriptors.yaml');
  try {
    const identity = { 'component-name': component, 'component-version': version };
    const pushed = await step(Reason.PushSnapshotFailed, () =>
      deps.store.pushSingleLayer({
        repository: repositoryName(obj.metadata.namespace, 'Component', obj.metadata.name),
        tag: version,
        kind: 'component-descriptors',
        content,
        annotations: {
          source: repositoryUrl(repo.spec),
          component: { name: component, version },
          identity,
        },
      }),
    );
    return await recordSnapshot(deps, obj, pushed, identity, digest);
  } finally {
    await content.dispose();
  }
}

/** The Components in `namespace` (all when undefined), or only those that name `repositoryName`. */
export async function componentsOf(kube: KubePort, namespace?: string, repositoryName?: string): Promise<ObjectKey[]> {
  const all = await kube.list<ComponentObject>('Component', namespace);
  return all
    .filter((c) => repositoryName === undefined || c.spec?.repositoryRef?.name === repositoryName)
    .map((c) => ({ kind: 'Component' as const, namespace: c.metadata.namespace, name: c.metadata.name }));
}
