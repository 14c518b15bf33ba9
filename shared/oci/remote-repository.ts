import { assertDigest } from './digest.js';
import { isIndexMediaType, MediaType } from './media-types.js';
import type { RegistryClient } from './registry-client.js';
import { drain, header, mediaTypeOf, readLimited } from './registry-response.js';
import { RemoteBlobStore } from './remote-blob-store.js';
import { RemoteManifestStore } from './remote-manifest-store.js';
import type { Descriptor, ImageIndex, Target } from './types.js';

/**
 * A repository on a remote registry: implements `Target` (its blob store adds mount and unknown-size uploads), plus
 * the referrers of a manifest.
 */
export class RemoteRepository implements Target {
  readonly blobs: RemoteBlobStore;
  readonly manifests: RemoteManifestStore;
  constructor(
    readonly client: RegistryClient,
    readonly repository: string,
  ) {
    this.blobs = new RemoteBlobStore(client, repository);
    this.manifests = new RemoteManifestStore(client, repository);
  }

  /**
   * Referrers of `digest` (OCI 1.1). Uses the referrers API when the registry has it; otherwise falls back to
   * the tag schema (`sha256-<hex>` index). Feature-detected on every call: any 404 means "no API".
   */
  async referrers(digest: string, artifactType?: string): Promise<Descriptor[]> {
    assertDigest(digest);
    const c = this.client;
    const u = c.url(`/v2/${this.repository}/referrers/${digest}`);
    if (artifactType) u.searchParams.set('artifactType', artifactType);
    const res = await c.send({
      method: 'GET',
      url: u,
      what: `referrers of ${this.repository}@${digest}`,
      repository: this.repository,
      actions: ['pull'],
      headers: { accept: MediaType.ImageIndex },
      expect: [200, 404],
      retry: true,
    });
    let manifests: Descriptor[];
    if (res.statusCode === 200 && mediaTypeOf(header(res, 'content-type')) === MediaType.ImageIndex) {
      const index = JSON.parse((await readLimited(res, c.maxManifestBytes, 'referrers index')).toString()) as ImageIndex;
      manifests = index.manifests ?? [];
    } else {
      await drain(res);
      const fallbackTag = digest.replace(':', '-');
      const desc = await this.manifests.resolve(fallbackTag);
      if (!desc || !isIndexMediaType(desc.mediaType)) return [];
      const fetched = await this.manifests.fetch(fallbackTag);
      manifests = (JSON.parse(fetched.bytes.toString()) as ImageIndex).manifests ?? [];
    }
    return artifactType ? manifests.filter((m) => m.artifactType === artifactType) : manifests;
  }
}
