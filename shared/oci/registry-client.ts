import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import type { Dispatcher } from 'undici';
import { parseWwwAuthenticate, TokenCache, repositoryScope, type Challenge, type Credential, type CredentialProvider } from './auth.js';
import { assertDigest } from './digest.js';
import { AuthError, errorForResponse, InvalidArgumentError } from './errors.js';
import { guardedConnector, type ConnectGuard } from './guarded-connect.js';
import { drain, readText } from './registry-response.js';
import { assertRepositoryName } from './reference.js';
import { RemoteRepository } from './remote-repository.js';
import { defaultRetryPolicy, isRetryableStatus, parseRetryAfter, RetryableError, withRetry, wrapNetworkError, type OnRetry, type RetryPolicy } from './retry.js';
import type { SocketTransferOptions } from './socket-transfer.js';
import { IO_CHUNK_BYTES } from './sources.js';
import { requestToken } from './token-request.js';
import { Agent, redirectInterceptor, request } from './undici-core.js';

export interface RegistryClientOptions {
  /** Registry base URL, e.g. `https://registry.example:5000` (no `/v2`). */
  url: string;
  /** Credentials, or a lookup by host (e.g. from `credentialsFromDockerConfig`). Anonymous when absent. */
  credentials?: Credential | CredentialProvider;
  /** PEM CA bundle (contents or a file path) trusted in addition to the public roots. */
  ca?: string | Buffer;
  caFile?: string;
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
  retry?: Partial<RetryPolicy>;
  /** Blobs larger than this are uploaded in chunks (PATCH); smaller ones with one streaming PUT. */
  monolithicMaxBytes?: number;
  /** PATCH chunk size (raised to the registry's OCI-Chunk-Min-Length). Each chunk is buffered in memory. */
  chunkBytes?: number;
  /** Largest manifest we read (distribution spec suggests 4 MiB). */
  maxManifestBytes?: number;
  userAgent?: string;
  /** Called before each retry, e.g. for logging. */
  onRetry?: OnRetry;
  /**
   * Asked before every socket this client opens (undici and raw-socket transfers, redirects included): the
   * egress policy of sources and targets a tenant names. Absent: connect anywhere (the internal registry).
   */
  guard?: ConnectGuard;
  /** Use this dispatcher instead of creating one (tests). Turns off the raw-socket transfers, which could not use it. */
  dispatcher?: Dispatcher;
  /**
   * Blobs of at least this many bytes move on a raw socket with reused buffers (socket-transfer.ts) when the
   * other end is a file: downloads into a file (`fetchToFile`, `source().writeTo`) and monolithic uploads from a
   * `BlobSource` with `file`. Smaller blobs and streams use undici. Default 8 MiB; `Infinity` turns it off.
   */
  socketTransferMinBytes?: number;
  /**
   * Called after each blob moved on a raw socket (metrics, logs, tests). `host` is the server that sent or took
   * the bytes: a storage host when the registry redirected the download.
   */
  onSocketTransfer?: (event: SocketTransferEvent) => void;
}

export interface SocketTransferEvent {
  op: 'GET' | 'PUT';
  repository: string;
  digest: string;
  bytes: number;
  host: string;
  /** from opening the connection to the last byte (this hop only) */
  ms: number;
  /** a download whose file writes went down to 64 KiB because the page cache was slow (page-cache-writer.ts) */
  smallWrites?: boolean;
}

/** What a request does to a repository, as named in a token scope. */
export type Action = 'pull' | 'push' | 'delete';

/** One request through `RegistryClient.send`. */
export interface SendRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** absolute URL, or a path starting with /v2/ */
  url: string | URL;
  what: string;
  repository?: string;
  actions: Action[];
  headers?: Record<string, string>;
  /** called per attempt, so a retry or an auth round trip resends the body from the start */
  body?: () => Promise<Readable | Buffer | string> | Readable | Buffer | string;
  /** statuses treated as success; others become typed errors */
  expect: number[];
  /** retry this single request on network errors/429/5xx (only for idempotent requests with replayable bodies) */
  retry: boolean;
  followRedirects?: boolean;
}

const DEFAULT_MONOLITHIC_MAX = 4 * 1024 ** 3;
const DEFAULT_CHUNK = 16 * 1024 ** 2;
const DEFAULT_SOCKET_TRANSFER_MIN = 8 * 1024 ** 2;

/**
 * An OCI distribution-spec client for one registry. Speaks only the spec (no registry-specific behaviour);
 * the client rules of docs/design.md §7 are applied throughout.
 */
export class RegistryClient {
  readonly baseUrl: string;
  /** host[:port] as used for credential lookup */
  readonly host: string;
  readonly retryPolicy: RetryPolicy;
  readonly monolithicMaxBytes: number;
  readonly chunkBytes: number;
  readonly maxManifestBytes: number;
  /** settings of the raw-socket transfers; undefined when they are off */
  readonly socketTransfer: SocketTransferOptions | undefined;
  readonly socketTransferMinBytes: number;
  private readonly dispatcher: Dispatcher;
  private readonly redirecting: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly credentials: CredentialProvider;
  readonly userAgent: string;
  readonly onRetry: RegistryClientOptions['onRetry'];
  readonly onSocketTransfer: RegistryClientOptions['onSocketTransfer'];
  private readonly tokens = new TokenCache();
  /** learned from the first challenge */
  private challenge: Challenge | undefined;

