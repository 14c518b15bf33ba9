/**
 * The stages' OcmSource port over shared/ocm. Maps the library's typed errors (OcmError.code) to condition
 * reasons (docs/design.md §3) or to TransientError.
 */
import { credentialsFromDockerConfig, describeConnectionError, RegistryUnavailableError } from '../../shared/oci/index.js';
import {
  OcmError,
  fetchWithReferences,
  openRepository,
  openResourceAccess,
  parseDescriptorList,
  registryConnector,
  resolveComponentVersion,
  resolveResource as resolveOcmResource,
  serializeDescriptorList,
  verifyComponent,
  type ComponentDescriptor,
  type ComponentRepository,
  type Resource,
  OCI_ARTIFACT_DIGEST_V1,
} from './ocm-lib.js';
import type { Readable } from 'node:stream';
import {
  DigestMismatchError,
  ObjectFailure,
  Reason,
  ResourceContentError,
  TransientError,
  type ComponentSet,
  type LocalBlob,
  type OcmSource,
  type RepositoryAccess,
  type ResolvedResource,
  type ResourceEntry,
} from '../../shared/ports/index.js';
import { spool } from './temp-file.js';
import { egressRefusal, splitHostPort, type EgressPolicy } from '../../shared/egress/index.js';
import { guardedFetch } from './guarded-fetch.js';

export interface OcmSourceOptions {
  /** registries reached over plain HTTP (host:port) besides http:// baseUrls */
  insecureHosts?: string[];
  caFile?: string;
  /** where sources may be (shared/egress); unrestricted when absent (the local runner) */
  egress?: EgressPolicy;
}

/** Error mapping: what belongs to the object gets `reason`, transport problems are retried. */
export function mapOcmError(err: unknown, reason: Reason): Error {
  if (err instanceof ObjectFailure || err instanceof TransientError) return err;
  const refusal = egressRefusal(err);
  if (refusal) return new ObjectFailure(Reason.SourceNotAllowed, refusal.message, { cause: err });
  const host = hostOf(err);
  const problem = host ? describeConnectionError(err, host) : undefined;
  if (problem) {
    const message = `${(err as Error).message.split(':')[0]}: ${problem.message}`;
    return problem.transient ? new TransientError(message, { cause: err }) : new ObjectFailure(reason, message, { cause: err });
  }
  if (err instanceof DigestMismatchError) {
    // reading descriptors: the bytes are not what the component version's manifest names; elsewhere (resource
    // bytes) the stage words the mismatch itself
    const readingDescriptors = reason === Reason.CheckVersionFailed || reason === Reason.GetComponentDescriptorsFailed;
    return readingDescriptors ? new ObjectFailure(Reason.DescriptorDigestMismatch, err.message, { cause: err }) : err;
  }
  if (err instanceof OcmError) {
    switch (err.code) {
      case 'Transport':
        return new TransientError(err.message, { cause: err });
      case 'DescriptorParse':
      case 'DescriptorValidation':
      case 'DescriptorTooLarge':
        return new ObjectFailure(Reason.DescriptorInvalid, err.message, { cause: err });
      case 'ArtifactSetInvalid':
        return new ResourceContentError(err.message, (err as OcmError & { blob?: string }).blob);
      case 'SignatureMissing':
      case 'SignatureInvalid':
      case 'UnsupportedSignature':
      case 'KeyMissing':
      case 'CertificateInvalid':
        return new ObjectFailure(Reason.ComponentVerificationFailed, err.message, { cause: err });
      case 'RepositorySpec':
        return new ObjectFailure(Reason.RepositorySpecInvalid, err.message, { cause: err });
      case 'ComponentNotFound':
      case 'VersionNotFound':
        return new ObjectFailure(reason === Reason.CheckVersionFailed ? Reason.GetComponentFailed : reason, err.message, { cause: err });
      case 'UnsupportedAccessType':
        return new ObjectFailure(Reason.GetResourceAccessFailed, err.message, { cause: err });
      case 'AccessFailed':
        if (isRetryable(err.cause)) return new TransientError(err.message, { cause: err });
        return new ObjectFailure(reason, err.message, { cause: err });
      default:
        return new ObjectFailure(reason, err.message, { cause: err });
    }
  }
  if (isRetryable(err)) return new TransientError(String((err as Error)?.message ?? err), { cause: err });
  return new ObjectFailure(reason, err instanceof Error ? err.message : String(err), { cause: err });
}

