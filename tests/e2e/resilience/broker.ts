/**
 * A Broker stand-in with adjustable delivery semantics, for resilience tests. The event source is
 * tests/support/eventing-driver.ts's EventingDriver (real watches, events shaped as ApiServerSource's): this class
 * extends it and takes over `publish`, so what the source emits lands in our queue instead of being posted at
 * once. From the queue events go to the functions with Knative's at-least-once rules (retry on network errors,
 * 404/408/409/429/5xx, exponential backoff, dead letters), plus what a real broker may do on a bad day:
 * deliver every event `copies` times, hold each copy a random while so they overtake each other, and run
 * `concurrency` deliveries at once. `ordered()` is the opposite: one at a time, first in first out, once.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { pingSourceEvent, toBinaryMessage, type CloudEvent } from '../../../shared/cloudevents/index.js';
import { EventingDriver, isResyncTick, RESYNC_EXTENSIONS } from '../../support/eventing-driver.js';
import { seededRandom } from './fault-proxy.js';

export interface BrokerSubscriber {
  stage: string;
  url: string;
  kinds: string[];
}

export interface DeliveryMode {
  /** deliveries of each event to each matching subscriber */
  copies: number;
  /** deliveries in flight at once */
  concurrency: number;
  /** each copy waits a random 0..holdMs before it may go (0 = first in, first out) */
  holdMs: number;
  /** attempts after the first (Knative Broker default: 10) */
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
  seed: number;
}

export interface Delivered {
  stage: string;
  eventId: string;
  type: string;
  subject?: string;
  status: number;
  attempts: number;
  body: string;
}

interface Job {
  sub: BrokerSubscriber;
  event: CloudEvent<unknown>;
  attempt: number;
  notBefore: number;
}

const RETRIED = (status: number): boolean => status === 0 || status === 404 || status === 408 || status === 409 || status === 429 || status >= 500;
export const ORDERED: DeliveryMode = { copies: 1, concurrency: 1, holdMs: 0, retries: 10, backoffMs: 100, maxBackoffMs: 2000, seed: 1 };

export class ChaosBroker extends EventingDriver {
  readonly delivered: Delivered[] = [];
  readonly dead: Delivered[] = [];
  /** events the source produced (before copies and fan-out) */
  readonly published: CloudEvent<unknown>[] = [];
  private readonly queue: Job[] = [];
  private running = 0;
  private halted = false;
  private readonly random: () => number;
  private timer?: NodeJS.Timeout;
  maxInFlight = 0;

  constructor(
    kc: KubeConfig,
    private readonly subs: BrokerSubscriber[],
    private readonly mode: DeliveryMode,
    source: string,
  ) {
    super(kc, [], { source });
    this.random = seededRandom(mode.seed);
  }

  override publish(event: CloudEvent<unknown>): void {
    if (this.halted) return;
    this.published.push(event);
    const kind = event['kind'];
    for (const sub of this.subs) {
      const apiEvent = event.type.startsWith('dev.knative.apiserver.');
      // as the shipped Triggers: a resync tick (type + the PingSource's extension) goes to every stage, other pings to none
      if (!isResyncTick(event) && !(apiEvent && typeof kind === 'string' && sub.kinds.includes(kind))) continue;
      for (let i = 0; i < this.mode.copies; i++) {
        const hold = this.mode.holdMs > 0 ? Math.floor(this.random() * this.mode.holdMs) : 0;
        this.queue.push({ sub, event, attempt: 0, notBefore: Date.now() + hold });
      }
    }
    this.pump();
  }

  /**
   * A PingSource resync tick, scoped (PingSource data `{namespace}`) to the namespace this broker watches:
   * namespaces of other tests may hold objects whose Snapshots live in another registry, and resyncing them
   * through this test's functions would measure those, not this test.
   */
  override ping(): void {
    this.publish(pingSourceEvent({ namespace: 'ocm-system', name: 'resync', extensions: RESYNC_EXTENSIONS, ...(this.scope ? { data: { namespace: this.scope } } : {}) }));
  }

  private scope?: string;

  override async watch(namespace: string, resources: Array<{ group: string; version: string; plural: string }>): Promise<void> {
    this.scope = namespace;
    await super.watch(namespace, resources);
  }

  private pump(): void {
    if (this.halted) return;
    const now = Date.now();
    while (this.running < this.mode.concurrency) {
      const ready = this.queue.map((j, i) => [j, i] as const).filter(([j]) => j.notBefore <= now);
      if (ready.length === 0) break;
      // FIFO when not shuffling; otherwise any ready job
      const pick = this.mode.holdMs > 0 ? ready[Math.floor(this.random() * ready.length)]! : ready[0]!;
      this.queue.splice(pick[1], 1);
      this.running++;
      this.maxInFlight = Math.max(this.maxInFlight, this.running);
      void this.attempt(pick[0]).finally(() => {
        this.running--;
        this.pump();
      });
    }
    if (this.queue.length > 0 && !this.timer) {
      const next = Math.max(5, Math.min(...this.queue.map((j) => j.notBefore)) - now);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, next);
    }
  }

  private async attempt(job: Job): Promise<void> {
    const msg = toBinaryMessage(job.event);
    let status = 0;
    let body = '';
    try {
      const res = await request(job.sub.url, {
        method: 'POST',
        headers: { ...msg.headers },
        body: msg.body,
        headersTimeout: 180_000,
        bodyTimeout: 180_000,
      });
      status = res.statusCode;
      body = await res.body.text();
    } catch (err) {
      body = String(err);
    }
    const record: Delivered = {
      stage: job.sub.stage,
      eventId: job.event.id,
      type: job.event.type,
      ...(job.event.subject ? { subject: job.event.subject } : {}),
      status,
      attempts: job.attempt + 1,
      body: body.slice(0, 500),
    };
    if (RETRIED(status) && !this.halted) {
      if (job.attempt < this.mode.retries) {
        const delay = Math.min(this.mode.maxBackoffMs, this.mode.backoffMs * 2 ** job.attempt);
        this.queue.push({ ...job, attempt: job.attempt + 1, notBefore: Date.now() + delay });
        return;
      }
      this.dead.push(record);
    }
    this.delivered.push(record);
  }

  get pending(): number {
    return this.queue.length + this.running;
  }

  /** Resolves once nothing is queued or in flight for `quietMs`. */
  override async settle(quietMs = 500, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quietSince = Date.now();
    for (;;) {
      if (this.pending > 0) quietSince = Date.now();
      else if (Date.now() - quietSince >= quietMs) return;
      if (Date.now() > deadline) throw new Error(`broker: ${this.pending} deliveries still pending after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  override async stop(): Promise<void> {
    this.halted = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue.length = 0;
    await super.stop();
  }
}
