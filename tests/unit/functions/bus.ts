/**
 * An in-process stand-in for ApiServerSource + Broker over MemoryKube: every watch change becomes a Hint
 * delivered to each stage that routes it, until the pipeline is quiet. Transient failures are redelivered.
 */
import { MemoryKube } from '../../../functions/adapters/memory-kube.js';
import { TransientError, type Hint, type KubeObject, type Stage, type StageResult } from '../../../shared/ports/index.js';

export interface BusOptions {
  /** Reference mode: hints carry no object (handlers must look everything up) */
  reference?: boolean;
  /** deliver each hint twice (at-least-once) */
  duplicate?: boolean;
  /** deliver in a pseudo-random order (no ordering guarantee), seeded */
  shuffleSeed?: number;
}

export class Bus {
  private readonly queue: Array<{ hint: Hint; attempts: number }> = [];
  private rnd: () => number;
  readonly results: Array<{ stage: string; hint: Hint; result?: StageResult; error?: string }> = [];
  delivered = 0;

  constructor(
    readonly kube: MemoryKube,
    readonly stages: Stage[],
    readonly opts: BusOptions = {},
  ) {
    let seed = opts.shuffleSeed ?? 1;
    this.rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    kube.watch((action, obj) =>
      this.push({ type: 'object', action, ref: refOf(obj), ...(opts.reference ? {} : { object: obj }) }),
    );
  }

  push(hint: Hint): void {
    this.queue.push({ hint, attempts: 0 });
    if (this.opts.duplicate) this.queue.push({ hint, attempts: 0 });
  }

  private next(): { hint: Hint; attempts: number } {
    if (this.opts.shuffleSeed === undefined) return this.queue.shift()!;
    const i = Math.floor(this.rnd() * this.queue.length);
    return this.queue.splice(i, 1)[0]!;
  }

  resync(): void {
    this.push({ type: 'resync' });
  }

  /** Delivers until nothing is left; throws if it does not settle within `max` deliveries. */
  async drain(max = 2000): Promise<void> {
    while (this.queue.length > 0) {
      if (this.delivered++ > max) throw new Error(`bus did not settle after ${max} deliveries`);
      const item = this.next();
      for (const stage of this.stages) {
        if (!stage.routes(item.hint)) continue;
        try {
          const result = await stage.handle(item.hint);
          this.results.push({ stage: stage.name, hint: item.hint, result });
        } catch (err) {
          this.results.push({ stage: stage.name, hint: item.hint, error: String(err) });
          if (err instanceof TransientError && item.attempts < 5) this.queue.push({ hint: item.hint, attempts: item.attempts + 1 });
          else if (!(err instanceof TransientError)) throw err;
        }
      }
    }
  }
}

function refOf(obj: KubeObject) {
  return { apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
}
