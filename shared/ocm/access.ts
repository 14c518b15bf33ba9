/**
 * Access methods: turn a resource's `access` spec into bytes (streamed) or an OCI reference to copy whole.
 * localBlob (incl. globalAccess), ociArtifact (legacy ociRegistry), ociBlob, helm (HTTP repo or OCI).
 * Blob streams are verified against genericBlobDigest/v1 digests while streaming.
 */
import { Readable } from 'node:stream';
import { parseDocument } from 'yaml';
import { AccessError, ArtifactFormatError, DigestMismatchError, OcmError, UnsupportedAccessTypeError } from './errors.js';
import type { AccessContext, ResourceAccess } from './api.js';
import { cvName, type ComponentDescriptor, type Json, type Resource, type TypedSpec } from './model.js';
import { parseBaseUrl } from './oci-repo.js';
import { readBounded, verifyingStream, VerifyDigestStream } from './streams.js';
import { GENERIC_BLOB_DIGEST_V1, OCI_ARTIFACT_DIGEST_V1, VerifyArtifactSetStream } from './digests.js';
import { MediaType } from '../oci/media-types.js';
import { ImageReferenceError } from '../oci/errors.js';
import { parseImageReference, registryHost, type ImageReference } from '../oci/reference.js';

export { GENERIC_BLOB_DIGEST_V1, OCI_ARTIFACT_DIGEST_V1 };
export const EXCLUDED_DIGEST = { hashAlgorithm: 'NO-DIGEST', normalisationAlgorithm: 'EXCLUDE-FROM-SIGNATURE', value: 'NO-DIGEST' };

/** Access type without version suffix, e.g. `localBlob/v1` -> `localBlob`. */
export function accessKind(type: string): string {
  const base = type.replace(/\/v\d+$/, '');
  switch (base) {
    case 'localBlob':
    case 'LocalBlob':
      return 'localBlob';
    case 'ociArtifact':
    case 'OCIArtifact':
    case 'ociRegistry':
    case 'OCIRegistry':
    case 'ociImage':
      return 'ociArtifact';
    case 'ociBlob':
    case 'OCIBlob':
      return 'ociBlob';
    case 'helm':
    case 'Helm':
      return 'helm';
    case 'none':
    case 'None':
      return 'none';
    default:
      return base;
  }
}

export function isDigestExcluded(r: Resource): boolean {
  const d = r.digest;
  return !d || d.hashAlgorithm === 'NO-DIGEST' || d.normalisationAlgorithm === 'EXCLUDE-FROM-SIGNATURE';
}

function field(spec: TypedSpec, name: string, what: string): string {
  const v = spec[name];
  if (typeof v !== 'string' || !v) throw new AccessError(`${what}: access.${name} is required`);
  return v;
}

/**
 * The image reference of an access spec (`imageReference`, `ref`): the one grammar (shared/oci/reference.ts), with
 * Docker Hub short names, an optional `oci://`/`http(s)://` scheme and surrounding blanks allowed; a bad one is the
 * access's problem (AccessError).
 */
export function accessImageReference(reference: string): ImageReference {
  try {
    return parseImageReference(reference.trim(), { scheme: true });
  } catch (err) {
    if (err instanceof ImageReferenceError) throw new AccessError(err.message, { cause: err });
    throw err;
  }
}

/** Wrap a blob opener so that the stream fails at its end when the resource's genericBlobDigest/v1 does not match. */
function withResourceDigest(resource: Resource, component: ComponentDescriptor, open: () => Promise<Readable>): () => Promise<Readable> {
  const d = resource.digest;
  if (!d || isDigestExcluded(resource)) return open;
  const what = `resource ${resource.name} of ${cvName(component)}`;
  if (d.normalisationAlgorithm !== GENERIC_BLOB_DIGEST_V1 && d.normalisationAlgorithm !== OCI_ARTIFACT_DIGEST_V1) return open;
  return async () => {
    const src = await open();
    // a blob with ociArtifactDigest/v1 is a local artifact set: its main manifest digest is what was signed
    const v = d.normalisationAlgorithm === GENERIC_BLOB_DIGEST_V1 ? new VerifyDigestStream(what, d.hashAlgorithm, d.value) : new VerifyArtifactSetStream(what, d.value);
    src.on('error', (e) => v.destroy(e));
    return src.pipe(v);
  };
}

export interface OpenAccessOptions extends AccessContext {
  /** do not attach digest verification (callers that verify themselves) */
  skipDigestVerification?: boolean;
}

