import {
  DigestMismatchError,
  ObjectFailure,
  Reason,
  ResourceContentError,
  type ComponentObject,
  type KubePort,
  type OCMRepositoryObject,
  type PushedArtifact,
  type RepositoryAccess,
  type ResolvedResource,
  type ResourceObject,
} from '../../shared/ports/index.js';
import { dockerConfigFrom } from '../../shared/stagekit/credentials.js';
import { repositoryName, tagFor } from '../../shared/stagekit/names.js';
import { parseRepositorySpec } from '../../shared/stagekit/repository.js';
import { step } from '../../shared/stagekit/step.js';
import type { ResourceDeps } from './deps.js';
import { artifactSetOf, isHelmChart } from './spec.js';

/**
 * Copies a resolved resource into our registry as the Resource's artifact: an ociArtifact whole, an artifact set
 * (by-value OCI artifact) streamed, anything else as a single layer. Digest and content mismatches are
 * VerifyResourceFailed.
 */
export async function fetchAndPush(
  deps: ResourceDeps,
  obj: ResourceObject,
  component: ComponentObject,
  resolved: ResolvedResource,
  skipVerify: boolean,
): Promise<PushedArtifact> {
  const { resource, owner } = resolved;
  const target: Target = {
    repository: repositoryName(obj.metadata.namespace, 'Resource', obj.metadata.name),
    tag: tagFor(resource.version ?? owner.version),
  };
  const repo = await sourceAccess(deps.kube, component, resolved);
  try {
    const type = resource.access.type;
    if (type === 'ociArtifact' || type === 'ociArtifact/v1' || type === 'OCIImage') return await copyImage(deps, repo, resolved, skipVerify, target);
    const setMediaType = artifactSetOf(resource);
    if (setMediaType) return await pushArtifactSet(deps, repo, resolved, skipVerify, target, setMediaType);
    return await pushBlob(deps, repo, resolved, skipVerify, target);
  } catch (err) {
    const cause = err instanceof ObjectFailure && (err.cause instanceof DigestMismatchError || err.cause instanceof ResourceContentError) ? err.cause : err;
    if (cause instanceof DigestMismatchError || cause instanceof ResourceContentError) {
      throw new ObjectFailure(Reason.VerifyResourceFailed, `resource ${resource.name}: ${cause.message}`, { cause });
    }
    throw err;
  }
}

/** Where in our registry the Resource's artifact goes. */
interface Target {
  repository: string;
  tag: string;
}

/** An ociArtifact resource: the image copied whole, its manifest checked against the resource digest. */
async function copyImage(deps: ResourceDeps, repo: RepositoryAccess, resolved: ResolvedResource, skipVerify: boolean, target: Target): Promise<PushedArtifact> {
  const { resource } = resolved;
  const source = resource.access['imageReference'];
  if (typeof source !== 'string' || source === '') {
    throw new ObjectFailure(Reason.GetResourceAccessFailed, `resource ${resource.name}: ociArtifact access has no imageReference`);
  }
  const d = resource.digest;
  const expectDigest =
    !skipVerify && d?.value && (d.normalisationAlgorithm === 'ociArtifactDigest/v1' || !d.normalisationAlgorithm) ? `sha256:${d.value}` : undefined;
  return step(Reason.CopyOCIArtifactFailed, () =>
    deps.store.copyIn({
      source,
      ...(repo.dockerConfig ? { dockerConfig: repo.dockerConfig } : {}),
      ...(expectDigest ? { expectDigest } : {}),
      ...target,
    }),
  );
}

/**
 * An OCI artifact packed into a localBlob (by-value transport): streamed from the source into our registry, every blob
 * hashed against its name, the main manifest against the resource's ociArtifactDigest/v1.
 */
async function pushArtifactSet(
  deps: ResourceDeps,
  repo: RepositoryAccess,
  resolved: ResolvedResource,
  skipVerify: boolean,
  target: Target,
  setMediaType: string,
): Promise<PushedArtifact> {
  const { resource, owner } = resolved;
  const d = resource.digest;
  const expectDigest = !skipVerify && d?.value && d.normalisationAlgorithm === 'ociArtifactDigest/v1' ? `sha256:${d.value}` : undefined;
  return step(Reason.PushSnapshotFailed, () =>
    deps.ocm.withResourceStream({ repo, resolved, skipVerify }, (src) =>
      deps.store.pushArtifactSet({
        ...target,
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

/** Any other resource: fetched (and checked against its digest by the OcmSource) and pushed as a single layer. */
async function pushBlob(deps: ResourceDeps, repo: RepositoryAccess, resolved: ResolvedResource, skipVerify: boolean, target: Target): Promise<PushedArtifact> {
  const { resource, owner } = resolved;
  const blob = await step(Reason.GetResourceFailed, () => deps.ocm.fetchResource({ repo, resolved, skipVerify }));
  try {
    return await step(Reason.PushSnapshotFailed, () =>
      deps.store.pushSingleLayer({
        ...target,
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
}

/** Where a resolved resource is fetched from: its owner's repository (a referenced component's own), with credentials. */
async function sourceAccess(kube: KubePort, component: ComponentObject, resolved: ResolvedResource): Promise<RepositoryAccess> {
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

/** The Snapshot identity of a resolved resource: its identity plus the component version it came from. */
export function identityOf(resolved: ResolvedResource): Record<string, string> {
  const r = resolved.resource;
  return {
    ...(r.extraIdentity ?? {}),
    'component-name': resolved.owner.name,
    'component-version': resolved.owner.version,
    'resource-name': r.name,
    ...(r.version ? { 'resource-version': r.version } : {}),
  };
}
