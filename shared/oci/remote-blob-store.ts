import type { Dispatcher } from 'undici';
import { closeSync, openSync } from 'node:fs';
import { pipeline, type Readable } from 'node:stream';
import { pipeline as pipelineP } from 'node:stream/promises';
import { BlobFileWriter } from './blob-file-writer.js';
import { algorithmOf, assertDigest, DigestingStream, VerifyingStream } from './digest.js';
import { DigestMismatchError, OciError, SizeMismatchError, RegistryUnavailableError } from './errors.js';
import { assertRepositoryName } from './reference.js';
import type { RegistryClient } from './registry-client.js';
import { checkDigest, checkDigestHeader, drain, header, responseError } from './registry-response.js';
import { RetryableError, withRetry, wrapNetworkError } from './retry.js';
import { getToFile, putFromFile, type SocketTransferOptions } from './socket-transfer.js';
import { IO_CHUNK_BYTES } from './sources.js';
import type { BlobSource, BlobStore } from './types.js';
import { chunked, sized } from './upload-body.js';

/** hops followed by a raw-socket download (2.8 on S3 redirects blob GETs to presigned storage URLs) */
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Blob operations over the distribution API. */
export class RemoteBlobStore implements BlobStore {
  constructor(
    private readonly client: RegistryClient,
    private readonly repository: string,
  ) {}

  async exists(digest: string): Promise<boolean> {
    assertDigest(digest);
    const res = await this.client.send({
      method: 'HEAD',
      url: `/v2/${this.repository}/blobs/${digest}`,
      what: `HEAD blob ${this.repository}@${digest}`,
      repository: this.repository,
      actions: ['pull'],
      // a redirect to storage also means "present" (2.8 on S3 with redirects on)
      expect: [200, 307, 302, 404],
      retry: true,
    });
    await drain(res);
    return res.statusCode !== 404;
  }

  /** Streams the blob, verifying digest and size while streaming (the stream errors on mismatch). */
  async fetch(desc: { digest: string; size?: number }, opts: { verify?: boolean } = {}): Promise<Readable> {
    assertDigest(desc.digest);
    const what = `blob ${this.repository}@${desc.digest}`;
    const res = await this.client.send({
      method: 'GET',
      url: `/v2/${this.repository}/blobs/${desc.digest}`,
      what: `GET ${what}`,
      repository: this.repository,
      actions: ['pull'],
      expect: [200],
      retry: true,
      followRedirects: true,
    });
    if (opts.verify === false) return res.body;
    const verifier = new VerifyingStream(desc.digest, desc.size, what);
    pipeline(res.body, verifier, () => {
      // errors are delivered through `verifier`
    });
    return verifier;
  }

  /**
   * Writes the blob into `path` (created or truncated), digest and size verified; the file is complete and
   * correct when this resolves. Blobs from `socketTransferMinBytes` up are read on a raw socket into one reused
   * buffer (socket-transfer.ts), following redirects to storage (the registry's Authorization is not sent to
   * another origin), and restarted from byte 0 by the retry policy on network errors and 429/5xx. A 401 or a
   * response the raw path does not handle falls back to undici, as do small blobs.
   */
  async fetchToFile(desc: { digest: string; size: number }, path: string): Promise<void> {
    assertDigest(desc.digest);
    const what = `GET blob ${this.repository}@${desc.digest}`;
    const raw = this.client.socketTransfer;
    if (raw && desc.size >= this.client.socketTransferMinBytes) {
      if (await this.retrying(what, () => this.socketGet(what, desc, path, raw))) return;
    }
    await pipelineP(await this.fetch(desc), new BlobFileWriter(path, IO_CHUNK_BYTES));
  }

  /**
   * A source for copying the blob elsewhere: streams unverified (the destination verifies), and offers
   * `writeTo`, so a layout destination downloads straight into its temp file.
   */
  source(desc: { digest: string; size: number }): BlobSource {
    return {
      open: () => this.fetch(desc, { verify: false }),
      writeTo: (path) => this.fetchToFile(desc, path),
    };
  }

