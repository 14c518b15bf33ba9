/** What publish tells Flux: the layerSelector for a Snapshot, and whether source-controller could not take it. */
import { MediaType, isManifestMediaType } from '../../shared/oci/media-types.js';
import type { OCIRepositoryObject, OCIRepositorySpec } from '../../shared/ports/index.js';

/** Flux layerSelector for a Snapshot: Helm charts are copied as .tgz (HelmRelease chartRef), archives extracted. */
export function layerSelectorFor(
  blobMediaType: string,
  override?: { mediaType?: string; operation?: 'extract' | 'copy' },
): OCIRepositorySpec['layerSelector'] {
  if (override?.mediaType) {
    return { mediaType: override.mediaType, operation: override.operation ?? 'extract' };
  }
  // whole-artifact copies (images): the manifest is not a layer; Flux takes the first layer by default
  if (isManifestMediaType(blobMediaType)) return undefined;
  const operation = blobMediaType === MediaType.HelmChart ? 'copy' : 'extract';
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
