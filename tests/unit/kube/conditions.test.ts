import { describe, expect, it } from 'vitest';
import { API_VERSION, Reason, type KubeObject } from '../../../shared/ports/index.js';
import { isReadyCurrent, readyCondition } from '../../../shared/kube/conditions.js';

const obj = (generation: number | undefined, observedGeneration: number | undefined, status?: 'True' | 'False'): KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'Resource',
  metadata: { name: 'r', namespace: 'n', ...(generation !== undefined ? { generation } : {}) },
  status: {
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
    conditions: status ? [{ type: 'Ready', status, reason: Reason.Succeeded, message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' }] : [],
  },
});

describe('conditions', () => {
  it('Ready is current only when True and the status describes the current generation', () => {
    expect(isReadyCurrent(obj(2, 2, 'True'))).toBe(true);
    expect(isReadyCurrent(obj(3, 2, 'True'))).toBe(false);
    expect(isReadyCurrent(obj(2, 2, 'False'))).toBe(false);
    expect(isReadyCurrent(obj(2, 2))).toBe(false);
    // objects without a generation (the in-memory store before its first write) count as current
    expect(isReadyCurrent(obj(undefined, undefined, 'True'))).toBe(true);
    expect(isReadyCurrent(undefined)).toBe(false);
    expect(readyCondition(obj(1, 1, 'False'))?.status).toBe('False');
    expect(readyCondition(undefined)).toBeUndefined();
  });
});
