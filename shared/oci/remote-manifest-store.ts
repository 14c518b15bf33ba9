import type { Dispatcher } from 'undici';
import { digestOf, isDigest, verifyBytes } from './digest.js';
import { DigestMismatchError, OciError } from './errors.js';
import { nextLink } from './link-header.js';
import { ManifestAcceptTypes } from './media-types.js';
import { assertReference } from './reference.js';
import type { RegistryClient } from './registry-client.js';
import { checkDigestHeader, drain, header, mediaTypeOf, readLimited } from './registry-response.js';
import type { Descriptor, FetchedManifest, ManifestStore } from './types.js';

/** Manifest operations over the distribution API. */
export class RemoteManifestStore implements ManifestStore {
  constructor(
    private readonly client: RegistryClient,
    private readonly repository: string,
  ) {}

  async resolve(reference: string): Promise<Descriptor | undefined> {
    assertReference(reference);
    const what = `HEAD manifest ${this.repository}:${reference}`;
    const res = await this.client.send({
      method: 'HEAD',
      url: `/v2/${this.repository}/manifests/${reference}`,
      what,
      repository: this.repository,
      actions: ['pull'],
      headers: { accept: ManifestAcceptTypes.join(', ') },
      expect: [200, 404],
      retry: true,
    });
    await drain(res);
    if (res.statusCode === 404) return undefined;
    const digest = header(res, 'docker-content-digest');
    const size = Number(header(res, 'content-length'));
    const mediaType = mediaTypeOf(header(res, 'content-type'));
    if (!digest || !isDigest(digest) || !Number.isFinite(size) || !mediaType) {
      // the registry did not describe it on HEAD: fall back to GET, which hashes the bytes itself
      return (await this.fetch(reference)).descriptor;
    }
    if (isDigest(reference) && digest !== reference) throw new DigestMismatchError(what, reference, digest);
    return { mediaType, digest, size };
  }

  async fetch(reference: string): Promise<FetchedManifest> {
    assertReference(reference);
    const what = `manifest ${this.repository}:${reference}`;
    const res = await this.client.send({
      method: 'GET',
      url: `/v2/${this.repository}/manifests/${reference}`,
      what: `GET ${what}`,
      repository: this.repository,
      actions: ['pull'],
      headers: { accept: ManifestAcceptTypes.join(', ') },
      expect: [200],
      retry: true,
    });
    const bytes = await readLimited(res, this.client.maxManifestBytes, what);
    const headerDigest = header(res, 'docker-content-digest');
    let digest: string;
    if (isDigest(reference)) {
      verifyBytes(what, bytes, reference);
      digest = reference;
    } else {
      digest = digestOf(bytes, headerDigest?.startsWith('sha512:') ? 'sha512' : 'sha256');
      if (headerDigest && isDigest(headerDigest) && headerDigest !== digest) {
        throw new DigestMismatchError(`${what}: Docker-Content-Digest`, headerDigest, digest);
      }
    }
    let mediaType = mediaTypeOf(header(res, 'content-type'));
    let artifactType: string | undefined;
    try {
      const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; artifactType?: string };
      if (typeof parsed.mediaType === 'string' && (!mediaType || mediaType === 'application/json')) mediaType = parsed.mediaType;
      if (typeof parsed.artifactType === 'string') artifactType = parsed.artifactType;
    } catch {
      throw new OciError(`${what}: manifest is not valid JSON`);
    }
    return {
      descriptor: { mediaType, digest, size: bytes.length, ...(artifactType ? { artifactType } : {}) },
      bytes,
    };
  }

  async push(bytes: Buffer, mediaType: string, tag?: string): Promise<Descriptor> {
    const digest = digestOf(bytes);
    const reference = tag ?? digest;
    assertReference(reference);
    // the media type in the message: a registry refusing a kind of manifest (zot without docker2s2 compat answers 415
    // MANIFEST_INVALID to Docker v2 ones) is then named in the reason
    const what = `PUT manifest ${this.repository}:${reference} (${mediaType})`;
    const res = await this.client.send({
      method: 'PUT',
      url: `/v2/${this.repository}/manifests/${reference}`,
      what,
      repository: this.repository,
      actions: ['pull', 'push'],
      headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
      body: () => bytes,
      expect: [201],
      retry: true,
    });
    await drain(res);
    checkDigestHeader(res, digest, what);
    return { mediaType, digest, size: bytes.length };
  }

  delete(digest: string): Promise<boolean> {
    return this.client.deleteByDigest(this.repository, 'manifests', digest);
  }

  async tags(): Promise<string[]> {
    const out: string[] = [];
    let next: URL | undefined = this.client.url(`/v2/${this.repository}/tags/list?n=1000`);
    for (let page = 0; next && page < 10_000; page++) {
      const res: Dispatcher.ResponseData = await this.client.send({
        method: 'GET',
        url: next,
        what: `tags of ${this.repository}`,
        repository: this.repository,
        actions: ['pull'],
        expect: [200, 404],
        retry: true,
      });
      if (res.statusCode === 404) {
        await drain(res);
        return out;
      }
      const body = JSON.parse((await readLimited(res, 16 * 1024 * 1024, 'tag list')).toString()) as { tags?: string[] | null };
      out.push(...(body.tags ?? []));
      const link = nextLink(res.headers.link);
      next = link ? new URL(link, this.client.baseUrl) : undefined;
    }
    return out;
  }
}
