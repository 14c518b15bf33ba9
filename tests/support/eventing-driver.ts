/**
 * A light stand-in for Knative eventing (the real one runs in tests/e2e/knative, slower to start): an ApiServerSource
 * (mode Resource) over real watches of
 * the test API server, and a Broker with one Trigger per (stage, kind). Events are built by shared/cloudevents'
 * builder exactly as the receive adapter shapes them; delivery follows the Broker's rules: concurrent, unordered,
 * retried on network errors and 404/408/409/429/5xx with exponential backoff, replies re-published, dead letters
 * kept. A PingSource tick is `ping()`.
 */
import { CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import {
  apiServerSourceEvent,
  parseHttpEvent,
  pingSourceEvent,
  toBinaryMessage,
  type CloudEvent,
  type KubeObjectLike,
} from '../../shared/cloudevents/index.js';

export interface Subscriber {
  stage: string;
  url: string;
  /** Trigger filters: `kind` extension values this subscriber gets (plus every ping) */
  kinds: string[];
}

export interface DeliveryRecord {
  stage: string;
  type: string;
  subject?: string;
  status: number;
  attempts: number;
  ms: number;
  /** why the first attempt failed, when there was more than one ("HTTP 503" or the transport error) */
  firstFailure?: string;
}

const RETRIED = (status: number) => status === 404 || status === 408 || status === 409 || status === 429 || status >= 500;
const PING = 'dev.knative.sources.ping';
/**
 * The shipped PingSource (knative/eventing/pingsource.yaml): its source, data and the extension (ceOverrides) the
 * shipped resync Triggers filter on, with the type.
 */
const RESYNC = { namespace: 'ocm-knative-system', name: 'ocm-knative-resync', data: { reason: 'resync' }, extensions: { ocmknative: 'resync' } };

/** What the shipped resync Triggers match: the ping type and the PingSource's `ocmknative` extension (not its source). */
export function isResyncTick(event: CloudEvent<unknown>): boolean {
  return event.type === PING && event['ocmknative'] === RESYNC.extensions.ocmknative;
}

/** The extension the shipped PingSource sets (ceOverrides), for stand-ins that tick with their own source and data. */
export const RESYNC_EXTENSIONS = RESYNC.extensions;

export class EventingDriver {
  readonly deliveries: DeliveryRecord[] = [];
  readonly deadLetters: Array<{ stage: string; event: CloudEvent<unknown>; status: number; body: string }> = [];
  private readonly inflight = new Set<Promise<void>>();
  private readonly aborts: AbortController[] = [];
  private stopped = false;
  /** events sent by the source (before fan-out) */
  sent = 0;
  /** reply events the functions answered with (re-published into the broker) */
  readonly replies: CloudEvent<unknown>[] = [];

  constructor(
    private readonly kc: KubeConfig,
    private readonly subscribers: Subscriber[],
    private readonly opts: { retries?: number; backoffMs?: number; source?: string } = {},
  ) {}

  /** Starts watching `plural`s of our group in `namespace` from now (ApiServerSource emits nothing for the initial list). */
  async watch(namespace: string, resources: Array<{ group: string; version: string; plural: string }>): Promise<void> {
    await Promise.all(resources.map((r) => this.watchOne(namespace, r)));
  }

  private async watchOne(namespace: string, r: { group: string; version: string; plural: string }): Promise<void> {
    const path = `/apis/${r.group}/${r.version}/namespaces/${namespace}/${r.plural}`;
    const start = async (resourceVersion?: string): Promise<void> => {
      let last = resourceVersion;
      const w = new Watch(this.kc);
      const ac = await w.watch(
        path,
        { allowWatchBookmarks: true, ...(last ? { resourceVersion: last } : {}) },
        (phase: string, obj: KubeObjectLike) => {
          if (phase === 'BOOKMARK') {
            last = obj.metadata.resourceVersion ?? last;
            return;
          }
          const op = phase === 'ADDED' ? 'add' : phase === 'MODIFIED' ? 'update' : phase === 'DELETED' ? 'delete' : undefined;
          if (!op) return;
          last = obj.metadata.resourceVersion ?? last;
          this.publish(apiServerSourceEvent({ mode: 'Resource', op, object: obj, ...(this.opts.source ? { source: this.opts.source } : {}) }));
        },
        () => {
          // watches drop; resume from the last seen resourceVersion like the adapter's reflector
          if (!this.stopped) setTimeout(() => void start(last).catch(() => undefined), 50);
        },
      );
      this.aborts.push(ac);
    };
    // list first so the watch starts "now": existing objects produce no events, as with ApiServerSource
    const res = await retry429(() =>
      this.kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group: r.group, version: r.version, namespace, plural: r.plural }),
    );
    await start((res as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion);
  }

  private ingress?: Server;

  /**
   * Broker ingress over HTTP, for a real event source (Knative's apiserver_receive_adapter with K_SINK pointing
   * here): 202 for each accepted event, 400 for what is not a CloudEvent.
   */
  async listen(): Promise<string> {
    this.ingress = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const event = parseHttpEvent(req.headers, Buffer.concat(chunks));
          this.received.push(event);
          this.publish(event);
          res.writeHead(202).end();
        } catch (err) {
          res.writeHead(400).end(String(err));
        }
      });
    });
    await new Promise<void>((resolve) => this.ingress!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.ingress.address() as AddressInfo).port}/`;
  }

  /** events that came in through the HTTP ingress */
  readonly received: CloudEvent<unknown>[] = [];

  /** A tick of the shipped PingSource (knative/eventing/pingsource.yaml: its source and data). */
  ping(): void {
    this.publish(pingSourceEvent(RESYNC));
  }

  /** Broker ingress: fan out to every matching Trigger, concurrently. */
  publish(event: CloudEvent<unknown>): void {
    if (this.stopped) return;
    this.sent++;
    for (const sub of this.subscribers) {
      // Triggers filter on type and the kind extension (docs/design.md §4), so reply events do not loop back into stages
      const kind = event['kind'];
      const apiEvent = event.type.startsWith('dev.knative.apiserver.');
      // the resync Triggers match the ping's type and the `ocmknative` extension (a ping of another PingSource reaches no stage)
      const resync = isResyncTick(event);
      if (!resync && !(apiEvent && typeof kind === 'string' && sub.kinds.includes(kind))) continue;
      const p = this.deliver(sub, event).finally(() => this.inflight.delete(p));
      this.inflight.add(p);
    }
  }

  private async deliver(sub: Subscriber, event: CloudEvent<unknown>): Promise<void> {
    const retries = this.opts.retries ?? 8;
    const backoff = this.opts.backoffMs ?? 50;
    const msg = toBinaryMessage(event);
    const t0 = Date.now();
    let status = 0;
    let body = '';
    let firstFailure: string | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, backoff * 2 ** (attempt - 1)));
      if (this.stopped) return;
      try {
        const res = await request(sub.url, {
          method: 'POST',
          headers: { ...msg.headers, prefer: 'reply' },
          body: msg.body,
          headersTimeout: 120_000,
          bodyTimeout: 120_000,
        });
        status = res.statusCode;
        body = await res.body.text();
        if (!RETRIED(status)) {
          this.deliveries.push({ stage: sub.stage, type: event.type, subject: event.subject, status, attempts: attempt + 1, ms: Date.now() - t0, ...(firstFailure ? { firstFailure } : {}) });
          if (status >= 200 && status < 300 && res.headers['ce-type']) {
            // a reply: back into the broker, through every Trigger again
            const reply = parseHttpEvent(res.headers as Record<string, string>, body);
            this.replies.push(reply);
            this.publish(reply);
          }
          return;
        }
        firstFailure ??= `HTTP ${status}: ${body.slice(0, 120)}`;
      } catch (err) {
        status = 0;
        const e = err as { code?: string; message?: string };
        firstFailure ??= `${e.code ?? 'error'}: ${e.message ?? String(err)}`;
      }
    }
    this.deliveries.push({ stage: sub.stage, type: event.type, subject: event.subject, status, attempts: retries + 1, ms: Date.now() - t0, ...(firstFailure ? { firstFailure } : {}) });
    this.deadLetters.push({ stage: sub.stage, event, status, body });
  }

  /** Resolves when no delivery is in flight for `quietMs`. */
  async settle(quietMs = 300, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quietSince = Date.now();
    for (;;) {
      if (this.inflight.size > 0) quietSince = Date.now();
      else if (Date.now() - quietSince >= quietMs) return;
      if (Date.now() > deadline) throw new Error(`events still in flight after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const ac of this.aborts) ac.abort();
    if (this.ingress) await new Promise<void>((resolve) => this.ingress!.close(() => resolve()));
    await Promise.allSettled([...this.inflight]);
  }
}

/** A freshly installed CRD answers 429 "storage is (re)initializing" for a moment. */
export async function retry429<T>(fn: () => Promise<T>, attempts = 50): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: number }).code !== 429 || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
