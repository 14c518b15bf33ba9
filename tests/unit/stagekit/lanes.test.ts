import { describe, expect, it } from 'vitest';
import { MemoryKube } from '../../../functions/adapters/memory-kube.js';
import type { KubeObject } from '../../../shared/ports/index.js';
import { inLane } from '../../../shared/stagekit/lanes.js';
import { reconcileObject } from '../../../shared/stagekit/reconcile.js';
import { NS } from './rig.js';

describe('inLane', () => {
  it('runs one thing per key at a time, in order; other keys and other owners are not held up', async () => {
    const owner = {};
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = inLane(owner, 'a', async () => {
      log.push('a1 start');
      await gate;
      log.push('a1 end');
      return 1;
    });
    await new Promise((r) => setTimeout(r, 5));
    const next = inLane(owner, 'a', async () => (log.push('a2'), 2));
    const other = await inLane(owner, 'b', async () => (log.push('b'), 3));
    const elsewhere = await inLane({}, 'a', async () => (log.push('a elsewhere'), 4));
    expect([other, elsewhere]).toEqual([3, 4]);
    expect(log).toEqual(['a1 start', 'b', 'a elsewhere']);
    release();
    expect(await Promise.all([slow, next])).toEqual([1, 2]);
    expect(log).toEqual(['a1 start', 'b', 'a elsewhere', 'a1 end', 'a2']);
  });

  it('a failure does not block the lane: what queued behind it runs, and the failure goes to its own caller', async () => {
    const owner = {};
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const failing = inLane(owner, 'k', async () => {
      await gate;
      throw new Error('boom');
    });
    await new Promise((r) => setTimeout(r, 5));
    const after = inLane(owner, 'k', async () => 'ran');
    release();
    await expect(failing).rejects.toThrow('boom');
    expect(await after).toBe('ran');
  });

  it('a request made before the waiting run has started joins it instead of queueing another', async () => {
    const owner = {};
    let runs = 0;
    const [a, b] = await Promise.all([inLane(owner, 'k', async () => ++runs), inLane(owner, 'k', async () => ++runs)]);
    expect([a, b, runs]).toEqual([1, 1, 1]);
  });
});

describe('events for one object while it is being reconciled', () => {
  it('a burst joins the one waiting reconcile: 20 events, 2 runs, and the second run sees what changed during the first', async () => {
    const kube = new MemoryKube();
    await kube.upsert({ apiVersion: 'serverless.ocm.software/v1alpha1', kind: 'Component', metadata: { name: 'c', namespace: NS, labels: { round: '0' } }, spec: {} });
    const deps = { kube };
    const key = { kind: 'Component' as const, namespace: NS, name: 'c' };
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const run = async (obj: KubeObject) => {
      seen.push(obj.metadata.labels?.['round'] ?? '?');
      if (seen.length === 1) await gate;
      return { outcome: 'unchanged' as const, message: 'ok', fields: {} };
    };
    const first = reconcileObject(deps, key, run);
    await new Promise((r) => setTimeout(r, 5));
    // the object changes while the first run waits; then 19 more events arrive
    await kube.upsert({ apiVersion: 'serverless.ocm.software/v1alpha1', kind: 'Component', metadata: { name: 'c', namespace: NS, labels: { round: '1' } }, spec: {} });
    const burst = Array.from({ length: 19 }, () => reconcileObject(deps, key, run));
    release();
    const results = await Promise.all([first, ...burst]);
    expect(results).toHaveLength(20);
    // the first run wrote the Ready condition; the joined ones share the second run's result
    expect(results.map((r) => r.outcome)).toEqual(['applied', ...Array(19).fill('unchanged')]);
    expect(seen).toEqual(['0', '1']);
    // and once that is done, the next event runs again
    await reconcileObject(deps, key, run);
    expect(seen).toEqual(['0', '1', '1']);
  });
});
