import { readFile } from 'node:fs/promises';
import {
  API_VERSION,
  DigestMismatchError,
  ObjectFailure,
  ResourceContentError,
  Reason,
  type ArtifactStore,
  type ComponentObject,
  type Hint,
  type KubePort,
  type Logger,
  type OCMRepositoryObject,
  type ObjectKey,
  type OcmSource,
  type PushedArtifact,
  type RepositoryAccess,
  type ResolvedResource,
  type ResourceObject,
  type SnapshotObject,
  type Stage,
  type StageResult,
} from '../../shared/ports/index.js';
import { dockerConfigFrom } from '../../shared/stagekit/credentials.js';
import { assertInputUnchanged, fetchInputLayer, readySnapshotOf } from '../../shared/stagekit/dependencies.js';
import { hintKey, snapshotOwner, snapshotOwnerFromHint } from '../../shared/stagekit/hints.js';
import { inputDigest } from '../../shared/stagekit/input-digest.js';
import { repositoryName, tagFor } from '../../shared/stagekit/names.js';
import { handleProducerHint } from '../../shared/stagekit/producer-hints.js';
import { reconcileAll, reconcileObject } from '../../shared/stagekit/reconcile.js';
import { withReplies } from '../../shared/stagekit/replies.js';
import { parseRepositorySpec } from '../../shared/stagekit/repository.js';
import type { Applied, ObjectResult } from '../../shared/stagekit/results.js';
import { finalizeSnapshot } from '../../shared/stagekit/snapshot-cleanup.js';
import { recordSnapshot, snapshotKeyFor, snapshotRefOf, upToDateSnapshot } from '../../shared/stagekit/snapshots.js';
import { step } from '../../shared/stagekit/step.js';
import { artifactSetOf, isHelmChart, parseResource } from './spec.js';

export interface ResourceDeps {
  kube: KubePort;
  store: ArtifactStore;
  ocm: OcmSource;
  log?: Logger;
}

/** The YAML `{components: [...]}` layer of a descriptor Snapshot. */
export async function readComponentSet(kube: KubePort, store: ArtifactStore, snapshot: SnapshotObject): Promise<string> {
  const blob = await step(Reason.GetComponentDescriptorsFailed, () => fetchInputLayer(kube, store, snapshot, Reason.ComponentIsNotReady));
  try {
    return await readFile(blob.path, 'utf8');
  } finally {
    await blob.dispose();
  }
}