/** The registry host a failed request went to, from the first URL-like text in the error chain. */
function hostOf(err: unknown): string | undefined {
  for (let e = err, i = 0; e && typeof e === 'object' && i < 6; e = (e as { cause?: unknown }).cause, i++) {
    const m = /(?:https?:\/\/|\b)((?:\d{1,3}(?:\.\d{1,3}){3}|localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+)(?::\d+)?)\//i.exec(String((e as Error).message ?? ''));
    if (m) return m[1];
  }
  return undefined;
}

function isRetryable(err: unknown): boolean {
  for (let e = err, i = 0; e && typeof e === 'object' && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const r = e as { code?: unknown; status?: unknown; name?: unknown };
    if (typeof r.code === 'string' && /^(E[A-Z]+|UND_ERR_)/.test(r.code)) return true;
    if (typeof r.status === 'number' && (r.status === 429 || r.status >= 500)) return true;
    if (e instanceof RegistryUnavailableError || r.name === 'TransientError' || r.name === 'RetryLaterError') return true;
  }
  return false;
}

/** The registry connector of one operation, and the guarded fetch for Helm repositories when a policy applies. */
type Connections = ReturnType<typeof registryConnector> & { fetch?: typeof fetch };

/** The policy's static checks of a repository spec (before it is opened): CTF path, registry host. */
async function checkRepositorySpec(egress: EgressPolicy | undefined, spec: unknown): Promise<void> {
  if (!egress) return;
  const s = (spec ?? {}) as { filePath?: unknown; baseUrl?: unknown };
  if (typeof s.filePath === 'string') await egress.checkCtfFile(s.filePath);
  if (typeof s.baseUrl === 'string') {
    const { host, port } = splitHostPort(s.baseUrl);
    egress.checkHost(host, port);
  }
}

