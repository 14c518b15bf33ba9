import { ApiException } from '@kubernetes/client-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  ConflictError,
  InvalidError,
  isReadyCurrent,
  KubeError,
  mergePatch,
  NotFoundError,
  toKubeError,
  withReady,
  type Component,
} from '../../../shared/kube/index.js';
import { ownerReference } from '../../../shared/stagekit/snapshots.js';
import { snapshotName } from '../../../shared/stagekit/names.js';
import { validComponent } from '../../fixtures/kube/corpus.js';

/** RFC 7386 apply, to check mergePatch against */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = Object.create(null) as Record<string, unknown>;
  if (target !== null && typeof target === 'object' && !Array.isArray(target)) for (const [k, v] of Object.entries(target)) out[k] = v;
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(Object.hasOwn(out, k) ? out[k] : undefined, v);
  }
  return out;
}

describe('withReady', () => {
  const t0 = new Date('2026-01-01T00:00:00.123Z');
  const t1 = new Date('2026-01-01T01:00:00Z');
  it('keeps lastTransitionTime while the status value stays, moves it when it changes, drops other types', () => {
    const first = withReady([{ type: 'Reconciling', status: 'True', reason: 'X', message: '', lastTransitionTime: 'x' }], { status: 'False', reason: 'A', message: 'a', observedGeneration: 1 }, t0);
    expect(first).toEqual([{ type: 'Ready', status: 'False', reason: 'A', message: 'a', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' }]);
    const same = withReady(first, { status: 'False', reason: 'B', message: 'b', observedGeneration: 2 }, t1);
    expect(same[0]).toMatchObject({ reason: 'B', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:00:00Z' });
    const flipped = withReady(same, { status: 'True', reason: 'Succeeded', message: 'ok', observedGeneration: 2 }, t1);
    expect(flipped[0]!.lastTransitionTime).toBe('2026-01-01T01:00:00Z');
  });
  it('truncates huge messages to what the schema allows', () => {
    const c = withReady(undefined, { status: 'False', reason: 'A', message: 'x'.repeat(40000), observedGeneration: 1 });
    expect(c[0]!.message.length).toBe(32768);
  });
  it('isReadyCurrent requires the current generation', () => {
    const c: Component = { ...structuredClone(validComponent), metadata: { name: 'x', generation: 2 } };
    c.status = { observedGeneration: 1, conditions: withReady(undefined, { status: 'True', reason: 'Succeeded', message: '', observedGeneration: 1 }) };
    expect(isReadyCurrent(c)).toBe(false);
    c.status.observedGeneration = 2;
    c.status.conditions![0]!.observedGeneration = 2;
    expect(isReadyCurrent(c)).toBe(true);
  });
});

describe('mergePatch', () => {
  // merge patches cannot carry null values (null means delete), and status never holds any
  const noNulls = (v: unknown): unknown =>
    v === null ? 0 : Array.isArray(v) ? v.map(noNulls) : typeof v === 'object' ? Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, noNulls(x)])) : v;
  it('turns any object into any other (property)', () => {
    const json = fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 3 }).map(noNulls), { maxKeys: 5 });
    fc.assert(
      fc.property(json, json, (a, b) => {
        expect(applyMergePatch(a, mergePatch(a, b))).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });
  it('keeps dangerous keys as plain keys', () => {
    const to = JSON.parse('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
    const patch = mergePatch({}, to) as Record<string, unknown>;
    expect(Object.hasOwn(patch, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
  it('sends only what changed', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 } }, { a: 1, b: { c: 2 } })).toEqual({ b: { d: null } });
  });
});

describe('names and owners', () => {
  it('snapshot names are <kind>-<owner>, hashed when longer than 253', () => {
    expect(snapshotName('Resource', 'podinfo')).toBe('resource-podinfo');
    const long = 'a'.repeat(250);
    const n = snapshotName('Configuration', long);
    expect(n.length).toBeLessThanOrEqual(253);
    expect(n).toMatch(/^configuration-a+-[0-9a-f]{10}$/);
    expect(snapshotName('Configuration', `${long}b`)).not.toBe(n);
  });
  it('ownerReference needs a stored owner', () => {
    expect(() => ownerReference(validComponent)).toThrow(/no uid/);
    expect(ownerReference({ ...validComponent, metadata: { name: 'c', uid: 'u1' } })).toEqual({
      apiVersion: 'serverless.ocm.software/v1alpha1', kind: 'Component', name: 'c', uid: 'u1', controller: true, blockOwnerDeletion: true,
    });
  });
});

describe('toKubeError', () => {
  const status = (code: number, reason: string, message: string) => new ApiException(code, 'Authorization: Bearer SECRET', JSON.stringify({ kind: 'Status', reason, message }), {});
  it('maps status codes and reasons to typed errors with the server message (never the headers)', () => {
    expect(toKubeError(status(404, 'NotFound', 'x not found'), 'C ns/x')).toBeInstanceOf(NotFoundError);
    expect(toKubeError(status(409, 'AlreadyExists', 'exists'), 'C')).toBeInstanceOf(AlreadyExistsError);
    const conflict = toKubeError(status(409, 'Conflict', 'the object has been modified'), 'C');
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(conflict.transient).toBe(true);
    const invalid = toKubeError(status(422, 'Invalid', 'bad'), 'C');
    expect(invalid).toBeInstanceOf(InvalidError);
    expect(invalid.transient).toBe(false);
    expect(invalid.message).toBe('bad');
    expect(invalid.message).not.toContain('SECRET');
    const raw = toKubeError(new ApiException(502, 'x', '<html>bad gateway</html>', {}), 'C');
    expect(raw).toBeInstanceOf(KubeError);
    expect(raw.transient).toBe(true);
    const net = toKubeError(Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' } }), 'C ns/x');
    expect(net.status).toBe(0);
    expect(net.message).toBe('C ns/x: could not reach the API server: connect ECONNREFUSED 127.0.0.1:1');
  });
});
