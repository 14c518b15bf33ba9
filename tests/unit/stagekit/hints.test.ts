import { describe, expect, it } from 'vitest';
import { API_VERSION, type Hint } from '../../../shared/ports/index.js';
import { hintKey, resyncScope, snapshotOwner, snapshotOwnerFromHint } from '../../../shared/stagekit/hints.js';

const owned = (kind: string) => ({
  apiVersion: API_VERSION,
  kind: 'Snapshot',
  metadata: { name: 'anything', namespace: 'n', ownerReferences: [{ apiVersion: API_VERSION, kind, name: 'o', uid: 'u1', controller: true }] },
});

describe('hints', () => {
  it('an object hint has a key; a resync tick has none', () => {
    expect(hintKey({ type: 'object', action: 'add', ref: { kind: 'Resource', namespace: 'n', name: 'r' } })).toEqual({ kind: 'Resource', namespace: 'n', name: 'r' });
    expect(hintKey({ type: 'resync' })).toBeUndefined();
  });

  it('a Snapshot\'s owner comes from its controller reference, else from its deterministic name', () => {
    const withPayload: Hint = { type: 'object', action: 'update', ref: { kind: 'Snapshot', namespace: 'n', name: 'anything' }, object: owned('Configuration') };
    expect(snapshotOwnerFromHint(withPayload)).toEqual({ kind: 'Configuration', name: 'o', uid: 'u1' });
    expect(snapshotOwnerFromHint({ type: 'object', action: 'delete', ref: { kind: 'Snapshot', namespace: 'n', name: 'resource-chart' } })).toEqual({ kind: 'Resource', name: 'chart' });
    expect(snapshotOwnerFromHint({ type: 'object', action: 'add', ref: { kind: 'Resource', namespace: 'n', name: 'resource-x' } })).toBeUndefined();
    expect(snapshotOwner(owned('Component'))).toEqual({ kind: 'Component', name: 'o', uid: 'u1' });
    expect(snapshotOwner({ ...owned('Component'), metadata: { name: 'component-podinfo', namespace: 'n' } })).toEqual({ kind: 'Component', name: 'podinfo' });
  });

  it('a resync tick may name a namespace and kinds; an event is not a tick', () => {
    const all = resyncScope({ type: 'resync' });
    expect(all.namespace).toBeUndefined();
    expect(all.wants('Component') && all.wants('Publication')).toBe(true);
    const some = resyncScope({ type: 'resync', namespace: 'team-a', kinds: ['Component'] });
    expect(some.namespace).toBe('team-a');
    expect([some.wants('Component'), some.wants('Resource')]).toEqual([true, false]);
    expect(resyncScope({ type: 'object', action: 'add', ref: { kind: 'Component', namespace: 'n', name: 'c' } }).wants('Component')).toBe(false);
  });
});
