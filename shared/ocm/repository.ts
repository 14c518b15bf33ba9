/** Open a component repository from an OCM repository spec (OCMRepository.spec.repositorySpec). */
import { RepositorySpecError } from './errors.js';
import { CtfRepository, type CtfLimits } from './ctf.js';
import { OciComponentRepository, parseBaseUrl } from './oci-repo.js';
import type { ComponentRepository, OciConnector, RepositorySpec } from './ports.js';
import type { ParseOptions } from './descriptor.js';

export interface OpenRepositoryOptions extends CtfLimits {
  /** registry access (with credentials per host inside); required for OCIRegistry specs */
  oci?: OciConnector;
  parse?: ParseOptions;
}

const OCI_TYPES = new Set(['OCIRegistry', 'OCIRegistry/v1', 'ociRegistry']);
const CTF_TYPES = new Set(['CommonTransportFormat', 'CommonTransportFormat/v1']);

/** Check and normalise an untrusted repository spec; RepositorySpecError names the offending field. */
export function parseRepositorySpec(spec: unknown): RepositorySpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new RepositorySpecError('repositorySpec must be an object');
  const s = spec as Record<string, unknown>;
  const type = s['type'];
  if (typeof type !== 'string') throw new RepositorySpecError('repositorySpec.type is required');
  if (OCI_TYPES.has(type)) {
    if (typeof s['baseUrl'] !== 'string' || !s['baseUrl']) throw new RepositorySpecError('repositorySpec.baseUrl is required for OCIRegistry');
    parseBaseUrl(s['baseUrl']);
    if (s['subPath'] !== undefined && typeof s['subPath'] !== 'string') throw new RepositorySpecError('repositorySpec.subPath must be a string');
    if (s['componentNameMapping'] !== undefined && s['componentNameMapping'] !== 'urlPath') {
      throw new RepositorySpecError(`repositorySpec.componentNameMapping ${JSON.stringify(s['componentNameMapping'])} is not supported (only urlPath)`);
    }
    const out: RepositorySpec = { type: 'OCIRegistry', baseUrl: s['baseUrl'] };
    if (typeof s['subPath'] === 'string' && s['subPath']) out.subPath = s['subPath'];
    return out;
  }
  if (CTF_TYPES.has(type)) {
    if (typeof s['filePath'] !== 'string' || !s['filePath']) throw new RepositorySpecError('repositorySpec.filePath is required for CommonTransportFormat');
    const ff = s['fileFormat'];
    if (ff !== undefined && ff !== 'directory' && ff !== 'tar' && ff !== 'tgz') {
      throw new RepositorySpecError(`repositorySpec.fileFormat ${JSON.stringify(ff)} must be directory, tar or tgz`);
    }
    const out: RepositorySpec = { type: 'CommonTransportFormat', filePath: s['filePath'] };
    if (ff) out.fileFormat = ff;
    return out;
  }
  throw new RepositorySpecError(`repositorySpec.type ${JSON.stringify(type)} is not supported (OCIRegistry, CommonTransportFormat)`);
}

export async function openRepository(spec: unknown, opts: OpenRepositoryOptions = {}): Promise<ComponentRepository> {
  const s = parseRepositorySpec(spec);
  if ('baseUrl' in s) {
    if (!opts.oci) throw new RepositorySpecError('an OCI registry connector is needed to open an OCIRegistry repository');
    return new OciComponentRepository(s, opts.oci, { parse: opts.parse ?? {} });
  }
  return CtfRepository.open(s, { ...opts, parse: opts.parse ?? {} });
}
