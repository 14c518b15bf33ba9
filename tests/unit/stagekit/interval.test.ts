import { describe, expect, it } from 'vitest';
import { DEFAULT_INTERVAL } from '../../../shared/kube/schema/common.js';
import { ObjectFailure, Reason, type ComponentObject } from '../../../shared/ports/index.js';
import {
  DEFAULT_INTERVAL_MS,
  REQUESTED_AT,
  checkNotDue,
  checkedFields,
  intervalOf,
  newReconcileRequest,
  parseDuration,
} from '../../../shared/stagekit/interval.js';

const MIN = 60_000;

describe('parseDuration', () => {
  it('reads Go durations as the CRD pattern allows them', () => {
    expect(parseDuration('10m')).toBe(10 * MIN);
    expect(parseDuration('1h30m')).toBe(90 * MIN);
    expect(parseDuration('1.5h')).toBe(90 * MIN);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2m30s')).toBe(150_000);
  });

  it('rejects what the pattern rejects', () => {
    for (const bad of ['', '10', 'm', '10x', '-5m', '1d', '10m ', ' 10m', '1.m']) expect(parseDuration(bad), bad).toBeUndefined();
  });
});

/** A Component at generation 1, Ready for it when `ready`, last checked at `checkedAt`. */
function component(opts: { interval?: string; ready?: boolean; checkedAt?: number; requested?: string; handled?: string } = {}): ComponentObject {
  return {
    apiVersion: 'serverless.ocm.software/v1alpha1',
    kind: 'Component',
    metadata: { name: 'c', namespace: 'n', generation: 1, ...(opts.requested ? { annotations: { [REQUESTED_AT]: opts.requested } } : {}) },
    spec: { ...(opts.interval ? { interval: opts.interval } : {}) },
    status: {
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', reason: Reason.Succeeded, message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      ...(opts.checkedAt !== undefined ? { lastCheckedAt: new Date(opts.checkedAt).toISOString() } : {}),
      ...(opts.handled ? { lastHandledReconcileAt: opts.handled } : {}),
    },
  };
}

describe('intervalOf', () => {
  it('is the CRD default when unset, the spec value otherwise', () => {
    expect(DEFAULT_INTERVAL).toBe('10m');
    expect(DEFAULT_INTERVAL_MS).toBe(10 * MIN);
    expect(intervalOf(component())).toBe(DEFAULT_INTERVAL_MS);
    expect(intervalOf(component({ interval: '1h' }))).toBe(60 * MIN);
  });

  it('an unreadable interval is SpecInvalid naming the field', () => {
    const err = (() => {
      try {
        return intervalOf(component({ interval: 'soon' }));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ObjectFailure);
    expect(err).toMatchObject({ reason: Reason.SpecInvalid, message: 'Component c: spec.interval "soon" is not a duration such as 10m or 1h30m' });
  });
});

describe('when a check is due', () => {
  const t0 = Date.parse('2026-03-01T12:00:00Z');

  it('a Ready object checked less than its interval ago is left alone; one checked longer ago, never checked, or not Ready is due', () => {
    expect(checkNotDue(component({ checkedAt: t0 }), 10 * MIN, t0 + 5 * MIN)).toBe(true);
    expect(checkNotDue(component({ checkedAt: t0 }), 10 * MIN, t0 + 10 * MIN)).toBe(false);
    // ticks are not exactly a schedule apart: 30 s of slack
    expect(checkNotDue(component({ checkedAt: t0 }), 10 * MIN, t0 + 10 * MIN - 20_000)).toBe(false);
    expect(checkNotDue(component(), 10 * MIN, t0)).toBe(false);
    expect(checkNotDue(component({ checkedAt: t0, ready: false }), 10 * MIN, t0 + MIN)).toBe(false);
  });

  it('a new requestedAt value makes a check due once; the fields a check records answer it', () => {
    const asked = component({ checkedAt: t0, requested: 'r1' });
    expect(newReconcileRequest(asked)).toBe('r1');
    expect(checkNotDue(asked, 10 * MIN, t0 + MIN)).toBe(false);
    const fields = checkedFields(asked, t0 + MIN);
    expect(fields).toEqual({ lastCheckedAt: new Date(t0 + MIN).toISOString(), lastHandledReconcileAt: 'r1' });
    const answered = component({ checkedAt: t0 + MIN, requested: 'r1', handled: fields.lastHandledReconcileAt! });
    expect(newReconcileRequest(answered)).toBeUndefined();
    expect(checkNotDue(answered, 10 * MIN, t0 + 2 * MIN)).toBe(true);
    expect(checkedFields(component(), t0)).toEqual({ lastCheckedAt: new Date(t0).toISOString() });
  });
});
