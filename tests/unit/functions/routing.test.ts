/** Which stage a hint reaches (each stage's `routes`), and events about kinds that are not ours (stagekit/event-checks). */
import { describe, expect, it } from 'vitest';
import { BadEventError, type Hint } from '../../../shared/ports/index.js';
import { snapshotOwnerFromHint } from '../../../shared/stagekit/hints.js';
import { harness } from '../../support/stage-harness.js';

describe('routing', () => {
  const snap = (name: string, owner?: string): Hint => ({
    type: 'object',
    action: 'update',
    ref: { kind: 'Snapshot', namespace: 'n', name },
    ...(owner
      ? {
          object: {
            apiVersion: 'serverless.ocm.software/v1alpha1',
            kind: 'Snapshot',
            metadata: { name, namespace: 'n', ownerReferences: [{ apiVersion: 'serverless.ocm.software/v1alpha1', kind: owner, name: 'x', uid: 'u', controller: true }] },
          },
        }
      : {}),
  });

  it('routes each kind and Snapshot owner to the stages of docs/design.md §4, in Resource and Reference mode', async () => {
    const h = await harness();
    try {
      const routed = (hint: Hint) => h.stages.filter((s) => s.routes(hint)).map((s) => s.name);
      const obj = (kind: string): Hint => ({ type: 'object', action: 'add', ref: { kind, namespace: 'n', name: 'x' } });
      expect(routed(obj('Component'))).toEqual(['descriptor']);
      expect(routed(obj('OCMRepository'))).toEqual(['descriptor']);
      expect(routed(obj('Resource'))).toEqual(['resource']);
      expect(routed(obj('Configuration'))).toEqual(['configure']);
      expect(routed(obj('Publication'))).toEqual(['publish']);
      expect(routed({ type: 'resync' })).toEqual(['descriptor', 'resource', 'configure', 'publish']);
      // Resource mode (owner from the payload) and Reference mode (owner from the deterministic name) agree
      expect(routed(snap('component-x', 'Component'))).toEqual(['descriptor', 'resource']);
      expect(routed(snap('component-x'))).toEqual(['descriptor', 'resource']);
      expect(routed(snap('resource-x'))).toEqual(['resource', 'configure', 'publish']);
      expect(routed(snap('configuration-x', 'Configuration'))).toEqual(['configure', 'publish']);
      expect(routed(snap('unrelated'))).toEqual([]);
      expect(snapshotOwnerFromHint(snap('whatever', 'Resource'))).toMatchObject({ kind: 'Resource', name: 'x' });
      // events about kinds that are not ours are a problem of the event (422), at every stage
      const foreign: Hint = { type: 'object', action: 'add', ref: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'n', name: 'd' } };
      for (const stage of h.stages) {
        expect(stage.routes(foreign)).toBe(true);
        await expect(stage.handle(foreign)).rejects.toThrow(/Deployment is not one of ours/);
        await expect(stage.handle(foreign)).rejects.toBeInstanceOf(BadEventError);
      }
      const widget: Hint = { type: 'object', action: 'add', ref: { apiVersion: 'serverless.ocm.software/v1alpha1', kind: 'Widget', namespace: 'n', name: 'w' } };
      await expect(h.stages[0]!.handle(widget)).rejects.toThrow(/Widget/);
      const flux: Hint = { type: 'object', action: 'update', ref: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'OCIRepository', namespace: 'n', name: 'o' } };
      expect(routed(flux)).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
