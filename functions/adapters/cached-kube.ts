/**
 * A KubePort that answers reads from a watch cache (shared/kube/watch-cache.ts) when that is safe, and from the
 * API otherwise. Writes always go to the API.
 *
 * "Safe" follows controller-runtime's contract, adapted to events that come from another watch (ApiServerSource)
 * than our cache: before a stage handles an event about object X at resourceVersion R, `observe(X)` records R, and
 * reads of X come from the cache only once the cache's watch of X's kind has got to R or beyond; until then they go
 * to the API. Reads of other objects may be a little behind, as in any informer-based controller: a change to them
 * arrives as its own event, which is then handled with that object fresh. After our own writes the written object
 * (or "newer than what we had") is remembered, so a stage never reads back something older than it wrote.
 * Resync ticks and Reference-mode events (no resourceVersion to compare) bypass the cache entirely (`direct`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kind, KubeObject, KubePort, ObjectKey, Stage, StatusPatch } from '../../shared/ports/index.js';
import { isOurKind, revision, type OurKind } from '../../shared/kube/index.js';

/** What this adapter needs from a cache (WatchCache implements it). */
export interface ObjectCacheView {
  state(kind: OurKind): 'starting' | 'ready' | 'failed';
  watermark(kind: OurKind): number | undefined;
  get(kind: OurKind, namespace: string, name: string): KubeObject | undefined;
  list(kind: OurKind, namespace?: string): readonly KubeObject[] | undefined;
  close(): Promise<void>;
}

export interface CachedKube extends KubePort {
  /** The caller has seen `obj` at its resourceVersion (from an event): reads of it must be at least that fresh. */
  observe(obj: KubeObject): void;
  /** Runs `fn` with every read going to the API. */
  direct<T>(fn: () => Promise<T>): Promise<T>;
  /** reads answered from the cache / from the API (for metrics, benchmarks and tests) */
  readonly reads: { cached: number; api: number };
  close(): Promise<void>;
}

const keyString = (k: ObjectKey): string => `${k.kind}/${k.namespace}/${k.name}`;
const revOf = (o: KubeObject | undefined): number | undefined => revision(o?.metadata.resourceVersion);

