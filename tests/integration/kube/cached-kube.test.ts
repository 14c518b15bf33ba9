/**
 * The read cache (functions/adapters/cached-kube.ts over shared/kube/watch-cache.ts) against a real kube-apiserver:
 * reads come from the watch without API requests, never older than an event the caller has seen or than its own
 * writes, resync reads bypass it, and an identity that may not watch falls back to API reads.
 */
import { resolve } from 'node:path';
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedKubePort, withFreshReads, type CachedKube } from '../../../functions/adapters/cached-kube.js';
import { kubePortAdapter } from '../../../functions/adapters/kube.js';
import { KubeClient, revision, WatchCache, type Component } from '../../../shared/kube/index.js';
import type { ComponentObject, KubeObject, KubePort, ObjectKey, Stage } from '../../../shared/ports/index.js';
import { createNamespace, installCrds, kubeConfig, mintToken } from '../../infra/kube.js';
import { createObject, getObject } from '../../support/kube-objects.js';
import { validComponent, validSnapshot } from '../../fixtures/kube/corpus.js';

const ROOT = resolve(import.meta.dirname, '../../..');
let admin: KubeClient;
let ns: string;
const opened: CachedKube[] = [];

/** The API port with a count of the requests that reach it. */
function counting(port: KubePort): KubePort & { calls: number } {
  const counted = { ...port, calls: 0 };
  counted.get = (key) => (counted.calls++, port.get(key));
  counted.list = (kind, namespace) => (counted.calls++, port.list(kind, namespace));
  return counted;
}

function cachedFor(client: KubeClient): { kube: CachedKube; api: KubePort & { calls: number }; cache: WatchCache<KubeObject> } {
  const api = counting(kubePortAdapter(client, 'test'));
  const cache = new WatchCache<KubeObject>(client.kubeConfig, client, { retryMs: { min: 50, max: 200 } });
  const kube = cachedKubePort(api, cache);
  opened.push(kube);
  return { kube, api, cache };
}

function component(name: string, labels: Record<string, string> = {}): Component {
  const c = structuredClone(validComponent);
  c.metadata = { name, namespace: ns, labels };
  return c;
}

const key = (name: string): ObjectKey => ({ kind: 'Component', namespace: ns, name });

beforeAll(async () => {
  await installCrds([resolve(ROOT, 'knative/crds')]);
  admin = new KubeClient(kubeConfig(), { fieldManager: 'test-admin' });
  ns = await createNamespace();
});

afterAll(async () => {
  for (const k of opened) await k.close();
});

