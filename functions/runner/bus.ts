/**
 * The in-process stand-in for ApiServerSource + Broker + Triggers. Every object change becomes the CloudEvent
 * ApiServerSource would send (Resource mode), goes through the same HTTP binding and parser a function's server
 * uses, and is delivered to every stage whose trigger (`routes`) accepts it. Delivery is at least once: a
 * transient failure is redelivered with backoff, as the Broker would, so handlers must be idempotent — they are.
 *
 * Deliveries run one at a time: the runner favours a readable, reproducible log over parallelism; the
 * resilience tests exercise concurrent, duplicated and shuffled delivery against the real servers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { apiServerSourceEvent, parseHttpEvent, pingSourceEvent, toBinaryMessage, toHint, type CloudEvent } from '../../shared/cloudevents/index.js';
import type { KubeObject } from '../../shared/ports/kinds.js';
import { isTransient } from '../../shared/ports/errors.js';
import type { Hint, Stage, StageResult } from '../../shared/ports/stage.js';
import { toStageHint } from '../../shared/server/stage-adapter.js';

export interface Delivery {
  stage: Stage;
  hint: Hint;
  eventId: string;
  eventType: string;
  attempt: number;
}

export interface BusObserver {
  /** a stage finished one delivery */
  delivered?(d: Delivery, result: StageResult, ms: number): void;
  /** a delivery failed; `final` when it goes to the dead-letter list */
  failed?(d: Delivery, err: unknown, final: boolean): void;
}

export interface BusOptions {
  /** attempts per delivery before it is dead-lettered (Trigger `delivery.retry` + 1) */
  maxAttempts?: number;
  /** first backoff; doubles per attempt (Trigger `backoffPolicy: exponential`) */
  backoffMs?: number;
  /** a pipeline that does not settle after this many deliveries is a bug; stop rather than spin */
  maxDeliveries?: number;
  observer?: BusObserver;
}

export class InProcessBus {
  private readonly queue: Delivery[] = [];
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly maxDeliveries: number;
  readonly deadLetters: Array<{ delivery: Delivery; error: string }> = [];
  deliveries = 0;
  published = 0;

  constructor(
    private readonly stages: Stage[],
    private readonly opts: BusOptions = {},
  ) {
    this.maxAttempts = opts.maxAttempts ?? 5;
    this.backoffMs = opts.backoffMs ?? 100;
    this.maxDeliveries = opts.maxDeliveries ?? 20_000;
  }

  /** An object changed: what ApiServerSource's watch would turn into an event. */
  publishChange(op: 'add' | 'update' | 'delete', object: KubeObject): void {
    this.publish(apiServerSourceEvent({ mode: 'Resource', op, object: object as unknown as Parameters<typeof apiServerSourceEvent>[0]['object'] }));
  }

  /** A PingSource tick: every stage rechecks what it owns in `namespace` (everything when undefined). */
  publishResync(namespace?: string): void {
    this.publish(pingSourceEvent({ namespace: 'ocm-knative-system', name: 'resync', ...(namespace ? { data: { namespace } } : {}) }));
  }

  /** Runs deliveries until nothing is queued. Resolves with the number of deliveries made. */
  async drain(): Promise<number> {
    let made = 0;
    while (this.queue.length > 0) {
      if (this.deliveries >= this.maxDeliveries) {
        throw new Error(`the pipeline did not settle after ${this.maxDeliveries} deliveries (a stage keeps changing what it reads)`);
      }
      const d = this.queue.shift()!;
      this.deliveries++;
      made++;
      const started = performance.now();
      try {
        const result = await d.stage.handle(d.hint, { eventId: d.eventId });
        this.opts.observer?.delivered?.(d, result, performance.now() - started);
      } catch (err) {
        const retry = isTransient(err) && d.attempt < this.maxAttempts;
        this.opts.observer?.failed?.(d, err, !retry);
        if (retry) {
          await sleep(this.backoffMs * 2 ** (d.attempt - 1));
          this.queue.push({ ...d, attempt: d.attempt + 1 });
        } else {
          this.deadLetters.push({ delivery: d, error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    return made;
  }

  private publish(event: CloudEvent<unknown>): void {
    this.published++;
    // Through the wire format and back: the handlers see exactly what a function's HTTP server would give them.
    const message = toBinaryMessage(event);
    const hint = toStageHint(toHint(parseHttpEvent(message.headers, message.body)));
    for (const stage of this.stages) {
      if (stage.routes(hint)) this.queue.push({ stage, hint, eventId: event.id, eventType: event.type, attempt: 1 });
    }
  }
}
