/**
 * OCM library facade for the stage functions.
 *
 *   const repo = await openRepository(spec, { oci })                 // OCIRegistry or CommonTransportFormat
 *   const { version, descriptor } = await resolveComponentVersion(repo, name, { semver, semverFilter, downgradePolicy, current })
 *   const set = await fetchWithReferences(repo, descriptor)          // root + all referenced versions, each once
 *   await verifyComponent(set, { keys })                             // references, resources, normalised digest, signature
 *   const { resource, component } = resolveResource(set, set.root, identity, referencePath)
 *   const access = await openResourceAccess(component, resource, { repository: repo, oci })
 *   await repo.close()
 */
import { stringify as stringifyYaml } from 'yaml';
import { DescriptorParseError } from './errors.js';
import { parseComponentDescriptor, parseYamlOrJson, toV2Object, toV3alpha1Object, type ParseOptions } from './descriptor.js';
import type { ComponentDescriptor } from './model.js';
import type { ComponentRepository } from './ports.js';
import type { ResolveVersionOptions, ResolvedVersion } from './api.js';
import { checkDowngrade, compareVersions, selectVersion } from './versions.js';

export * from './errors.js';
export * from './model.js';
export * from './api.js';
export * from './ports.js';
export { parseComponentDescriptor, serializeComponentDescriptor, toV2Object, toV3alpha1Object, parseYamlOrJson } from './descriptor.js';
export type { ParseOptions, DescriptorFormat } from './descriptor.js';
export { normaliseDescriptor, digestDescriptor, JSON_NORMALISATION_V1, JSON_NORMALISATION_V2, JSON_NORMALISATION_V3 } from './normalise.js';
export { versionToTag, tagToVersion } from './tag.js';
export { selectVersion, matchingVersions, checkDowngrade, compareVersions, DOWNGRADABLE_LABEL, type DowngradePolicy } from './versions.js';
export { resolveResource, resolveReference, matchesIdentity, elementIdentity, lookupFromList, type ResolvedResource, type DescriptorLookup } from './resolve.js';
export { fetchWithReferences, descriptorSet, findReferenceCycle, assertNoReferenceCycle, type DescriptorSet } from './references.js';
export { openRepository, parseRepositorySpec, type OpenRepositoryOptions } from './repository.js';
export { CtfRepository } from './ctf.js';
export { OciComponentRepository, parseBaseUrl, componentRepositoryPath } from './oci-repo.js';
export { readDescriptorFromArtifact, parseManifest } from './cv-artifact.js';
export { openResourceAccess, accessImageReference, accessKind, isDigestExcluded, GENERIC_BLOB_DIGEST_V1, OCI_ARTIFACT_DIGEST_V1, type OpenAccessOptions } from './access.js';
export { digestResourceAccess, hashStream, artifactSetMainDigest } from './digests.js';
export { ArtifactSetError, copyArtifactSet, extractChartFromArtifactSet, readArtifactSet, type ArtifactSetContents } from './artifact-set.js';
export { signDigest, verifySignatureValue, RSA_PKCS1_V15, RSA_PSS, SUPPORTED_SIGNATURE_ALGORITHMS, type SignOptions } from './signing.js';
export { loadVerificationMaterial, verifyChain } from './certificates.js';
export { SIGSTORE, SIGSTORE_V2, verifySigstoreSignature, type SigstoreTrust } from './sigstore.js';
export { verifyComponent, verifyReferenceDigests, verifyResourceDigests, signComponent, fillReferenceDigests, fillResourceDigests, type SignComponentOptions } from './verify.js';
export {
  writeCtfDirectory,
  writeCtfArchive,
  packCtfDirectory,
  pushComponentVersion,
  buildComponentArtifact,
  localBlobResource,
  type ComponentVersionInput,
  type LocalBlobInput,
  type LocalResourceMeta,
} from './ctf-write.js';
export { registryConnector, type RegistryConnectorOptions, type ClosableConnector } from './oci-connector.js';

/**
 * List versions, pick the highest matching `semver`/`semverFilter`, apply the downgrade policy against
 * `current`, and fetch the chosen descriptor.
 */
export async function resolveComponentVersion(repo: ComponentRepository, component: string, opts: ResolveVersionOptions): Promise<ResolvedVersion> {
  const versions = await repo.listVersions(component);
  const sel: { semver: string; semverFilter?: string } = { semver: opts.semver };
  if (opts.semverFilter) sel.semverFilter = opts.semverFilter;
  const version = selectVersion(component, versions, sel);
  const descriptor = await repo.getDescriptor(component, version);
  const downgraded = opts.current !== undefined && compareVersions(version, opts.current) < 0;
  if (downgraded) checkDowngrade(component, opts.current!, version, opts.downgradePolicy ?? 'Deny', descriptor);
  return { version, descriptor, downgraded };
}

/**
 * The descriptor-stage layer: YAML `{components: [...]}` (root first). Each descriptor keeps its own schema
 * (upstream converts all to v2), so jsonNormalisation/v1 signatures of v3alpha1 descriptors stay verifiable.
 */
export function serializeDescriptorList(list: readonly ComponentDescriptor[]): string {
  const objs = list.map((cd) => (cd.schemaVersion === 'v2' ? toV2Object(cd) : toV3alpha1Object(cd)));
  return stringifyYaml({ components: objs }, { sortMapEntries: true, lineWidth: 0, aliasDuplicateObjects: false });
}

/** Parse the descriptor-stage layer back (each entry validated like any descriptor). */
export function parseDescriptorList(input: string | Uint8Array, opts: ParseOptions = {}): ComponentDescriptor[] {
  const raw = parseYamlOrJson(input, { ...opts, maxBytes: opts.maxBytes ?? 64 * 1024 * 1024 });
  const comps = (raw as { components?: unknown } | null)?.components;
  if (!Array.isArray(comps)) throw new DescriptorParseError('descriptor list must have a "components" list', '/components');
  return comps.map((c: unknown, i) => {
    if (typeof c !== 'object' || c === null) throw new DescriptorParseError(`components[${i}] is not an object`, `/components/${i}`);
    return parseComponentDescriptor(c as Record<string, unknown>, opts);
  });
}

