/**
 * A list+watch cache of our kinds, one client-node ListWatch per kind, started on first use.
 *
 * Why: a no-op event (input unchanged) re-reads three or four objects; as API requests that capped one instance at
 * ~130 events/s (bench/README.md "Event throughput"). Served from a watch, those reads cost no request at all, and a
 * resync or a Snapshot event that lists a namespace no longer costs a LIST per event (which grew with the square of
 * the number of objects at scale).
 *
 * This module only keeps the data and says how far each kind's watch has got (`watermark`); deciding when cached
 * data is fresh enough for a given read is the caller's (functions/adapters/cached-kube.ts).
 */
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { toKubeError } from './errors.js';
import { gvrOf, type KubeClient } from './client.js';
import type { OurKind } from './schema/kinds/index.js';
import type { SchemaObject } from './types.js';

export type CacheState = 'starting' | 'ready' | 'failed';

export interface WatchCacheOptions {
  /** first and largest delay before restarting a failed list/watch (doubles in between) */
  retryMs?: { min: number; max: number };
  /** called when a kind's list/watch fails (it is retried; reads go to the API meanwhile) */
  onError?: (kind: OurKind, err: Error) => void;
}

interface Entry {
  informer: ListWatch<KubernetesObject>;
  state: CacheState;
  retryMs: number;
  timer?: NodeJS.Timeout;
}

/**
 * resourceVersions as numbers, for "has the watch got this far". KEP-5504 (stable in Kubernetes 1.35) made them
 * comparable as positive decimal integers between objects of the same resource; older etcd-backed API servers
 * already hand out the etcd revision. Anything else (or beyond 2^53) is "not comparable", and the caller then reads
 * from the API.
 */
export function revision(resourceVersion: string | undefined): number | undefined {
  if (resourceVersion === undefined || !/^[1-9][0-9]{0,15}$/.test(resourceVersion)) return undefined;
  const n = Number(resourceVersion);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `O`: the object type callers see (the stages' port has its own, looser KubeObject view; the data is the API's JSON). */
export class WatchCache<O = SchemaObject> {
  private readonly entries = new Map<OurKind, Entry>();
  private readonly watch: Watch;
  private closed = false;
  private readonly retry: { min: number; max: number };

  constructor(
    kubeConfig: KubeConfig,
    private readonly client: Pick<KubeClient, 'custom'>,
    private readonly opts: WatchCacheOptions = {},
  ) {
    this.watch = new Watch(kubeConfig);
    this.retry = opts.retryMs ?? { min: 1000, max: 30_000 };
  }

  /** Where `kind`'s cache is; starts its list+watch on the first call. */
  state(kind: OurKind): CacheState {
    return this.entry(kind).state;
  }

  /** The newest resourceVersion the kind's watch has delivered, once it is ready. */
  watermark(kind: OurKind): number | undefined {
    const e = this.entry(kind);
    return e.state === 'ready' ? revision(e.informer.latestResourceVersion()) : undefined;
  }

  /** The cached object (shared with the cache: do not mutate), or undefined when absent or not ready. */
  get(kind: OurKind, namespace: string, name: string): O | undefined {
    const e = this.entry(kind);
    return e.state === 'ready' ? (e.informer.get(name, namespace) as O | undefined) : undefined;
  }

  /** Cached objects of a kind (all namespaces when undefined); undefined when the cache is not ready. */
  list(kind: OurKind, namespace?: string): readonly O[] | undefined {
    const e = this.entry(kind);
    return e.state === 'ready' ? (e.informer.list(namespace) as readonly O[]) : undefined;
  }

  /** Resolves when `kind` is ready (or failed); for tests and warm-up. */
  async ready(kind: OurKind, timeoutMs = 10_000): Promise<CacheState> {
    const deadline = Date.now() + timeoutMs;
    while (this.state(kind) !== 'ready' && Date.now() < deadline && !this.closed) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.state(kind);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const e of this.entries.values()) {
      clearTimeout(e.timer);
      await e.informer.stop();
    }
  }

  private entry(kind: OurKind): Entry {
    let e = this.entries.get(kind);
    if (e) return e;
    const gvr = gvrOf(kind);
    const path = `/apis/${gvr.group}/${gvr.version}/${gvr.plural}`;
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> =>
      (await this.client.custom.listCustomObjectForAllNamespaces({ ...gvr })) as KubernetesListObject<KubernetesObject>;
    const informer = new ListWatch<KubernetesObject>(path, this.watch, list, false);
    const created: Entry = { informer, state: 'starting', retryMs: this.retry.min };
    e = created;
    this.entries.set(kind, created);
    informer.on('error', (err) => this.failed(kind, created, err));
    // managedFields are most of a stored object and no reader needs them: less memory, cheaper copies
    const slim = (obj: KubernetesObject): void => {
      delete obj.metadata?.managedFields;
    };
    informer.on('add', slim);
    informer.on('update', slim);
    this.start(kind, created);
    return created;
  }

  private start(kind: OurKind, e: Entry): void {
    if (this.closed) return;
    e.state = 'starting';
    // start() resolves once the LIST is in and the WATCH is established; failures arrive through 'error'
    e.informer.start().then(
      () => {
        if (e.state === 'starting') {
          e.state = 'ready';
          e.retryMs = this.retry.min;
        }
      },
      (err: unknown) => this.failed(kind, e, err),
    );
  }

  private failed(kind: OurKind, e: Entry, err: unknown): void {
    if (this.closed || e.timer) return;
    e.state = 'failed';
    this.opts.onError?.(kind, toKubeError(err, `watch ${kind}`));
    const delay = e.retryMs * (0.5 + Math.random());
    e.retryMs = Math.min(e.retryMs * 2, this.retry.max);
    e.timer = setTimeout(() => {
      e.timer = undefined;
      this.start(kind, e);
    }, delay);
    e.timer.unref();
  }
}