/** Open the access of `resource`, which must belong to `component` (its own descriptor, not the root's). */
export async function openResourceAccess(component: ComponentDescriptor, resource: Resource, ctx: OpenAccessOptions = {}): Promise<ResourceAccess> {
  const access = resource.access;
  const what = `resource ${resource.name} of ${cvName(component)}`;
  if (!access) throw new AccessError(`${what} has no access`);
  const res = await openAccessSpec(component, resource, access, ctx, what, 0);
  if (res.kind === 'blob' && !ctx.skipDigestVerification) res.open = withResourceDigest(resource, component, res.open);
  if (res.kind === 'ociArtifact' && !ctx.skipDigestVerification) {
    const d = resource.digest;
    if (d && !isDigestExcluded(resource) && d.normalisationAlgorithm === OCI_ARTIFACT_DIGEST_V1) {
      const expected = `sha256:${d.value}`;
      res.expectedManifestDigest = expected;
      if (res.manifestDigest && res.manifestDigest !== expected) throw new DigestMismatchError(`${what} (OCI manifest)`, expected, res.manifestDigest);
      if (res.reference.digest && res.reference.digest !== expected) throw new DigestMismatchError(`${what} (OCI reference)`, expected, res.reference.digest);
    }
  }
  return res;
}

async function openAccessSpec(
  component: ComponentDescriptor,
  resource: Resource,
  access: TypedSpec,
  ctx: AccessContext,
  what: string,
  depth: number,
): Promise<ResourceAccess> {
  if (depth > 2) throw new AccessError(`${what}: globalAccess nested too deep`);
  const kind = accessKind(access.type);
  switch (kind) {
    case 'localBlob': {
      const localReference = field(access, 'localReference', what);
      const mediaType = typeof access['mediaType'] === 'string' ? access['mediaType'] : undefined;
      const global = access['globalAccess'];
      if (ctx.repository) {
        try {
          const blob = await ctx.repository.getLocalBlob(component.name, component.version, localReference, mediaType);
          return {
            kind: 'blob',
            resource,
            component,
            mediaType: blob.mediaType || 'application/octet-stream',
            ...(blob.size !== undefined ? { size: blob.size } : {}),
            ...(blob.digest ? { digest: blob.digest } : {}),
            open: () => blob.open(ctx.consumerHashesSetBlobs ? { skipDigestVerification: true } : undefined),
          };
        } catch (err) {
          if (!isTypedSpec(global)) throw err;
        }
      }
      if (isTypedSpec(global)) return openAccessSpec(component, resource, global, ctx, `${what} (globalAccess)`, depth + 1);
      throw new AccessError(`${what}: localBlob needs the component's repository (none given) or a globalAccess`);
    }
    case 'ociArtifact': {
      const written = field(access, 'imageReference', what);
      const ref = accessImageReference(written);
      const out: ResourceAccess = { kind: 'ociArtifact', resource, component, reference: ref };
      if (ctx.oci) {
        const repo = ctx.oci({ host: registryHost(ref.registry), ...(ref.insecure ? { insecure: true } : {}) }, ref.repository);
        let desc;
        try {
          desc = await repo.manifests.resolve(ref.digest ?? ref.tag ?? 'latest');
        } catch (err) {
          throw new AccessError(`${what}: cannot resolve ${written}: ${(err as Error).message}`, { cause: err });
        }
        if (!desc) throw new AccessError(`${what}: ${written} not found`);
        out.manifestDigest = desc.digest;
        out.mediaType = desc.mediaType;
      }
      return out;
    }
    case 'ociBlob': {
      // LIB names the field `ref`, the spec `imageReference`; accept both
      const refStr = typeof access['ref'] === 'string' ? access['ref'] : field(access, 'imageReference', what);
      const digest = field(access, 'digest', what);
      const ref = accessImageReference(refStr);
      if (!ctx.oci) throw new AccessError(`${what}: ociBlob needs registry access (no OCI connector given)`);
      const repo = ctx.oci({ host: registryHost(ref.registry), ...(ref.insecure ? { insecure: true } : {}) }, ref.repository);
      const size = typeof access['size'] === 'number' ? access['size'] : undefined;
      return {
        kind: 'blob',
        resource,
        component,
        mediaType: typeof access['mediaType'] === 'string' && access['mediaType'] ? access['mediaType'] : 'application/octet-stream',
        ...(size !== undefined ? { size } : {}),
        digest,
        open: () => repo.blobs.fetch({ digest, ...(size !== undefined ? { size } : {}) }),
      };
    }
    case 'helm':
      return openHelm(component, resource, access, ctx, what);
    default:
      throw new UnsupportedAccessTypeError(access.type);
  }
}

