/**
 * The in-process stand-in for ApiServerSource + Broker + Triggers. Every object change becomes the CloudEvent
 * ApiServerSource would send, goes through the same HTTP binding and parser a function's server uses, and is
 * delivered to every stage whose trigger (`routes`) accepts it. Delivery is at least once: a transient failure is
 * redelivered with backoff, as the Broker would, so handlers must be idempotent — they are.
 *
 * Deliveries run one at a time: the runner favours a readable, reproducible log over parallelism. By default
 * events go out in order, once, in Resource mode. The options give the rest of Knative's delivery contract
 * (docs/design.md §4) for tests: Reference mode, duplicates and no ordering (a seeded shuffle, so a failure
 * can be replayed); the resilience tests exercise concurrent delivery against the real servers.
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
  /**
   * ApiServerSource's mode: `Resource` (default) sends the object, `Reference` only its reference, so the
   * handlers must read everything themselves.
   */
  mode?: 'Resource' | 'Reference';
  /** deliver every event twice, as at-least-once delivery may */
  duplicate?: boolean;
  /** take the next delivery at a pseudo-random place in the queue (the Broker promises no order), from this seed */
  shuffleSeed?: number;
  /**
   * reject `drain()` with the error of a delivery that failed for good instead of putting it on the dead-letter
   * list: tests want a failure where it happens; the runner reports dead letters and goes on
   */
  failFast?: boolean;
}

/** A resync tick's scope, as the PingSource's JSON data gives it; none means every namespace and kind. */
export interface ResyncScope {
  namespace?: string;
  kinds?: string[];
}

export class InProcessBus {
  private readonly queue: Delivery[] = [];
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly maxDeliveries: number;
  private readonly random: (() => number) | undefined;
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
    this.random = opts.shuffleSeed === undefined ? undefined : parkMiller(opts.shuffleSeed);
  }

  /** An object changed: what ApiServerSource's watch would turn into an event. */
  publishChange(op: 'add' | 'update' | 'delete', object: KubeObject): void {
    this.publish(
      apiServerSourceEvent({
        mode: this.opts.mode ?? 'Resource',
        op,
        object: object as unknown as Parameters<typeof apiServerSourceEvent>[0]['object'],
      }),
    );
  }

  /** A PingSource tick: every stage rechecks what it owns in the scope (everything when none is given). */
  resync(scope: ResyncScope = {}): void {
    const data = { ...(scope.namespace ? { namespace: scope.namespace } : {}), ...(scope.kinds ? { kinds: scope.kinds } : {}) };
    this.publish(pingSourceEvent({ namespace: 'ocm-knative-system', name: 'resync', ...(Object.keys(data).length > 0 ? { data } : {}) }));
  }

  /**
   * Runs deliveries until nothing is queued. Resolves with the number of deliveries made; rejects when they pass
   * `maxDeliveries` (the constructor's, counted over the bus's life, or this call's own limit).
   */
  async drain(maxDeliveries?: number): Promise<number> {
    let made = 0;
    while (this.queue.length > 0) {
      if (this.deliveries >= this.maxDeliveries || (maxDeliveries !== undefined && made >= maxDeliveries)) {
        throw new Error(`the pipeline did not settle after ${maxDeliveries ?? this.maxDeliveries} deliveries (a stage keeps changing what it reads)`);
      }
      const d = this.next();
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
        } else if (this.opts.failFast) {
          throw err;
        } else {
          this.deadLetters.push({ delivery: d, error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    return made;
  }

  private next(): Delivery {
    const at = this.random ? Math.floor(this.random() * this.queue.length) : 0;
    return this.queue.splice(at, 1)[0]!;
  }

  private publish(event: CloudEvent<unknown>): void {
    this.published++;
    // Through the wire format and back: the handlers see exactly what a function's HTTP server would give them.
    const message = toBinaryMessage(event);
    const hint = toStageHint(toHint(parseHttpEvent(message.headers, message.body)));
    const copies = this.opts.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      for (const stage of this.stages) {
        if (stage.routes(hint)) this.queue.push({ stage, hint, eventId: event.id, eventType: event.type, attempt: 1 });
      }
    }
  }
}

/** Park-Miller minimal standard generator: tiny, and the same sequence for a seed on every platform. */
function parkMiller(seed: number): () => number {
  let state = seed % 2147483647 || 1;
  return () => (state = (state * 48271) % 2147483647) / 2147483647;
}