export function createResourceStage(deps: ResourceDeps): Stage {
  const { kube, store, ocm } = deps;

  async function sourceAccess(component: ComponentObject, resolved: ResolvedResource): Promise<RepositoryAccess> {
    const repoName = component.spec?.repositoryRef?.name;
    const repo = repoName
      ? await kube.get<OCMRepositoryObject>({ kind: 'OCMRepository', namespace: component.metadata.namespace, name: repoName })
      : undefined;
    const spec =
      resolved.owner.repositorySpec ??
      (repo ? parseRepositorySpec(repo) : undefined) ??
      component.status?.component?.repositorySpec;
    if (!spec) {
      throw new ObjectFailure(
        Reason.GetResourceAccessFailed,
        `Component ${component.metadata.name}: OCMRepository ${repoName ?? '(none)'} not found, cannot fetch resources`,
      );
    }
    const dockerConfig = repo ? await dockerConfigFrom(kube, repo, repo.spec?.secretRef?.name, 'spec.secretRef') : undefined;
    return { spec, ...(dockerConfig ? { dockerConfig } : {}) };
  }

  async function fetchAndPush(
    obj: ResourceObject,
    component: ComponentObject,
    resolved: ResolvedResource,
    skipVerify: boolean,
  ): Promise<PushedArtifact> {
    const { resource, owner } = resolved;
    const repository = repositoryName(obj.metadata.namespace, 'Resource', obj.metadata.name);
    const tag = tagFor(resource.version ?? owner.version);
    const repo = await sourceAccess(component, resolved);
    try {
      if (resource.access.type === 'ociArtifact' || resource.access.type === 'ociArtifact/v1' || resource.access.type === 'OCIImage') {
        const source = resource.access['imageReference'];
        if (typeof source !== 'string' || source === '') {
          throw new ObjectFailure(Reason.GetResourceAccessFailed, `resource ${resource.name}: ociArtifact access has no imageReference`);
        }
        const d = resource.digest;
        const expectDigest =
          !skipVerify && d?.value && (d.normalisationAlgorithm === 'ociArtifactDigest/v1' || !d.normalisationAlgorithm)
            ? `sha256:${d.value}`
            : undefined;
        return await step(Reason.CopyOCIArtifactFailed, () =>
          store.copyIn({
            source,
            ...(repo.dockerConfig ? { dockerConfig: repo.dockerConfig } : {}),
            ...(expectDigest ? { expectDigest } : {}),
            repository,
            tag,
          }),
        );
      }
      const setMediaType = artifactSetOf(resource);
      if (setMediaType) {
        // an OCI artifact packed into a localBlob (by-value transport): streamed from the source into our registry,
        // every blob hashed against its name, the main manifest against the resource's ociArtifactDigest/v1
        const d = resource.digest;
        const expectDigest = !skipVerify && d?.value && d.normalisationAlgorithm === 'ociArtifactDigest/v1' ? `sha256:${d.value}` : undefined;
        return await step(Reason.PushSnapshotFailed, () =>
          ocm.withResourceStream({ repo, resolved, skipVerify }, (src) =>
            store.pushArtifactSet({
              repository,
              tag,
              content: src.stream,
              what: `resource ${resource.name} of ${owner.name}:${owner.version}`,
              ...(expectDigest ? { expectDigest } : {}),
              as: isHelmChart(resource, setMediaType) ? 'helm-chart' : 'artifact',
              resourceName: resource.name,
              ocmMediaType: setMediaType,
              annotations: { component: { name: owner.name, version: owner.version }, identity: identityOf(resolved) },
            }),
          ),
        );
      }
      const blob = await step(Reason.GetResourceFailed, () => ocm.fetchResource({ repo, resolved, skipVerify }));
      try {
        return await step(Reason.PushSnapshotFailed, () =>
          store.pushSingleLayer({
            repository,
            tag,
            kind: isHelmChart(resource, blob.mediaType) ? 'helm-chart' : 'blob',
            content: blob,
            ocmMediaType: blob.mediaType,
            resourceName: resource.name,
            annotations: {
              component: { name: owner.name, version: owner.version },
              identity: identityOf(resolved),
            },
          }),
        );
      } finally {
        await blob.dispose();
      }
    } catch (err) {
      const cause = err instanceof ObjectFailure && (err.cause instanceof DigestMismatchError || err.cause instanceof ResourceContentError) ? err.cause : err;
      if (cause instanceof DigestMismatchError || cause instanceof ResourceContentError) {
        throw new ObjectFailure(Reason.VerifyResourceFailed, `resource ${resource.name}: ${cause.message}`, { cause });
      }
      throw err;
    }
  }

  async function reconcileResource(key: ObjectKey, selfEvent: boolean): Promise<ObjectResult> {
    return reconcileObject<ResourceObject>(deps, key, async (obj): Promise<Applied> => {
      const input = parseResource(obj);
      const current = { resource: obj.status?.resource, component: obj.status?.component, snapshotRef: obj.status?.snapshotRef };
      // Our own status patches come back as update events; the input-digest check below is cheap (two GETs and
      // one HEAD), so even those go through it rather than a shortcut that could keep a stale result.
      void selfEvent;
      const { owner: component, snapshot: compSnap } = await readySnapshotOf<ComponentObject>(
        kube,
        'Component',
        key.namespace,
        input.componentName,
      );
      const digest = inputDigest('resource', {
        identity: input.identity,
        referencePath: input.referencePath,
        skipVerify: input.skipVerify,
        components: compSnap.spec!.digest,
      });
      const existing = await upToDateSnapshot(deps, obj, digest);
      if (existing && obj.status?.resource) {
        return { outcome: 'unchanged', message: messageFor(obj.status.resource), fields: current };
      }
      const setYaml = await readComponentSet(kube, store, compSnap);
      const resolved = await step(Reason.ResolveResourceFailed, () =>
        ocm.resolveResource({ setYaml, identity: input.identity, referencePath: input.referencePath }),
      );
      const pushed = await fetchAndPush(obj, component, resolved, input.skipVerify);
      const snapshot = await recordSnapshot(deps, obj, pushed, identityOf(resolved), digest, compSnap);
      await assertInputUnchanged(kube, compSnap, `Resource ${key.name}`);
      const r = resolved.resource;
      const mediaType = typeof r.access['mediaType'] === 'string' ? r.access['mediaType'] : undefined;
      const resourceStatus = {
        name: r.name,
        type: r.type,
        ...(r.version ? { version: r.version } : {}),
        ...(r.extraIdentity ? { extraIdentity: r.extraIdentity } : {}),
        access: r.access,
        ...(r.digest?.value ? { digest: `${r.digest.hashAlgorithm ?? ''}:${r.digest.normalisationAlgorithm ?? ''}:${r.digest.value}` } : {}),
        ...(mediaType ? { mediaType } : {}),
      };
      return {
        outcome: 'applied',
        snapshot: snapshotRefOf(store, snapshot),
        message: messageFor(resourceStatus),
        fields: {
          resource: resourceStatus,
          component: { name: resolved.owner.name, version: resolved.owner.version },
          snapshotRef: { name: snapshotKeyFor(obj).name },
        },
      };
    });
  }

  async function resourcesOfComponent(namespace: string, componentName: string): Promise<ObjectKey[]> {
    const all = await kube.list<ResourceObject>('Resource', namespace);
    return all
      .filter((r) => r.spec?.componentRef?.name === componentName)
      .map((r) => ({ kind: 'Resource' as const, namespace, name: r.metadata.name }));
  }

  async function handle(hint: Hint): Promise<StageResult> {
    const own = await handleProducerHint(deps, 'Resource', hint, reconcileResource);
    if (own || hint.type !== 'object') return own ?? { objects: [] };
    const key = hintKey(hint)!;
    if (key.kind !== 'Snapshot') return { objects: [] };
    const snap = await kube.get<SnapshotObject>(key);
    const owner = (snap && snapshotOwner(snap)) ?? snapshotOwnerFromHint(hint);
    if (owner?.kind === 'Component') {
      const keys = await resourcesOfComponent(key.namespace, owner.name);
      return { objects: await reconcileAll(keys, (k) => reconcileResource(k, false)) };
    }
    if (owner?.kind === 'Resource') {
      if (snap && (await finalizeSnapshot(deps, snap))) return { objects: [{ ...key, outcome: 'deleted' }] };
      if (snap && hint.action !== 'delete') return { objects: [{ ...key, outcome: 'skipped' }] };
      return { objects: [await reconcileResource({ kind: 'Resource', namespace: key.namespace, name: owner.name }, false)] };
    }
    return { objects: [] };
  }

  return withReplies({
    name: 'resource',
    routes(hint: Hint): boolean {
      if (hint.type === 'resync') return true;
      if (hint.ref.kind === 'Resource') return true;
      const owner = snapshotOwnerFromHint(hint)?.kind;
      return owner === 'Component' || owner === 'Resource';
    },
    handle,
  }, API_VERSION);
}

function identityOf(resolved: ResolvedResource): Record<string, string> {
  const r = resolved.resource;
  return {
    ...(r.extraIdentity ?? {}),
    'component-name': resolved.owner.name,
    'component-version': resolved.owner.version,
    'resource-name': r.name,
    ...(r.version ? { 'resource-version': r.version } : {}),
  };
}

function messageFor(r: { name: string; version?: string }): string {
  return `Applied resource ${r.name}${r.version ? ` version ${r.version}` : ''}`;
}
