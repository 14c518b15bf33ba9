/**
 * OCM repository in an OCI registry: component `<name>` lives in `<baseUrl path>/<subPath>/component-descriptors/<name>`,
 * versions are tags (`+` <-> `.build-`). All registry I/O goes through the OciConnector port (shared/oci).
 */
import { ArtifactFormatError, RepositorySpecError, VersionNotFoundError } from './errors.js';
import { normaliseLocalReference, readDescriptorFromArtifact } from './cv-artifact.js';
import type { ComponentDescriptor } from './model.js';
import type { BlobHandle, ComponentRepository, OciConnector, OciRepositoryPort, RegistryLocation, RepositorySpec } from './ports.js';
import type { ImageManifest } from '../oci/types.js';
import { tagToVersion, versionToTag } from './tag.js';
import type { ParseOptions } from './descriptor.js';

export const COMPONENT_DESCRIPTORS = 'component-descriptors';

/** `http://host:5000/a/b`, `https://ghcr.io/org`, `ghcr.io/org` -> location + path prefix. */
export function parseBaseUrl(baseUrl: string): { registry: RegistryLocation; prefix: string } {
  let rest = baseUrl.trim();
  let insecure: boolean | undefined;
  const m = /^(https?|oci):\/\//.exec(rest);
  if (m) {
    if (m[1] === 'http') insecure = true;
    rest = rest.slice(m[0].length);
  }
  rest = rest.replace(/\/+$/, '');
  const slash = rest.indexOf('/');
  const host = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1);
  if (!host || !/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host)) {
    throw new RepositorySpecError(`OCIRegistry baseUrl "${baseUrl}" has no valid registry host`);
  }
  const registry: RegistryLocation = { host };
  if (insecure) registry.insecure = true;
  return { registry, prefix };
}

export function componentRepositoryPath(prefix: string, subPath: string | undefined, component: string): string {
  return [prefix, subPath?.replace(/^\/+|\/+$/g, ''), COMPONENT_DESCRIPTORS, component].filter((p) => p).join('/');
}

export interface OciRepoOptions {
  parse?: ParseOptions;
}

export class OciComponentRepository implements ComponentRepository {
  readonly location: string;
  private readonly registry: RegistryLocation;
  private readonly prefix: string;
  private readonly manifests = new Map<string, ImageManifest>();
  constructor(
    readonly spec: Extract<RepositorySpec, { baseUrl: string }>,
    readonly oci: OciConnector,
    private readonly opts: OciRepoOptions = {},
  ) {
    const p = parseBaseUrl(spec.baseUrl);
    this.registry = p.registry;
    this.prefix = p.prefix;
    this.location = `OCI registry ${spec.baseUrl}${spec.subPath ? `/${spec.subPath}` : ''}`;
  }

  repositoryFor(component: string): OciRepositoryPort {
    return this.oci(this.registry, componentRepositoryPath(this.prefix, this.spec.subPath, component));
  }

  async listVersions(component: string): Promise<string[]> {
    const tags = await this.repositoryFor(component).manifests.tags();
    return tags.map(tagToVersion);
  }

  private async load(component: string, version: string): Promise<{ manifest: ImageManifest; descriptor: ComponentDescriptor }> {
    const repo = this.repositoryFor(component);
    const tag = versionToTag(version);
    const desc = await repo.manifests.resolve(tag);
    if (!desc) throw new VersionNotFoundError(component, version, this.location);
    const { bytes } = await repo.manifests.fetch(desc.digest);
    const what = `${this.location} ${component}:${version}`;
    const res = await readDescriptorFromArtifact(bytes, (d) => repo.blobs.fetch({ digest: d.digest, size: d.size }), what, this.opts.parse ?? {});
    this.manifests.set(`${component}:${version}`, res.manifest);
    return res;
  }

  async getDescriptor(component: string, version: string): Promise<ComponentDescriptor> {
    return (await this.load(component, version)).descriptor;
  }

  async getLocalBlob(component: string, version: string, localReference: string, mediaType?: string): Promise<BlobHandle> {
    const digest = normaliseLocalReference(localReference);
    const manifest = this.manifests.get(`${component}:${version}`) ?? (await this.load(component, version)).manifest;
    const layer = manifest.layers.find((l) => l.digest === digest);
    if (!layer) throw new ArtifactFormatError(`${this.location}: local blob ${localReference} is not a layer of ${component}:${version}`);
    const repo = this.repositoryFor(component);
    return {
      mediaType: mediaType || layer.mediaType,
      size: layer.size,
      digest,
      open: () => repo.blobs.fetch({ digest, size: layer.size }),
    };
  }

  async close(): Promise<void> {}
}