describe('cached KubePort', () => {
  it('answers gets and lists from the watch once it is ready: no API requests', async () => {
    for (const n of ['c1', 'c2', 'c3']) await createObject(admin, component(n));
    const { kube, api, cache } = cachedFor(admin);
    await kube.get(key('c1')); // first use starts the watch; this read goes to the API
    expect(await cache.ready('Component')).toBe('ready');
    const before = api.calls;
    for (let i = 0; i < 50; i++) {
      expect((await kube.get<ComponentObject>(key(`c${(i % 3) + 1}`)))?.metadata.name).toBe(`c${(i % 3) + 1}`);
    }
    expect((await kube.list('Component', ns)).map((c) => c.metadata.name).sort()).toEqual(['c1', 'c2', 'c3']);
    expect(await kube.get(key('absent'))).toBeUndefined();
    expect(api.calls - before).toBe(0);
    expect(kube.reads.cached).toBeGreaterThanOrEqual(52);
    // copies: changing what a read returned does not change the cache
    const got = (await kube.get<ComponentObject>(key('c1')))!;
    got.metadata.labels = { mutated: 'yes' };
    expect((await kube.get<ComponentObject>(key('c1')))?.metadata.labels?.['mutated']).toBeUndefined();
  });

  it('never returns an object older than an observed event, however fast the updates come', async () => {
    await createObject(admin, component('hot', { round: '0' }));
    const { kube, cache } = cachedFor(admin);
    await kube.get(key('hot'));
    await cache.ready('Component');
    let staleAvoided = 0;
    for (let round = 1; round <= 40; round++) {
      const cur = await getObject(admin, 'Component', ns, 'hot');
      const updated = await admin.apply({ ...cur, metadata: { ...cur.metadata, labels: { round: String(round) } } });
      // what an ApiServerSource event would carry, handed over before the watch can have delivered it
      const stage: Stage = {
        name: 'descriptor',
        routes: () => true,
        handle: async () => {
          const read = await kube.get<ComponentObject>(key('hot'));
          expect(read?.metadata.labels?.['round']).toBe(String(round));
          expect(revision(read?.metadata.resourceVersion)).toBeGreaterThanOrEqual(revision(updated.metadata.resourceVersion)!);
          return { objects: [] };
        },
      };
      const apiBefore = kube.reads.api;
      await withFreshReads(stage, kube).handle({
        type: 'object',
        action: 'update',
        ref: { kind: 'Component', namespace: ns, name: 'hot' },
        object: updated as unknown as KubeObject,
      });
      if (kube.reads.api > apiBefore) staleAvoided++;
    }
    // the watch lags a write by a little, so some of these reads had to go to the API; report how many
    console.log(`fresh reads after an event: ${staleAvoided}/40 went to the API because the watch was behind`);
  });

  it('reads back its own writes at once (upsert, status patch, delete)', async () => {
    const { kube, cache } = cachedFor(admin);
    await kube.get(key('whatever'));
    await cache.ready('Snapshot');
    await cache.ready('Component');
    await kube.list('Snapshot', ns);
    expect(await cache.ready('Snapshot')).toBe('ready');
    const snap = { ...structuredClone(validSnapshot), metadata: { name: 'own-write', namespace: ns } } as unknown as KubeObject;
    await kube.upsert(snap);
    expect((await kube.get({ kind: 'Snapshot', namespace: ns, name: 'own-write' }))?.metadata.name).toBe('own-write');
    expect((await kube.list('Snapshot', ns)).map((s) => s.metadata.name)).toContain('own-write');

    await createObject(admin, component('patched'));
    await kube.get(key('patched'));
    await kube.patchStatus(key('patched'), { ready: { status: 'True', reason: 'Succeeded', message: 'done' }, observedGeneration: 1 });
    const after = await kube.get<ComponentObject>(key('patched'));
    expect(after?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');

    expect(await kube.delete(key('patched'))).toBe(true);
    expect(await kube.get(key('patched'))).toBeUndefined();
  });

  it('direct() sends every read to the API (resync ticks), and events without a resourceVersion do too', async () => {
    const { kube, api, cache } = cachedFor(admin);
    await kube.get(key('c1'));
    await cache.ready('Component');
    const before = api.calls;
    await kube.direct(async () => {
      await kube.get(key('c1'));
      await kube.list('Component', ns);
    });
    expect(api.calls - before).toBe(2);
    const stage: Stage = { name: 'descriptor', routes: () => true, handle: async () => (await kube.get(key('c2')), { objects: [] }) };
    await withFreshReads(stage, kube).handle({ type: 'resync' });
    await withFreshReads(stage, kube).handle({ type: 'object', action: 'update', ref: { kind: 'Component', namespace: ns, name: 'c2' } });
    expect(api.calls - before).toBe(4);
  });

  it('an identity that may get but not watch keeps working from the API', async () => {
    const sa = 'get-only';
    const rbac = kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: { metadata: { name: sa }, rules: [{ apiGroups: ['serverless.ocm.software'], resources: ['components'], verbs: ['get'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: { metadata: { name: sa }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }] },
    });
    const token = await mintToken(ns, sa);
    const errors: string[] = [];
    const client = new KubeClient(kubeConfig({ token }), { fieldManager: 'get-only' });
    const api = counting(kubePortAdapter(client, 'test'));
    const cache = new WatchCache<KubeObject>(client.kubeConfig, client, { retryMs: { min: 50, max: 200 }, onError: (_k, e) => errors.push(e.message) });
    const limited = cachedKubePort(api, cache);
    opened.push(limited);
    expect((await limited.get<ComponentObject>(key('c1')))?.metadata.name).toBe('c1');
    expect(await cache.ready('Component', 1000)).not.toBe('ready');
    expect((await limited.get<ComponentObject>(key('c3')))?.metadata.name).toBe('c3');
    expect(api.calls).toBe(2);
    expect(errors.join('\n')).toMatch(/forbidden/i);
  });
});