  constructor(opts: RegistryClientOptions) {
    let base: URL;
    try {
      base = new URL(opts.url);
    } catch {
      throw new InvalidArgumentError(`registry url "${opts.url}" is not a valid URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new InvalidArgumentError(`registry url "${opts.url}" must be http:// or https://`);
    }
    this.baseUrl = `${base.protocol}//${base.host}`;
    this.host = base.host;
    this.retryPolicy = { ...defaultRetryPolicy, ...opts.retry };
    this.monolithicMaxBytes = opts.monolithicMaxBytes ?? DEFAULT_MONOLITHIC_MAX;
    this.chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK;
    this.maxManifestBytes = opts.maxManifestBytes ?? 4 * 1024 * 1024;
    this.userAgent = opts.userAgent ?? 'ocm-knative';
    this.onRetry = opts.onRetry;
    this.onSocketTransfer = opts.onSocketTransfer;
    const cred = opts.credentials;
    this.credentials = typeof cred === 'function' ? cred : () => cred;
    this.socketTransferMinBytes = opts.socketTransferMinBytes ?? DEFAULT_SOCKET_TRANSFER_MIN;
    if (opts.dispatcher) {
      this.dispatcher = opts.dispatcher;
      this.ownsDispatcher = false;
      this.socketTransfer = undefined;
    } else {
      const extraCa = opts.ca ?? (opts.caFile ? readFileSync(opts.caFile) : undefined);
      // connect.ca replaces the default trust store, so keep the public roots alongside the custom CA
      const ca = extraCa ? [...rootCertificates, extraCa.toString()] : undefined;
      this.socketTransfer = Number.isFinite(this.socketTransferMinBytes)
        ? {
            ...(ca ? { ca } : {}),
            ...(opts.guard ? { guard: opts.guard } : {}),
            connectTimeoutMs: opts.timeouts?.connectMs ?? 10_000,
            idleTimeoutMs: opts.timeouts?.bodyMs ?? 120_000,
            bufferBytes: IO_CHUNK_BYTES,
          }
        : undefined;
      const connect = { timeout: opts.timeouts?.connectMs ?? 10_000, ...(ca ? { ca } : {}) };
      this.dispatcher = new Agent({
        connect: opts.guard ? guardedConnector(opts.guard, connect) : connect,
        headersTimeout: opts.timeouts?.headersMs ?? 120_000,
        bodyTimeout: opts.timeouts?.bodyMs ?? 120_000,
        keepAliveTimeout: 10_000,
      });
      this.ownsDispatcher = true;
    }
    this.redirecting = this.dispatcher.compose(redirectInterceptor({ maxRedirections: 3 }));
  }

  /** A handle on one repository: blobs + manifests (a `Target`). */
  repository(name: string): RemoteRepository {
    return new RemoteRepository(this, assertRepositoryName(name));
  }

  /** GET /v2/: checks reachability and credentials. */
  async ping(): Promise<void> {
    const res = await this.send({ method: 'GET', url: '/v2/', what: `ping ${this.host}`, actions: [], expect: [200], retry: true });
    await drain(res);
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** Best-effort DELETE of an abandoned upload session (no auth round trip, no retry); never throws. */
  cancelUpload(location: URL): void {
    void this.send({
      method: 'DELETE',
      url: location,
      what: 'cancel upload',
      actions: [],
      expect: [200, 202, 204, 404],
      retry: false,
    })
      .then(drain)
      .catch(() => undefined);
  }

  /** DELETE of a blob or manifest by digest; false when the registry did not have it. */
  async deleteByDigest(repository: string, kind: 'blobs' | 'manifests', digest: string): Promise<boolean> {
    assertDigest(digest);
    const res = await this.send({
      method: 'DELETE',
      url: `/v2/${repository}/${kind}/${digest}`,
      what: `DELETE ${kind === 'blobs' ? 'blob' : 'manifest'} ${repository}@${digest}`,
      repository,
      actions: ['delete'],
      expect: [200, 202, 404],
      retry: true,
    });
    await drain(res);
    return res.statusCode !== 404;
  }

  url(path: string): URL {
    return new URL(path, this.baseUrl);
  }

  // ---- auth ----

  /**
   * The Authorization value for a request on `repository` with `actions` (a token per scope, cached), or
   * undefined while the registry has not challenged us yet. For the raw-socket transfers, which send their own
   * requests; a 401 there is handed back to `send`, which learns the challenge or refreshes the token.
   */
  authorizationFor(repository: string, actions: Action[], what: string): Promise<string | undefined> {
    return this.authorization({ method: 'GET', url: '', what, repository, actions, expect: [], retry: false }, false);
  }

  private async authorization(req: SendRequest, forceRefresh: boolean): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    const cred = await this.credentials(this.host);
    if (ch.scheme === 'basic') {
      if (!cred || !('username' in cred) || !('password' in cred) || cred.password === undefined) return undefined;
      return `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
    }
    if (ch.scheme !== 'bearer') return undefined;
    if (cred && 'registryToken' in cred) return `Bearer ${cred.registryToken}`;
    const realm = ch.params.realm;
    if (!realm) throw new AuthError(`${req.what}: registry ${this.host} sent a Bearer challenge without realm`);
    const service = ch.params.service ?? '';
    const scope = req.repository ? repositoryScope(req.repository, req.actions) : (ch.params.scope ?? '');
    if (!forceRefresh) {
      const cached = this.tokens.get(realm, service, scope);
      if (cached) return `Bearer ${cached}`;
    } else {
      this.tokens.delete(realm, service, scope);
    }
    // after a rejected token, also ask for whatever scope the registry's challenge named (it may want more actions)
    const scopes = [scope];
    if (forceRefresh && ch.params.scope && ch.params.scope !== scope) scopes.push(ch.params.scope);
    const { token, expiresIn } = await requestToken(
      { host: this.host, userAgent: this.userAgent, dispatcher: this.dispatcher, retryPolicy: this.retryPolicy, onRetry: this.onRetry },
      { realm, service, scopes: scopes.filter(Boolean), credential: cred, what: req.what },
    );
    this.tokens.set(realm, service, scope, token, expiresIn);
    return `Bearer ${token}`;
  }


  // ---- transport ----

  /** One request with auth (challenge, token per scope, refresh on 401) and, if asked, retries. */
  async send(req: SendRequest): Promise<Dispatcher.ResponseData> {
    const once = async (): Promise<Dispatcher.ResponseData> => {
      let refreshed = false;
      let challenged = false;
      for (;;) {
        const auth = await this.authorization(req, refreshed);
        const headers: Record<string, string> = { 'user-agent': this.userAgent, ...req.headers };
        if (auth) headers.authorization = auth;
        const url = typeof req.url === 'string' ? this.url(req.url) : req.url;
        const res = await request(url, {
          method: req.method,
          headers,
          body: req.body ? await req.body() : null,
          dispatcher: req.followRedirects ? this.redirecting : this.dispatcher,
          // undici closes the connection after every HEAD unless told otherwise (it guards against servers that
          // send a body anyway; registries do not): without this each HEAD paid a new TCP (or TLS) connection,
          // 2.6 ms instead of 1.1 ms against docker-registry here, and the no-op check of every event does one
          ...(req.method === 'HEAD' ? { reset: false } : {}),
        });
        if (res.statusCode === 401) {
          const text = await readText(res);
          const wa = res.headers['www-authenticate'];
          const challenges = parseWwwAuthenticate(Array.isArray(wa) ? wa.join(', ') : (wa ?? ''));
          const ch = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
          const cred = await this.credentials(this.host);
          if (ch && !challenged && !auth) {
            // first contact: learn the scheme, then retry with credentials
            this.challenge = ch;
            challenged = true;
            if (ch.scheme === 'basic' && !cred) break401(req, this.host, ch, false, text);
            continue;
          }
          if (ch?.scheme === 'bearer' && auth?.startsWith('Bearer ') && !refreshed) {
            // token expired or revoked: fetch a fresh one once
            this.challenge = ch;
            refreshed = true;
            continue;
          }
          break401(req, this.host, ch ?? this.challenge, cred !== undefined, text);
        }
        if (isRetryableStatus(res.statusCode) && !req.expect.includes(res.statusCode)) {
          const text = await readText(res);
          const err = errorForResponse(req.what, res.statusCode, text);
          if (req.retry) throw new RetryableError(err, parseRetryAfter(res.headers['retry-after']));
          throw err;
        }
        if (!req.expect.includes(res.statusCode)) {
          const text = req.method === 'HEAD' ? '' : await readText(res);
          if (req.method === 'HEAD') await drain(res);
          throw errorForResponse(req.what, res.statusCode, text);
        }
        return res;
      }
    };
    if (!req.retry) return once();
    try {
      return await withRetry(this.retryPolicy, once, this.onRetry);
    } catch (err) {
      throw wrapNetworkError(err, req.what);
    }
  }
}

function break401(req: SendRequest, host: string, ch: Challenge | undefined, hadCredentials: boolean, body: string): never {
  const scheme = ch ? `${ch.scheme[0]?.toUpperCase()}${ch.scheme.slice(1)}` : 'unknown';
  const reason = hadCredentials
    ? `the credentials configured for ${host} were rejected`
    : `no credentials are configured for ${host}`;
  const detail = errorForResponse(req.what, 401, body);
  throw new AuthError(`${req.what}: authentication required (${scheme} realm "${ch?.params.realm ?? ''}"): ${reason}`, {
    status: 401,
    errors: detail.errors,
  });
}