function isTypedSpec(v: Json | undefined): v is TypedSpec {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Record<string, unknown>)['type'] === 'string';
}

/** `name:version` or `name` + access.version. */
function helmChartAndVersion(access: TypedSpec, what: string): { chart: string; version: string } {
  const spec = field(access, 'helmChart', what);
  const i = spec.lastIndexOf(':');
  const chart = i > 0 ? spec.slice(0, i) : spec;
  const version = i > 0 ? spec.slice(i + 1) : typeof access['version'] === 'string' ? access['version'] : '';
  if (!version) throw new AccessError(`${what}: helm access needs a chart version (helmChart name:version or version)`);
  return { chart, version };
}

async function openHelm(component: ComponentDescriptor, resource: Resource, access: TypedSpec, ctx: AccessContext, what: string): Promise<ResourceAccess> {
  const repoUrl = field(access, 'helmRepository', what);
  const { chart, version } = helmChartAndVersion(access, what);
  if (repoUrl.startsWith('oci://')) {
    const base = parseBaseUrl(repoUrl);
    const tag = version.replaceAll('+', '_'); // helm's own tag mapping for OCI charts
    const reference: ImageReference = { registry: base.registry.host, repository: [base.prefix, chart].filter((p) => p).join('/'), tag };
    const out: ResourceAccess = { kind: 'ociArtifact', resource, component, reference, mediaType: MediaType.HelmChart };
    if (ctx.oci) {
      const desc = await ctx.oci({ host: registryHost(reference.registry) }, reference.repository).manifests.resolve(tag);
      if (!desc) throw new AccessError(`${what}: helm chart ${repoUrl.replace(/\/+$/, '')}/${chart}:${version} not found`);
      out.manifestDigest = desc.digest;
    }
    return out;
  }
  if (!/^https?:\/\//.test(repoUrl)) throw new AccessError(`${what}: helmRepository ${repoUrl} must be http(s):// or oci://`);
  const doFetch = ctx.fetch ?? fetch;
  const base = repoUrl.endsWith('/') ? repoUrl : `${repoUrl}/`;
  const indexUrl = new URL('index.yaml', base).toString();
  let res: Response;
  try {
    res = await doFetch(indexUrl);
  } catch (err) {
    throw new AccessError(`${what}: cannot fetch ${indexUrl}: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok || !res.body) throw new AccessError(`${what}: GET ${indexUrl} answered ${res.status}`);
  const limit = ctx.maxMetadataBytes ?? 16 * 1024 * 1024;
  const text = (await readBounded(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), limit, indexUrl)).toString('utf8');
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length) throw new ArtifactFormatError(`${what}: ${indexUrl} is not valid YAML: ${doc.errors[0]!.message}`);
  const index = doc.toJS({ maxAliasCount: 100 }) as { entries?: Record<string, { version?: string; urls?: string[]; digest?: string }[]> } | null;
  const entry = index?.entries?.[chart]?.find((e) => e.version === version);
  if (!entry) throw new AccessError(`${what}: chart ${chart} version ${version} not in ${indexUrl}`);
  const url = entry.urls?.[0];
  if (!url) throw new AccessError(`${what}: chart ${chart}:${version} in ${indexUrl} has no urls`);
  const chartUrl = new URL(url, base).toString();
  const indexDigest = typeof entry.digest === 'string' && /^[0-9a-f]{64}$/.test(entry.digest) ? `sha256:${entry.digest}` : undefined;
  return {
    kind: 'blob',
    resource,
    component,
    mediaType: MediaType.HelmChart,
    ...(indexDigest ? { digest: indexDigest } : {}),
    open: async () => {
      const r = await doFetch(chartUrl);
      if (!r.ok || !r.body) throw new AccessError(`${what}: GET ${chartUrl} answered ${r.status}`);
      const s = Readable.fromWeb(r.body as import('node:stream/web').ReadableStream);
      // the repository index carries the chart's sha256: check it too
      return indexDigest ? verifyingStream(s, `helm chart ${chart}:${version}`, indexDigest) : s;
    },
  };
}

export function isOcmError(e: unknown): e is OcmError {
  return e instanceof OcmError;
}
