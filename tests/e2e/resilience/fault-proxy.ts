/**
 * A TCP proxy that breaks things on purpose, for resilience tests. It sits between a function and a service
 * (registry, kube-apiserver) and, on a seeded-random fraction of HTTP requests, resets the connection, answers
 * 503 itself, delays the request, or cuts the response short. With `tls` it terminates TLS towards the client
 * (a cert signed by the run's CA) and re-originates it towards the upstream, so HTTP-level faults also reach
 * HTTPS services.
 *
 * Requests are found without parsing HTTP: clients here (undici, node:https) never pipeline, so a request
 * always starts a fresh write after the previous response ended, and a chunk that starts with a request line
 * is the start of a request. A body chunk that happened to start like a request line would only draw one more
 * fault, which the tests tolerate by design.
 */
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { TLSSocket, connect as tlsConnect, createSecureContext, type SecureContext } from 'node:tls';

export interface FaultRates {
  /** connection reset (RST) instead of forwarding the request */
  reset: number;
  /** `503 Service Unavailable` answered by the proxy, then the connection closes */
  http503: number;
  /** the request is held for `latencyMs` before it is forwarded */
  latency: number;
  /** the response is cut (RST) after `truncateAfterBytes` bytes */
  truncate: number;
}

export interface FaultProxyOptions {
  /** upstream host:port */
  target: { host: string; port: number };
  /** faults per request (fractions 0..1, drawn in this order); default none */
  faults?: Partial<FaultRates>;
  /** inclusive range of injected latency, ms */
  latencyMs?: [number, number];
  truncateAfterBytes?: number;
  /** PRNG seed: the same seed gives the same sequence of decisions */
  seed?: number;
  /** terminate TLS: our serving cert/key, and the CA that signed the upstream's cert */
  tls?: { cert: string | Buffer; key: string | Buffer; upstreamCa: string | Buffer };
  /** called for every chunk sent towards the upstream with the running total of request bytes */
  onUpstreamBytes?: (total: number) => void;
}

export interface FaultStats {
  connections: number;
  requests: number;
  resets: number;
  http503: number;
  delayed: number;
  truncated: number;
  bytesUp: number;
  bytesDown: number;
}

/** mulberry32: small, fast, seedable; enough for choosing faults */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REQUEST_LINE = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \/\S* HTTP\/1\.[01]\r\n/;
const NO_FAULTS: FaultRates = { reset: 0, http503: 0, latency: 0, truncate: 0 };

type Fault = 'reset' | 'http503' | 'latency' | 'truncate' | undefined;

export class FaultProxy {
  readonly stats: FaultStats = { connections: 0, requests: 0, resets: 0, http503: 0, delayed: 0, truncated: 0, bytesUp: 0, bytesDown: 0 };
  private faults: FaultRates;
  private readonly random: () => number;
  private readonly sockets = new Set<Socket>();
  private server?: Server;
  private port = 0;

  private constructor(private readonly opts: FaultProxyOptions) {
    this.faults = { ...NO_FAULTS, ...opts.faults };
    this.random = seededRandom(opts.seed ?? 1);
  }

  static async start(opts: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(opts);
    await proxy.listen();
    return proxy;
  }

  /** host:port clients connect to */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://${this.host}`;
  }

  /** Change the fault rates from now on (e.g. turn faults off to let the pipeline finish). */
  setFaults(faults: Partial<FaultRates>): void {
    this.faults = { ...NO_FAULTS, ...faults };
  }

  /** Reset every open connection now (a registry or API server restart, as seen by clients). */
  dropAll(): void {
    for (const s of this.sockets) if (!(s instanceof TLSSocket)) s.resetAndDestroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private draw(): Fault {
    const r = this.random();
    const f = this.faults;
    let edge = f.reset;
    if (r < edge) return 'reset';
    if (r < (edge += f.http503)) return 'http503';
    if (r < (edge += f.latency)) return 'latency';
    if (r < (edge += f.truncate)) return 'truncate';
    return undefined;
  }

  private latency(): number {
    const [lo, hi] = this.opts.latencyMs ?? [50, 400];
    return Math.round(lo + this.random() * (hi - lo));
  }

  private async listen(): Promise<void> {
    const tls = this.opts.tls;
    const context: SecureContext | undefined = tls ? createSecureContext({ cert: tls.cert, key: tls.key }) : undefined;
    // TLS is layered by hand over the raw socket, which is kept: only a raw TCP socket can be reset (RST)
    this.server = createNetServer((raw) => {
      const client = context ? new TLSSocket(raw, { isServer: true, secureContext: context, ALPNProtocols: ['http/1.1'] }) : raw;
      this.onConnection(client, raw);
    });
    this.server.on('error', () => undefined);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
  }

  private onConnection(client: Socket, raw: Socket): void {
    this.stats.connections++;
    this.track(client);
    if (raw !== client) this.track(raw);
    const { host, port } = this.opts.target;
    const tls = this.opts.tls;
    const upstream: Socket = tls
      ? tlsConnect({ host, port, ca: tls.upstreamCa, ALPNProtocols: ['http/1.1'] })
      : netConnect({ host, port });
    this.track(upstream);
    let cutAfter: number | undefined;
    let downSinceCut = 0;
    let queue: Promise<void> = Promise.resolve();
    const kill = (): void => {
      raw.resetAndDestroy();
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());

    client.on('data', (chunk: Buffer) => {
      // chunks go out strictly in order even when one of them is delayed
      queue = queue.then(async () => {
        if (client.destroyed || upstream.destroyed) return;
        if (REQUEST_LINE.test(chunk.subarray(0, 8192).toString('latin1'))) {
          this.stats.requests++;
          cutAfter = undefined;
          const fault = this.draw();
          if (fault === 'reset') {
            this.stats.resets++;
            return kill();
          }
          if (fault === 'http503') {
            this.stats.http503++;
            const body = 'fault proxy: injected 503\n';
            client.end(
              `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
            );
            upstream.destroy();
            return;
          }
          if (fault === 'latency') {
            this.stats.delayed++;
            client.pause();
            await new Promise((r) => setTimeout(r, this.latency()));
            client.resume();
          }
          if (fault === 'truncate') {
            cutAfter = this.opts.truncateAfterBytes ?? 100;
            downSinceCut = 0;
          }
        }
        this.stats.bytesUp += chunk.length;
        this.opts.onUpstreamBytes?.(this.stats.bytesUp);
        if (!upstream.write(chunk)) client.pause();
      });
    });
    upstream.on('drain', () => client.resume());
    client.on('drain', () => upstream.resume());
    upstream.on('data', (chunk: Buffer) => {
      this.stats.bytesDown += chunk.length;
      if (cutAfter !== undefined) {
        const room = cutAfter - downSinceCut;
        if (chunk.length >= room) {
          this.stats.truncated++;
          cutAfter = undefined;
          client.write(chunk.subarray(0, Math.max(0, room)), () => kill());
          // a client that stopped reading must not keep the cut connection open
          setTimeout(kill, 200).unref();
          return;
        }
        downSinceCut += chunk.length;
      }
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('end', () => void queue.then(() => upstream.end()));
    upstream.on('end', () => client.end());
  }
}