export function ocmSourceAdapter(opts: OcmSourceOptions = {}): OcmSource {
  const egress = opts.egress;
  async function withRepository<T>(access: RepositoryAccess, reason: Reason, fn: (repo: ComponentRepository, oci: Connections) => Promise<T>): Promise<T> {
    const guard = egress?.guardsConnections ? egress : undefined;
    const oci = registryConnector({
      ...(access.dockerConfig ? { credentials: credentialsFromDockerConfig(access.dockerConfig) } : {}),
      ...(opts.insecureHosts ? { insecureHosts: opts.insecureHosts } : {}),
      ...(opts.caFile ? { caFile: opts.caFile } : {}),
      ...(guard ? { guard } : {}),
    });
    const http = guard ? guardedFetch(guard) : undefined;
    try {
      await checkRepositorySpec(egress, access.spec);
      const repo = await openRepository(access.spec, { oci: oci.connect });
      try {
        return await fn(repo, { ...oci, ...(http ? { fetch: http.fetch } : {}) });
      } finally {
        await repo.close?.();
      }
    } catch (err) {
      throw mapOcmError(err, reason);
    } finally {
      await Promise.all([oci.close(), http?.close()]);
    }
  }

  /**
   * Opens a resource's blob access within its repository. `consumerVerifiesSet`: the consumer checks an
   * ociArtifactDigest/v1 itself (artifact sets), so only that check is left out here.
   */
  async function withResourceBlob<T>(
    req: { repo: RepositoryAccess; resolved: ResolvedResource; skipVerify: boolean },
    consumerVerifiesSet: boolean,
    fn: (stream: Readable, mediaType: string, resource: Resource) => Promise<T>,
  ): Promise<T> {
    const owner = req.resolved.native as ComponentDescriptor | undefined;
    return withRepository(req.repo, Reason.GetResourceFailed, async (repo, oci) => {
      const cd = owner ?? (await repo.getDescriptor(req.resolved.owner.name, req.resolved.owner.version));
      const resource = cd.resources.find(
        (r) => r.name === req.resolved.resource.name && sameIdentity(r.extraIdentity, req.resolved.resource.extraIdentity),
      );
      if (!resource) {
        throw new ObjectFailure(Reason.ResolveResourceFailed, `resource ${req.resolved.resource.name} not found in ${cd.name}:${cd.version}`);
      }
      const setDigest = consumerVerifiesSet && resource.digest?.normalisationAlgorithm === OCI_ARTIFACT_DIGEST_V1;
      const access = await openResourceAccess(cd, resource, {
        repository: repo,
        oci: oci.connect,
        ...(oci.fetch ? { fetch: oci.fetch } : {}),
        ...(req.skipVerify || setDigest ? { skipDigestVerification: true } : {}),
        // the set's main manifest is then checked against the signed digest and every blob in it against its name:
        // hashing the localBlob file as well would be a second SHA-256 pass over the same bytes
        ...(setDigest && !req.skipVerify && resource.digest?.value ? { consumerHashesSetBlobs: true } : {}),
      });
      if (access.kind !== 'blob') {
        throw new ObjectFailure(Reason.GetResourceAccessFailed, `resource ${resource.name}: ${resource.access?.type} is copied as a whole artifact, not fetched as a blob`);
      }
      return fn(await access.open(), access.mediaType, resource);
    });
  }

  return {
    async checkRepository(access) {
      await withRepository(access, Reason.RepositorySpecInvalid, async () => undefined);
    },

    async resolveVersion(req) {
      return withRepository(req.repo, Reason.CheckVersionFailed, async (repo) => {
        const r = await resolveComponentVersion(repo, req.component, {
          semver: req.semver,
          ...(req.semverFilter ? { semverFilter: req.semverFilter } : {}),
          downgradePolicy: req.downgradePolicy,
          ...(req.current ? { current: req.current } : {}),
        });
        return r.version;
      });
    },

    async fetchComponentSet(req): Promise<ComponentSet> {
      return withRepository(req.repo, Reason.GetComponentDescriptorsFailed, async (repo, oci) => {
        const set = await fetchWithReferences(repo, { name: req.component, version: req.version });
        let digest: string | undefined;
        if (req.verify.length > 0) {
          try {
            const result = await verifyComponent(set, {
              keys: req.verify.map((k) => ({
                signature: k.signature,
                publicKey: k.publicKeyPem,
                ...(k.issuer ? { issuer: k.issuer } : {}),
                ...(k.subject ? { subject: k.subject } : {}),
                ...(k.rekorKeyPem ? { rekorKey: k.rekorKeyPem } : {}),
              })),
              access: { repository: repo, oci: oci.connect },
            });
            digest = result.digest.value;
          } catch (err) {
            const mapped = mapOcmError(err, Reason.ComponentVerificationFailed);
            if (mapped instanceof TransientError) throw mapped;
            // every verification problem (digests of references/resources included) is a verification failure
            throw new ObjectFailure(Reason.ComponentVerificationFailed, (err as Error).message, { cause: err });
          }
        }
        return {
          name: set.root.name,
          version: set.root.version,
          ...(digest ? { digest } : {}),
          yaml: serializeDescriptorList(set.all),
        };
      });
    },

    resolveResource(req): ResolvedResource {
      try {
        // the set is a component snapshot: written by fetchComponentSet from descriptors it validated, read back from
        // our registry by its digest. Validating it again would compile the JSON schemas (~0.3 CPU s, ~9 MiB) in
        // every resource and configure function for data that cannot have changed.
        const list = parseDescriptorList(req.setYaml, { skipValidation: true });
        const root = list[0];
        if (!root) throw new ObjectFailure(Reason.ResolveResourceFailed, 'the component snapshot holds no descriptors');
        const r = resolveOcmResource(list, root, req.identity, req.referencePath ?? []);
        return {
          resource: toEntry(r.resource),
          owner: { name: r.component.name, version: r.component.version },
          native: r.component,
        };
      } catch (err) {
        throw mapOcmError(err, Reason.ResolveResourceFailed);
      }
    },

    async fetchResource(req): Promise<LocalBlob> {
      return withResourceBlob(req, false, async (stream, mediaType, resource) => {
        // spool's pipeline reports every stream error; this guard keeps an error emitted after the pipeline has
        // settled (a verifying transform failing in its flush) from becoming an uncaught exception
        stream.on('error', () => undefined);
        return spool(stream, mediaType, resource.name);
      });
    },

    async withResourceStream(req, use) {
      // errors of `use` are the consumer's (registry, set verification): they must not be mapped as OCM errors
      let own: { error: unknown } | undefined;
      try {
        return await withResourceBlob(req, true, async (stream, mediaType) => {
          try {
            return await use({ stream, mediaType });
          } catch (error) {
            // a failure of the source stream itself (e.g. the blob's own digest) is still an OCM error
            own = { error: error instanceof OcmError || error instanceof DigestMismatchError ? mapOcmError(error, Reason.GetResourceFailed) : error };
            throw error;
          }
        });
      } catch (err) {
        if (own) throw own.error;
        throw err;
      }
    },
  };
}

function sameIdentity(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b ?? {}).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a![k] === b![k]);
}

function toEntry(r: Resource): ResourceEntry {
  return {
    name: r.name,
    ...(r.version ? { version: r.version } : {}),
    type: r.type,
    ...(r.relation ? { relation: r.relation } : {}),
    ...(r.extraIdentity && Object.keys(r.extraIdentity).length ? { extraIdentity: r.extraIdentity } : {}),
    access: (r.access ?? { type: 'none' }) as ResourceEntry['access'],
    ...(r.digest ? { digest: r.digest } : {}),
  };
}
