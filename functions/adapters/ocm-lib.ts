/** The parts of shared/ocm the adapters use, in one place. */
export {
  OcmError,
  fetchWithReferences,
  openRepository,
  parseDescriptorList,
  resolveComponentVersion,
  resolveResource,
  serializeDescriptorList,
  type ComponentDescriptor,
  type ComponentRepository,
  type Resource,
} from '../../shared/ocm/index.js';
export { openResourceAccess, OCI_ARTIFACT_DIGEST_V1 } from '../../shared/ocm/access.js';
export { verifyComponent } from '../../shared/ocm/verify.js';
export { registryConnector } from '../../shared/ocm/oci-connector.js';
export { ArtifactSetError, copyArtifactSet, extractChartFromArtifactSet } from '../../shared/ocm/artifact-set.js';
