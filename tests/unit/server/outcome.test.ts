import { describe, expect, it } from 'vitest';
import { InvalidEventError, MalformedEventError, UnsupportedEncodingError } from '../../../shared/cloudevents/index.js';
import { RetryLaterError, classifyError } from '../../../shared/server/index.js';
import { BadEventError, TransientError } from '../../../shared/ports/errors.js';
import { stageErrorClassifier } from '../../../shared/server/stage-adapter.js';

describe('classifyError', () => {
  it('event errors keep their status and field', () => {
    expect(classifyError(new MalformedEventError('x', 'type'))).toEqual({ kind: 'event', status: 400, field: 'type' });
    expect(classifyError(new UnsupportedEncodingError('batch'))).toMatchObject({ kind: 'event', status: 415 });
    expect(classifyError(new InvalidEventError('x', 'data.kind'))).toEqual({ kind: 'event', status: 422, field: 'data.kind' });
  });

  it('RetryLaterError keeps status and Retry-After', () => {
    expect(classifyError(new RetryLaterError('registry down'))).toEqual({ kind: 'transient', status: 503 });
    expect(classifyError(new RetryLaterError('slow down', { status: 429, retryAfterSeconds: 7 }))).toEqual({ kind: 'transient', status: 429, retryAfterSeconds: 7 });
  });

  it('network errors, also wrapped in cause (fetch), are transient', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(classifyError(refused)).toEqual({ kind: 'transient', status: 503 });
    expect(classifyError(new TypeError('fetch failed', { cause: refused }))).toEqual({ kind: 'transient', status: 503 });
    expect(classifyError(Object.assign(new Error('t'), { name: 'TimeoutError' }))).toMatchObject({ kind: 'transient' });
  });

  it('upstream HTTP statuses: 409/5xx -> 503, 429 -> 429 with Retry-After, other 4xx -> 500', () => {
    expect(classifyError(Object.assign(new Error('conflict'), { code: 409 }))).toEqual({ kind: 'transient', status: 503 });
    expect(classifyError(Object.assign(new Error('bad gateway'), { statusCode: 502 }))).toEqual({ kind: 'transient', status: 503 });
    expect(classifyError(Object.assign(new Error('too many'), { statusCode: 429, headers: { 'retry-after': '3' } }))).toEqual({
      kind: 'transient',
      status: 429,
      retryAfterSeconds: 3,
    });
    expect(classifyError(Object.assign(new Error('forbidden'), { statusCode: 403 }))).toEqual({ kind: 'error', status: 500 });
    expect(classifyError(new Error('bug'))).toEqual({ kind: 'error', status: 500 });
    expect(classifyError('a string')).toEqual({ kind: 'error', status: 500 });
  });

  it('errors that declare themselves transient/retryable, and the ports BadEventError via the stage classifier', () => {
    expect(classifyError(new TransientError('api down'))).toEqual({ kind: 'transient', status: 503 });
    expect(classifyError(Object.assign(new Error('aws'), { retryable: true }))).toMatchObject({ kind: 'transient' });
    expect(classifyError(new BadEventError('no such kind'), stageErrorClassifier)).toEqual({ kind: 'event', status: 422 });
  });

  it('a custom classifier wins', () => {
    expect(classifyError(new Error('x'), () => ({ kind: 'transient', status: 504 }))).toEqual({ kind: 'transient', status: 504 });
  });
});
