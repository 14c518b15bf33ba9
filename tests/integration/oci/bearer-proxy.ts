/**
 * Test-only: a token server plus a reverse proxy that demands Bearer tokens, in front of a real docker-registry.
 * docker-registry 2.8's token auth needs a JWT-signing token service we cannot run here, so this implements the
 * distribution token flow (challenge, GET /token?service&scope with Basic, Bearer on retry) in the test. The proxy
 * can also inject failures (503/429 with Retry-After, 400) for retry tests.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { services } from '../../infra/services.js';
import { scratchDir } from './helpers.js';

export interface InjectedFault {
  status: number;
  retryAfter?: string;
  /** only for requests whose method matches */
  method?: string;
}

export class BearerProxy {
  readonly tokenRequests: Array<{ scope: string; service: string; grant: string; basicUser?: string }> = [];
  /** accepted by the OAuth2 refresh-token grant */
  readonly refreshToken = 'refresh-token-for-tests';
  readonly requests: Array<{ method: string; path: string; bearer: boolean }> = [];
  readonly faults: InjectedFault[] = [];
  /** when set, upload sessions announce this OCI-Chunk-Min-Length */
  chunkMinLength: number | undefined;
  /** when set, tags/list is served in pages of this size with RFC 8288 Link headers (2.8 ignores ?n=) */
  tagPageSize: number | undefined;
  /** Content-Length of every PATCH seen */
  readonly patchSizes: number[] = [];
  private readonly tokens = new Map<string, { scopes: string[] }>();
  private server: Server | undefined;
  url = '';

  constructor(
    private readonly upstream: string,
    private readonly user: string,
    private readonly password: string,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(err));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  /** Forget every issued token (as if they expired or were revoked). */
  revokeAll(): void {
    this.tokens.clear();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', this.url);
    if (u.pathname === '/token') return this.token(req, res, u);
    const auth = req.headers.authorization ?? '';
    const bearer = auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
    this.requests.push({ method: req.method ?? '', path: u.pathname, bearer: bearer !== undefined });
    const fault = this.faults[0];
    if (fault && (!fault.method || fault.method === req.method)) {
      this.faults.shift();
      req.resume();
      const body = JSON.stringify({ errors: [{ code: fault.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'injected' }] });
      // framed by Content-Length, as docker-registry frames its error bodies (writeHead alone would make it chunked)
      res.writeHead(fault.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}),
      });
      res.end(body);
      return;
    }
    const m = /^\/v2\/(.+)\/(blobs|manifests|tags|referrers)\//.exec(u.pathname);
    const action = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push';
    const needed = m ? `repository:${m[1]}:${action}` : undefined;
    const granted = bearer ? this.tokens.get(bearer) : undefined;
    const ok =
      granted !== undefined &&
      (needed === undefined ||
        granted.scopes.some((s) => {
          const [type, name, actions] = s.split(':');
          return `${type}:${name}` === needed.split(':').slice(0, 2).join(':') && (actions ?? '').split(',').includes(action);
        }));
    if (!ok) {
      req.resume();
      const scope = m ? `repository:${m[1]}:${action === 'pull' ? 'pull' : 'pull,push'}` : '';
      const body = JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
      res.writeHead(401, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'www-authenticate': `Bearer realm="${this.url}/token",service="test-registry"${scope ? `,scope="${scope}"` : ''}`,
      });
      res.end(body);
      return;
    }
    if (req.method === 'PATCH') this.patchSizes.push(Number(req.headers['content-length'] ?? -1));
    if (this.tagPageSize && req.method === 'GET' && u.pathname.endsWith('/tags/list')) return this.tagPage(u, res);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || ['host', 'authorization', 'connection', 'transfer-encoding'].includes(k)) continue;
      headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'DELETE';
    const up = await request(`${this.upstream}${u.pathname}${u.search}`, {
      method: req.method as 'GET',
      headers,
      body: hasBody ? req : null,
    });
    const outHeaders: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(up.headers)) {
      if (v === undefined || k === 'connection' || k === 'transfer-encoding' || k === 'keep-alive') continue;
      outHeaders[k] = k === 'location' && typeof v === 'string' ? v.replace(this.upstream, this.url) : v;
    }
    if (this.chunkMinLength && req.method === 'POST' && up.statusCode === 202) outHeaders['oci-chunk-min-length'] = String(this.chunkMinLength);
    res.writeHead(up.statusCode, outHeaders);
    for await (const chunk of up.body) res.write(chunk);
    res.end();
  }

  /** Serves the upstream tag list in pages: `?n=` and `?last=` as in the distribution spec, `Link: <...>; rel="next"`. */
  private async tagPage(u: URL, res: ServerResponse): Promise<void> {
    const up = await request(`${this.upstream}${u.pathname}`);
    const body = (await up.body.json()) as { name: string; tags: string[] };
    const sorted = [...body.tags].sort();
    const last = u.searchParams.get('last');
    const n = Math.min(Number(u.searchParams.get('n') ?? this.tagPageSize), this.tagPageSize ?? Infinity);
    const rest = last ? sorted.filter((t) => t > last) : sorted;
    const page = rest.slice(0, n);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (rest.length > n) headers.link = `<${u.pathname}?n=${n}&last=${encodeURIComponent(page[page.length - 1] ?? '')}>; rel="next"`;
    res.writeHead(200, headers);
    res.end(JSON.stringify({ name: body.name, tags: page }));
  }

  private async token(req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> {
    const deny = (): void => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
    };
    let scopes: string[];
    let service: string;
    let basicUser: string | undefined;
    let grant = 'basic';
    if (req.method === 'POST') {
      // OAuth2 refresh-token grant (dockerconfigjson identitytoken)
      let body = '';
      for await (const c of req) body += (c as Buffer).toString();
      const form = new URLSearchParams(body);
      if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== this.refreshToken) return deny();
      scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      service = form.get('service') ?? '';
      grant = 'refresh_token';
    } else {
      req.resume();
      const auth = req.headers.authorization ?? '';
      if (!auth.startsWith('Basic ')) return deny();
      const [user, ...rest] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (user !== this.user || rest.join(':') !== this.password) return deny();
      basicUser = user;
      scopes = u.searchParams.getAll('scope');
      service = u.searchParams.get('service') ?? '';
    }
    this.tokenRequests.push({ scope: scopes.join(' '), service, grant, ...(basicUser ? { basicUser } : {}) });
    const token = randomBytes(16).toString('hex');
    this.tokens.set(token, { scopes });
    res.writeHead(200, { 'content-type': 'application/json' });
    // OAuth2 answers carry access_token; the docker token endpoint answers token
    res.end(JSON.stringify(grant === 'refresh_token' ? { access_token: token, expires_in: 300 } : { token, expires_in: 300 }));
  }
}