  /** One raw-socket download attempt; false when the answer needs the undici path (401, unusual framing). */
  private async socketGet(
    what: string,
    desc: { digest: string; size: number },
    path: string,
    opts: SocketTransferOptions,
  ): Promise<boolean> {
    const auth = await this.client.authorizationFor(this.repository, ['pull'], what);
    // 'w' truncates: every attempt starts from byte 0
    const fd = openSync(path, 'w');
    try {
      let url = this.client.url(`/v2/${this.repository}/blobs/${desc.digest}`);
      for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
        const headers: Record<string, string> = { 'user-agent': this.client.userAgent };
        // a presigned storage URL carries its own credentials; the registry's must not leak to it
        if (auth && url.origin === this.client.baseUrl) headers.authorization = auth;
        const started = performance.now();
        const result = await getToFile(url, headers, fd, algorithmOf(desc.digest), desc.size, what, opts);
        if (result.kind === 'unsupported') return false;
        if (result.kind === 'written') {
          if (result.digest !== desc.digest) throw new DigestMismatchError(what, desc.digest, result.digest);
          const ms = performance.now() - started;
          this.client.onSocketTransfer?.({
            op: 'GET',
            repository: this.repository,
            digest: desc.digest,
            bytes: result.size,
            host: url.host,
            ms,
            smallWrites: result.smallWrites,
          });
          return true;
        }
        const res = result.response;
        const location = res.headers.location;
        if (REDIRECT_STATUSES.has(res.status) && location) {
          url = new URL(location, url);
          continue;
        }
        if (res.status === 401) return false;
        throw responseError(what, res);
      }
      throw new OciError(`${what}: more than ${MAX_REDIRECTS} redirects`);
    } finally {
      closeSync(fd);
    }
  }

  delete(digest: string): Promise<boolean> {
    return this.client.deleteByDigest(this.repository, 'blobs', digest);
  }

  /**
   * Pushes a blob of known digest and size: HEAD first (skip when present), optionally a cross-repository mount,
   * then one streaming PUT (or chunked PATCHes above `monolithicMaxBytes`). A failed upload is cancelled and
   * restarted from byte 0 with a fresh session (retry policy), re-opening `source`.
   */
  async push(desc: { digest: string; size: number }, source: BlobSource, opts: { mountFrom?: string } = {}): Promise<void> {
    assertDigest(desc.digest);
    if (await this.exists(desc.digest)) return;
    const what = `upload blob ${this.repository}@${desc.digest}`;
    await this.retrying(what, async () => {
      const session = await this.startUpload(what, desc.digest, opts.mountFrom);
      if (session.mounted) return;
      try {
        if (desc.size <= this.client.monolithicMaxBytes) {
          await this.putMonolithic(what, session.location, desc, source);
        } else {
          await this.uploadChunks(what, session.location, session.chunkMin, source, desc);
        }
      } catch (err) {
        this.cancel(session.location);
        throw err;
      }
    });
  }

  /** Mounts `digest` from another repository of the same registry; true when the registry did it. */
  async mount(digest: string, fromRepository: string): Promise<boolean> {
    assertDigest(digest);
    const what = `mount blob ${digest} from ${fromRepository} into ${this.repository}`;
    const session = await this.startUpload(what, digest, assertRepositoryName(fromRepository));
    if (!session.mounted) this.cancel(session.location);
    return session.mounted;
  }

  /**
   * Pushes content whose digest and size are unknown up front, in chunks (each buffered up to `chunkBytes`),
   * hashing while it streams. Returns the descriptor fields. `source` is reopened from the start on retry.
   */
  async pushUnknown(source: BlobSource): Promise<{ digest: string; size: number }> {
    const what = `upload blob to ${this.repository}`;
    return this.retrying(what, async () => {
      const session = await this.startUpload(what);
      if (session.mounted) throw new OciError(`${what}: unexpected mount`);
      try {
        return await this.uploadChunks(what, session.location, session.chunkMin, source);
      } catch (err) {
        this.cancel(session.location);
        throw err;
      }
    });
  }

  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(
        this.client.retryPolicy,
        async () => {
          try {
            return await fn();
          } catch (err) {
            if (err instanceof RegistryUnavailableError) throw new RetryableError(err);
            throw err;
          }
        },
        this.client.onRetry,
      );
    } catch (err) {
      throw wrapNetworkError(err, what);
    }
  }

  private async startUpload(
    what: string,
    mountDigest?: string,
    mountFrom?: string,
  ): Promise<{ mounted: true } | { mounted: false; location: URL; chunkMin: number }> {
    const u = this.client.url(`/v2/${this.repository}/blobs/uploads/`);
    if (mountDigest && mountFrom) {
      u.searchParams.set('mount', mountDigest);
      u.searchParams.set('from', mountFrom);
    }
    const res = await this.client.send({
      method: 'POST',
      url: u,
      what: `${what}: start`,
      repository: this.repository,
      actions: ['pull', 'push'],
      headers: { 'content-length': '0' },
      expect: [201, 202],
      retry: true,
    });
    await drain(res);
    if (res.statusCode === 201) return { mounted: true };
    return {
      mounted: false,
      location: this.location(res, what),
      chunkMin: Number(header(res, 'oci-chunk-min-length') ?? 0) || 0,
    };
  }

  private location(res: Dispatcher.ResponseData, what: string): URL {
    const loc = header(res, 'location');
    if (!loc) throw new OciError(`${what}: registry answered ${res.statusCode} without a Location header`);
    // 2.8 sends an absolute URL, the spec allows a relative one; its query (_state) must be kept
    return new URL(loc, this.client.baseUrl);
  }

  /** Best-effort cancel of an abandoned upload session; never throws. */
  private cancel(location: URL): void {
    this.client.cancelUpload(location);
  }

  private async putMonolithic(
    what: string,
    location: URL,
    desc: { digest: string; size: number },
    source: BlobSource,
  ): Promise<void> {
    const u = new URL(location);
    u.searchParams.set('digest', desc.digest);
    const raw = this.client.socketTransfer;
    if (raw && source.file !== undefined && desc.size >= this.client.socketTransferMinBytes) {
      if (await this.socketPut(what, u, desc, source.file, raw)) return;
    }
    const res = await this.client.send({
      method: 'PUT',
      url: u,
      what,
      repository: this.repository,
      actions: ['pull', 'push'],
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
      body: async () => sized(await source.open(), desc.size, what),
      expect: [201],
      retry: false,
    });
    await drain(res);
    checkDigestHeader(res, desc.digest, what);
  }

  /**
   * The monolithic PUT with the body sent from `file` on a raw socket (socket-transfer.ts). True when the
   * registry took the blob; false when undici should send this PUT instead (401: the auth layer refreshes; the
   * file is gone: the stream source reports it). Other failures throw; 429/5xx and network errors as retryable,
   * so `push` restarts with a fresh upload session.
   */
  private async socketPut(
    what: string,
    url: URL,
    desc: { digest: string; size: number },
    file: string,
    opts: SocketTransferOptions,
  ): Promise<boolean> {
    const auth = await this.client.authorizationFor(this.repository, ['pull', 'push'], what);
    const headers: Record<string, string> = { 'user-agent': this.client.userAgent, 'content-type': 'application/octet-stream' };
    if (auth && url.origin === this.client.baseUrl) headers.authorization = auth;
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return false;
    }
    let result;
    const started = performance.now();
    try {
      result = await putFromFile(url, headers, fd, desc.size, what, opts);
    } finally {
      closeSync(fd);
    }
    if (result.kind === 'unsupported') {
      // the registry answered in a form we do not parse, after taking the body: ask it whether it has the blob
      if (await this.exists(desc.digest)) return true;
      throw new RegistryUnavailableError(`${what}: unreadable answer to the upload (${result.reason})`);
    }
    if (result.kind !== 'response') throw new OciError(`${what}: unexpected blob body in the answer to an upload`);
    const res = result.response;
    if (res.status === 401) return false;
    if (res.status !== 201) throw responseError(what, res);
    checkDigest(res.headers['docker-content-digest'], desc.digest, what);
    this.client.onSocketTransfer?.({ op: 'PUT', repository: this.repository, digest: desc.digest, bytes: desc.size, host: url.host, ms: performance.now() - started });
    return true;
  }

  /** PATCH chunks of at most max(chunkBytes, chunkMin) bytes, following the newest Location, then PUT ?digest=. */
  private async uploadChunks(
    what: string,
    location: URL,
    chunkMin: number,
    source: BlobSource,
    expected?: { digest: string; size: number },
  ): Promise<{ digest: string; size: number }> {
    const chunkSize = Math.max(this.client.chunkBytes, chunkMin);
    const hasher = new DigestingStream();
    // pipeline, not pipe: a failing source must fail the upload instead of leaving it waiting forever
    pipeline(await source.open(), hasher, () => {
      // errors surface on `hasher`, which the loop below reads
    });
    const input = hasher;
    let loc = location;
    let offset = 0;
    for await (const chunk of chunked(input, chunkSize)) {
      const res = await this.client.send({
        method: 'PATCH',
        url: loc,
        what: `${what}: chunk at ${offset}`,
        repository: this.repository,
        actions: ['pull', 'push'],
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(chunk.length),
          'content-range': `${offset}-${offset + chunk.length - 1}`,
        },
        body: () => chunk,
        expect: [202],
        retry: false,
      });
      await drain(res);
      loc = this.location(res, what);
      offset += chunk.length;
    }
    const digest = hasher.digest();
    if (expected) {
      if (offset !== expected.size) throw new SizeMismatchError(what, expected.size, offset);
      if (digest !== expected.digest) throw new DigestMismatchError(what, expected.digest, digest);
    }
    const u = new URL(loc);
    u.searchParams.set('digest', digest);
    const res = await this.client.send({
      method: 'PUT',
      url: u,
      what: `${what}: commit`,
      repository: this.repository,
      actions: ['pull', 'push'],
      headers: { 'content-length': '0' },
      expect: [201],
      retry: false,
    });
    await drain(res);
    checkDigestHeader(res, digest, what);
    return { digest, size: offset };
  }
}
