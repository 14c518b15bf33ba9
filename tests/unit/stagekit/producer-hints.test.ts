import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API_VERSION, Reason, type Hint, type ObjectKey } from '../../../shared/ports/index.js';
import { handleProducerHint } from '../../../shared/stagekit/producer-hints.js';
import type { ObjectResult } from '../../../shared/stagekit/results.js';
import { NS, rig } from './rig.js';

type Rig = Awaited<ReturnType<typeof rig>>;

describe('handleProducerHint', () => {
  let r: Rig;
  let calls: Array<[string, boolean]>;
  const reconcile = async (key: ObjectKey, self: boolean): Promise<ObjectResult> => {
    calls.push([key.name, self]);
    return { ...key, outcome: 'applied' };
  };
  const on = (action: 'add' | 'delete', name: string, extra: Partial<Extract<Hint, { type: 'object' }>> = {}): Hint => ({
    type: 'object',
    action,
    ref: { kind: 'Resource', namespace: NS, name },
    ...extra,
  });
  beforeEach(async () => {
    r = await rig();
    calls = [];
    for (const name of ['a', 'b']) {
      await r.kube.upsert({ apiVersion: API_VERSION, kind: 'Resource', metadata: { name, namespace: NS }, spec: { componentRef: { name: 'c' }, resource: { byReference: { resource: { name: 'x' } } } } });
    }
  });
  afterEach(async () => r.close());

  it('an event on the kind itself reconciles it as a self event; a delete sweeps instead', async () => {
    expect(await handleProducerHint(r.deps, 'Resource', on('add', 'a'), reconcile)).toEqual({ objects: [{ kind: 'Resource', namespace: NS, name: 'a', outcome: 'applied' }] });
    expect(await handleProducerHint(r.deps, 'Resource', on('delete', 'gone'), reconcile)).toEqual({
      objects: [{ kind: 'Resource', namespace: NS, name: 'gone', outcome: 'deleted' }],
    });
    expect(calls).toEqual([['a', true]]);
  });

  it('a resync tick reconciles every object of the kind in scope, not as self events', async () => {
    const result = await handleProducerHint(r.deps, 'Resource', { type: 'resync', namespace: NS }, reconcile);
    expect(result?.objects.map((o) => o.name)).toEqual(['a', 'b']);
    expect(calls).toEqual([['a', false], ['b', false]]);
    expect((await handleProducerHint(r.deps, 'Resource', { type: 'resync', kinds: ['Component'] }, reconcile))?.objects).toEqual([]);
  });

  it('a registry event about a manifest that is not the object\'s output changes nothing', async () => {
    const result = await handleProducerHint(r.deps, 'Resource', on('add', 'a', { lost: { repository: `${NS}/resource/a`, digest: 'sha256:00' } }), reconcile);
    expect(result).toEqual({ objects: [{ kind: 'Resource', namespace: NS, name: 'a', outcome: 'unchanged', reason: Reason.NotCurrentOutput }] });
    expect(calls).toEqual([]);
  });

  it('leaves Snapshot events and other kinds to the stage', async () => {
    const snapshotEvent: Hint = { type: 'object', action: 'add', ref: { kind: 'Snapshot', namespace: NS, name: 'component-c' } };
    expect(await handleProducerHint(r.deps, 'Resource', snapshotEvent, reconcile)).toBeUndefined();
    expect(await handleProducerHint(r.deps, 'Configuration', on('add', 'a'), reconcile)).toBeUndefined();
  });
});