/** The user and password the proxy's token server accepts (Basic). */
export const ROBOT = { username: 'robot', password: 'robot-pw' } as const;

export interface BearerProxyFixture {
  /** the running proxy (after beforeAll) */
  readonly proxy: BearerProxy;
  /** a scratch folder of the test file */
  readonly dir: string;
  /** closes `client` after the file's tests */
  keep<T extends { close(): Promise<void> }>(client: T): T;
}

/**
 * A BearerProxy in front of the fs docker-registry for the calling test file: started before its tests, its faults,
 * chunk minimum and tag pages reset after each, stopped (with the clients kept) after all.
 */
export function useBearerProxy(name: string): BearerProxyFixture {
  let proxy: BearerProxy | undefined;
  let dir: string | undefined;
  const clients: Array<{ close(): Promise<void> }> = [];
  beforeAll(async () => {
    proxy = new BearerProxy(services().registry.fs.url, ROBOT.username, ROBOT.password);
    await proxy.start();
    dir = await scratchDir(name);
  });
  afterEach(() => {
    if (!proxy) return;
    proxy.faults.length = 0;
    proxy.chunkMinLength = undefined;
    proxy.tagPageSize = undefined;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await proxy?.stop();
  });
  return {
    get proxy(): BearerProxy {
      if (!proxy) throw new Error('the bearer proxy starts in beforeAll');
      return proxy;
    },
    get dir(): string {
      if (!dir) throw new Error('the scratch folder is made in beforeAll');
      return dir;
    },
    keep: (client) => {
      clients.push(client);
      return client;
    },
  };
}
