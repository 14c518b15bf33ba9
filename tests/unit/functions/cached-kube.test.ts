/**
 * The freshness rule of the read cache, step by step with a cache whose progress the test controls (the real
 * WatchCache against a real apiserver is in tests/integration/kube/cached-kube.test.ts, where timing decides).
 */
import { describe, expect, it } from 'vitest';
import { cachedKubePort, withFreshReads, type ObjectCacheView } from '../../../functions/adapters/cached-kube.js';
import { MemoryKube } from '../../../functions/adapters/memory-kube.js';
import type { OurKind } from '../../../shared/kube/index.js';
import type { KubeObject, KubePort, Stage } from '../../../shared/ports/index.js';

const NS = 'ns';

/** A cache that holds what `deliver` gave it, as a watch would, and says how far it got. */
class ScriptedCache implements ObjectCacheView {
  readonly objects = new Map<string, KubeObject>();
  mark = 0;
  ready = true;
  state(): 'ready' | 'starting' {
    return this.ready ? 'ready' : 'starting';
  }
  watermark(): number | undefined {
    return this.ready ? this.mark : undefined;
  }
  get(kind: OurKind, namespace: string, name: string): KubeObject | undefined {
    return this.objects.get(`${kind}/${namespace}/${name}`);
  }
  list(kind: OurKind, namespace?: string): KubeObject[] {
    return [...this.objects.values()].filter((o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace));
  }
  deliver(obj: KubeObject): void {
    this.objects.set(`${obj.kind}/${obj.metadata.namespace}/${obj.metadata.name}`, structuredClone(obj));
    this.mark = Number(obj.metadata.resourceVersion);
  }
  async close(): Promise<void> {}
}

/** The API side (a MemoryKube) with a count of the reads that reach it. */
function counting(port: KubePort): KubePort & { calls: number } {
  const counted: KubePort & { calls: number } = {
    calls: 0,
    get: (k) => (counted.calls++, port.get(k)),
    list: (kind, ns) => (counted.calls++, port.list(kind, ns)),
    patchStatus: (k, patch) => port.patchStatus(k, patch),
    upsert: (obj) => port.upsert(obj),
    removeFinalizer: (k, f) => port.removeFinalizer(k, f),
    delete: (k) => port.delete(k),
    getSecret: (ns, name) => port.getSecret(ns, name),
    getConfigMap: (ns, name) => port.getConfigMap(ns, name),
    emitEvent: (o, t, r, m) => port.emitEvent(o, t, r, m),
  };
  return counted;
}

const component = (name: string, round: string): KubeObject => ({
  apiVersion: 'serverless.ocm.software/v1alpha1',
  kind: 'Component',
  metadata: { name, namespace: NS, labels: { round } },
  spec: {},
});

async function setup() {
  const memory = new MemoryKube();
  const api = counting(memory);
  const cache = new ScriptedCache();
  const kube = cachedKubePort(api, cache);
  const v1 = await memory.upsert(component('c', '1'));
  cache.deliver(v1);
  return { memory, api, cache, kube, v1 };
}

const key = { kind: 'Component' as const, namespace: NS, name: 'c' };
const readingStage = (kube: KubePort, seen: string[]): Stage => ({
  name: 'descriptor',
  routes: () => true,
  handle: async () => {
    seen.push((await kube.get(key))?.metadata.labels?.['round'] ?? 'none');
    return { objects: [] };
  },
});

describe('cached KubePort freshness', () => {
  it('an event newer than the watch is read from the API; once the watch has it, from the cache', async () => {
    const { memory, api, cache, kube } = await setup();
    const v2 = await memory.upsert(component('c', '2'));
    const seen: string[] = [];
    const stage = withFreshReads(readingStage(kube, seen), kube);
    await stage.handle({ type: 'object', action: 'update', ref: key, object: v2 });
    expect(seen).toEqual(['2']);
    expect(api.calls).toBe(1);
    // the watch catches up: the same event is now answered from the cache
    cache.deliver(v2);
    await stage.handle({ type: 'object', action: 'update', ref: key, object: v2 });
    expect(seen).toEqual(['2', '2']);
    expect(api.calls).toBe(1);
  });

  it('an object the event did not name may come from the cache even if behind (its own event will follow)', async () => {
    const { memory, api, kube } = await setup();
    await memory.upsert(component('c', '2'));
    expect((await kube.get(key))?.metadata.labels?.['round']).toBe('1');
    expect(api.calls).toBe(0);
  });

  it('own writes are read back before the watch delivers them; a status patch forces the next read to the API', async () => {
    const { api, cache, kube } = await setup();
    const written = await kube.upsert(component('c', '3'));
    expect((await kube.get(key))?.metadata.labels?.['round']).toBe('3');
    expect(api.calls).toBe(0);
    await kube.patchStatus(key, { observedGeneration: 7 });
    expect((await kube.get(key))?.status?.observedGeneration).toBe(7);
    expect(api.calls).toBe(1);
    // once the watch has passed what we wrote, the cache answers again
    cache.deliver((await kube.direct(() => kube.get(key)))!);
    const before = api.calls;
    await kube.get(key);
    expect(api.calls).toBe(before);
    expect(Number(written.metadata.resourceVersion)).toBeLessThan(cache.mark);
  });

  it('a deleted object is not served from a stale cache after our own delete', async () => {
    const { kube } = await setup();
    expect(await kube.delete(key)).toBe(true);
    expect(await kube.get(key)).toBeUndefined();
  });

  it('resync ticks, events without a resourceVersion and a cache that is not ready all read from the API', async () => {
    const { api, cache, kube } = await setup();
    const seen: string[] = [];
    const stage = withFreshReads(readingStage(kube, seen), kube);
    await stage.handle({ type: 'resync' });
    await stage.handle({ type: 'object', action: 'update', ref: key });
    expect(api.calls).toBe(2);
    cache.ready = false;
    await kube.get(key);
    await kube.list('Component', NS);
    expect(api.calls).toBe(4);
    expect(seen).toEqual(['1', '1']);
  });

  it('lists come from the cache, with objects we created that the watch has not delivered yet', async () => {
    const { api, kube } = await setup();
    await kube.upsert(component('d', '1'));
    expect((await kube.list('Component', NS)).map((o) => o.metadata.name).sort()).toEqual(['c', 'd']);
    expect(api.calls).toBe(0);
  });
});