export function cachedKubePort(inner: KubePort, cache: ObjectCacheView): CachedKube {
  const bypass = new AsyncLocalStorage<true>();
  /** the oldest revision a read of the key may return */
  const required = new Map<string, number>();
  /** objects we wrote or read from the API that the watch may not have delivered yet */
  const recent = new Map<string, KubeObject>();
  const reads = { cached: 0, api: 0 };

  function cacheable(kind: Kind): kind is OurKind {
    return bypass.getStore() === undefined && isOurKind(kind) && cache.state(kind) === 'ready';
  }

  /** The newest copy we know of without asking the API (the cache's, or one we wrote or read since). */
  function newest(key: ObjectKey & { kind: OurKind }): KubeObject | undefined {
    const id = keyString(key);
    const cached = cache.get(key.kind, key.namespace, key.name);
    const mine = recent.get(id);
    if (!mine) return cached;
    const r = revOf(mine) ?? 0;
    const watermark = cache.watermark(key.kind);
    if (watermark !== undefined && watermark >= r) {
      recent.delete(id);
      return cached;
    }
    return (revOf(cached) ?? 0) < r ? mine : cached;
  }

  /** `newest`, or 'stale' when that is older than an event told us the object is. */
  function lookup(key: ObjectKey & { kind: OurKind }): KubeObject | undefined | 'stale' {
    const id = keyString(key);
    const best = newest(key);
    const need = required.get(id);
    if (need === undefined) return best;
    const watermark = cache.watermark(key.kind);
    if (watermark !== undefined && watermark >= need) {
      required.delete(id);
      return best;
    }
    return (revOf(best) ?? 0) >= need ? best : 'stale';
  }

  function remember(obj: KubeObject | undefined): void {
    if (obj && isOurKind(obj.kind) && revOf(obj) !== undefined) recent.set(keyString({ kind: obj.kind, ...nsName(obj) }), obj);
  }

  /** After a write that returns no object: reads must now see something newer than what we had. */
  function invalidate(key: ObjectKey): void {
    if (!isOurKind(key.kind)) return;
    const id = keyString(key);
    const known = Math.max(revOf(recent.get(id)) ?? 0, revOf(cache.get(key.kind, key.namespace, key.name)) ?? 0, required.get(id) ?? 0);
    recent.delete(id);
    required.set(id, known + 1);
  }

  /** A write whose result we do not get back as an object: whatever it did, what we had is now older. */
  const invalidating = <R>(key: ObjectKey, write: () => Promise<R>): Promise<R> => write().finally(() => invalidate(key));

  const port: CachedKube = {
    reads,

    observe(obj: KubeObject): void {
      if (!isOurKind(obj.kind)) return;
      const id = keyString({ kind: obj.kind, ...nsName(obj) });
      // not comparable: never trust the cache for this object
      const r = revOf(obj) ?? Number.POSITIVE_INFINITY;
      if ((required.get(id) ?? 0) < r) required.set(id, r);
    },

    direct<T>(fn: () => Promise<T>): Promise<T> {
      return bypass.run(true, fn);
    },

    async get<T extends KubeObject>(key: ObjectKey): Promise<T | undefined> {
      if (cacheable(key.kind)) {
        const hit = lookup({ ...key, kind: key.kind });
        if (hit !== 'stale') {
          reads.cached++;
          // copies: handlers may modify what they read, and the cache's objects are shared
          return hit === undefined ? undefined : (structuredClone(hit) as T);
        }
      }
      reads.api++;
      const obj = await inner.get<T>(key);
      remember(obj);
      return obj;
    },

    async list<T extends KubeObject>(kind: Kind, namespace?: string): Promise<T[]> {
      if (!cacheable(kind)) {
        reads.api++;
        return inner.list<T>(kind, namespace);
      }
      reads.cached++;
      const out: T[] = [];
      // a list may be a little behind (the callers re-read each object they act on); it only takes our own writes
      for (const obj of cache.list(kind, namespace) ?? []) {
        out.push(structuredClone(newest({ kind, ...nsName(obj) }) ?? obj) as T);
      }
      // objects we created that the watch has not delivered yet
      for (const [id, obj] of recent) {
        if (id.startsWith(`${kind}/`) && (namespace === undefined || obj.metadata.namespace === namespace)) {
          if (!cache.get(kind, obj.metadata.namespace, obj.metadata.name)) out.push(structuredClone(obj) as T);
        }
      }
      return out;
    },

    patchStatus: (key: ObjectKey, patch: StatusPatch) => invalidating(key, () => inner.patchStatus(key, patch)),

    async upsert<T extends KubeObject>(obj: T): Promise<T> {
      const stored = await inner.upsert(obj);
      remember(stored);
      return stored;
    },

    removeFinalizer: (key: ObjectKey, finalizer: string) => invalidating(key, () => inner.removeFinalizer(key, finalizer)),
    delete: (key: ObjectKey) => invalidating(key, () => inner.delete(key)),

    getSecret: (namespace, name) => inner.getSecret(namespace, name),
    getConfigMap: (namespace, name) => inner.getConfigMap(namespace, name),
    emitEvent: (regarding, type, reason, message) => inner.emitEvent(regarding, type, reason, message),
    close: () => cache.close(),
  };
  return port;
}

function nsName(obj: KubeObject): { namespace: string; name: string } {
  return { namespace: obj.metadata.namespace, name: obj.metadata.name };
}

/**
 * Wraps a stage so every event declares what it has seen before the stage reads: the object of a Resource-mode
 * event is observed; resync ticks and events without a resourceVersion read everything from the API.
 */
export function withFreshReads(stage: Stage, kube: CachedKube): Stage {
  return {
    name: stage.name,
    routes: (hint) => stage.routes(hint),
    handle(hint, ctx) {
      if (hint.type === 'object' && hint.object?.metadata?.resourceVersion !== undefined) {
        kube.observe(hint.object);
        return stage.handle(hint, ctx);
      }
      return kube.direct(() => stage.handle(hint, ctx));
    },
  };
}
