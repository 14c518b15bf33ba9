import { describe, expect, it } from 'vitest';
import { MemoryKube } from '../../../functions/adapters/memory-kube.js';
import { API_VERSION, ObjectFailure, Reason, TransientError, type ComponentObject, type ObjectKey } from '../../../shared/ports/index.js';
import { reconcileAll, reconcileObject } from '../../../shared/stagekit/reconcile.js';
import { InProgress, WaitingFor, type Applied } from '../../../shared/stagekit/results.js';
import { NS } from './rig.js';

const key = (name: string): ObjectKey => ({ kind: 'Component', namespace: NS, name });

async function withComponent(spec: Record<string, unknown> = {}) {
  const kube = new MemoryKube();
  await kube.upsert({ apiVersion: API_VERSION, kind: 'Component', metadata: { name: 'c', namespace: NS }, spec });
  const ready = async () => (await kube.get<ComponentObject>(key('c')))?.status?.conditions?.find((c) => c.type === 'Ready');
  return { kube, deps: { kube }, ready };
}

const applied: Applied = { outcome: 'applied', message: 'Applied version 1.0.0', fields: { snapshotRef: { name: 'component-c' } } };

describe('the reconcile frame', () => {
  it('a success writes Ready=True with its fields and one Normal event; the same result again writes nothing', async () => {
    const { kube, deps, ready } = await withComponent();
    const first = await reconcileObject(deps, key('c'), async () => applied);
    expect(first).toMatchObject({ outcome: 'applied', reason: Reason.Succeeded, message: 'Applied version 1.0.0' });
    expect(await ready()).toMatchObject({ status: 'True', reason: Reason.Succeeded, message: 'Applied version 1.0.0', observedGeneration: 1 });
    expect((await kube.get<ComponentObject>(key('c')))?.status?.snapshotRef).toEqual({ name: 'component-c' });
    const again = await reconcileObject(deps, key('c'), async () => ({ ...applied, outcome: 'unchanged' as const }));
    expect(again.outcome).toBe('unchanged');
    expect(kube.events.map((e) => `${e.type} ${e.reason}`)).toEqual(['Normal Succeeded']);
  });

  it('an object failure is Ready=False with its reason and a Warning event; waiting for a dependency is Ready=False too', async () => {
    const { kube, deps, ready } = await withComponent();
    const failed = await reconcileObject(deps, key('c'), async () => {
      throw new ObjectFailure(Reason.CheckVersionFailed, 'no version matches >=2.0.0');
    });
    expect(failed).toMatchObject({ outcome: 'failed', reason: Reason.CheckVersionFailed });
    expect(await ready()).toMatchObject({ status: 'False', reason: Reason.CheckVersionFailed, message: 'no version matches >=2.0.0' });
    expect(kube.events.at(-1)).toMatchObject({ type: 'Warning', reason: Reason.CheckVersionFailed });
    const waiting = await reconcileObject(deps, key('c'), async () => {
      throw new WaitingFor(Reason.RepositoryIsNotReady, 'OCMRepository repo not found');
    });
    expect(waiting).toMatchObject({ outcome: 'waiting', reason: Reason.RepositoryIsNotReady });
    expect(await ready()).toMatchObject({ status: 'False', reason: Reason.RepositoryIsNotReady });
  });

  it('an error no step named is ReconcileFailed', async () => {
    const { deps, ready } = await withComponent();
    const result = await reconcileObject(deps, key('c'), async () => {
      throw new Error('unexpected');
    });
    expect(result).toMatchObject({ outcome: 'failed', reason: Reason.ReconcileFailed, message: 'unexpected' });
    expect((await ready())?.reason).toBe(Reason.ReconcileFailed);
  });

  it('in progress and transient errors leave the status alone (the next event, or the retry, comes back)', async () => {
    const { kube, deps, ready } = await withComponent();
    const mid = await reconcileObject(deps, key('c'), async () => {
      throw new InProgress(Reason.ComponentIsNotReady, 'Snapshot component-x is being updated');
    });
    expect(mid).toMatchObject({ outcome: 'waiting', reason: Reason.ComponentIsNotReady });
    await expect(
      reconcileObject(deps, key('c'), async () => {
        throw Object.assign(new Error('registry down'), { code: 'ECONNREFUSED' });
      }),
    ).rejects.toBeInstanceOf(TransientError);
    expect(await ready()).toBeUndefined();
    expect(kube.events).toEqual([]);
  });

  it('a missing or deleting object is deleted, a suspended one skipped, without running the steps', async () => {
    const { kube, deps } = await withComponent({ suspend: true });
    let ran = 0;
    const run = async () => (ran++, applied);
    expect(await reconcileObject(deps, key('c'), run)).toMatchObject({ outcome: 'skipped', reason: Reason.Suspended });
    expect(await reconcileObject(deps, key('absent'), run)).toMatchObject({ outcome: 'deleted' });
    await kube.upsert({ apiVersion: API_VERSION, kind: 'Component', metadata: { name: 'd', namespace: NS, finalizers: ['x/y'] }, spec: {} });
    await kube.delete(key('d'));
    expect(await reconcileObject(deps, key('d'), run)).toMatchObject({ outcome: 'deleted' });
    expect(ran).toBe(0);
  });
});

describe('reconcileAll', () => {
  it('runs every object, records a transient failure as failed, and rethrows the first one at the end', async () => {
    const seen: string[] = [];
    const err = await reconcileAll([key('a'), key('b'), key('c')], async (k) => {
      seen.push(k.name);
      if (k.name !== 'c') throw new TransientError(`${k.name} down`);
      return { ...k, outcome: 'applied' };
    }).catch((e: unknown) => e);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toBe('a down');
    const ok = await reconcileAll([key('a')], async (k) => ({ ...k, outcome: 'unchanged' }));
    expect(ok).toEqual([{ ...key('a'), outcome: 'unchanged' }]);
  });
});
