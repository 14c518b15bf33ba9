import { isArtifactSetMediaType, ObjectFailure, Reason, type Identity, type ResourceObject } from '../../shared/ports/index.js';

export interface ResourceInput {
  componentName: string;
  identity: Identity;
  referencePath: Identity[];
  skipVerify: boolean;
}

function invalid(obj: ResourceObject, field: string, problem: string): ObjectFailure {
  return new ObjectFailure(Reason.SpecInvalid, `Resource ${obj.metadata.name}: spec.${field} ${problem}`);
}

function isIdentity(v: unknown): v is Identity {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v as Record<string, unknown>).every((x) => typeof x === 'string')
  );
}

export function parseResource(obj: ResourceObject): ResourceInput {
  const s = obj.spec ?? {};
  const componentName = s.componentRef?.name;
  if (typeof componentName !== 'string' || componentName === '') throw invalid(obj, 'componentRef.name', 'is required');
  const byRef = s.resource?.byReference;
  if (!byRef) throw invalid(obj, 'resource.byReference', 'is required');
  const identity = byRef.resource;
  if (!isIdentity(identity) || Object.keys(identity).length === 0) {
    throw invalid(obj, 'resource.byReference.resource', 'must be a non-empty map of strings');
  }
  if (!identity.name) throw invalid(obj, 'resource.byReference.resource.name', 'is required');
  const path = byRef.referencePath ?? [];
  if (!Array.isArray(path)) throw invalid(obj, 'resource.byReference.referencePath', 'must be a list');
  path.forEach((p, i) => {
    if (!isIdentity(p) || !p.name) throw invalid(obj, `resource.byReference.referencePath[${i}]`, 'must be an identity with a name');
  });
  return { componentName, identity, referencePath: path, skipVerify: s.skipVerify === true };
}

/**
 * The media type of a localBlob that holds an OCM artifact set (an OCI artifact packed by `ocm transfer
 * --copy-resources` or the helm/ociImage inputs), else undefined.
 */
export function artifactSetOf(resource: { access: { type: string } & Record<string, unknown> }): string | undefined {
  const kind = resource.access.type.replace(/\/v\d+$/, '');
  if (kind !== 'localBlob' && kind !== 'LocalBlob') return undefined;
  const mediaType = resource.access['mediaType'];
  return typeof mediaType === 'string' && isArtifactSetMediaType(mediaType) ? mediaType : undefined;
}

/** Helm charts get Helm media types and tag = chart version (docs/design.md §6). */
export function isHelmChart(resource: { type: string; access: { type: string } & Record<string, unknown> }, mediaType?: string): boolean {
  if (resource.type === 'helmChart' || resource.type === 'helm') return true;
  if (resource.access.type === 'helm' || resource.access.type.startsWith('helm/')) return true;
  const mt = mediaType ?? (typeof resource.access['mediaType'] === 'string' ? resource.access['mediaType'] : '');
  return mt.includes('vnd.cncf.helm.chart');
}
