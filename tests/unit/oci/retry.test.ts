import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  defaultRetryPolicy,
  isNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  withRetry,
} from '../../../shared/oci/index.js';
import { NotFoundError, RegistryUnavailableError } from '../../../shared/oci/index.js';
import { RetryableError, wrapNetworkError } from '../../../shared/oci/retry.js';

describe('retry policy', () => {
  it('retries 429 and 5xx, never other 4xx or 501', () => {
    expect([429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 405, 409, 413, 416, 501, 505].some(isRetryableStatus)).toBe(false);
  });

  it('backs off exponentially with jitter inside [exp/2, exp], capped', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
        const exp = Math.min(defaultRetryPolicy.maxDelayMs, defaultRetryPolicy.baseDelayMs * 2 ** (attempt - 1));
        const d = backoffDelay(defaultRetryPolicy, attempt, undefined, () => r);
        expect(d).toBeGreaterThanOrEqual(exp / 2);
        expect(d).toBeLessThanOrEqual(exp);
      }),
    );
    expect(backoffDelay(defaultRetryPolicy, 1, undefined, () => 1)).toBe(200);
    expect(backoffDelay(defaultRetryPolicy, 3, undefined, () => 1)).toBe(800);
  });

  it('honours Retry-After (seconds or HTTP date), capped by maxRetryAfterMs', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('garbage', now)).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(backoffDelay(defaultRetryPolicy, 1, 3000)).toBe(3000);
    expect(backoffDelay(defaultRetryPolicy, 1, 3_600_000)).toBe(defaultRetryPolicy.maxRetryAfterMs);
  });

  it('recognises network errors through cause chains', () => {
    const err = new Error('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) });
    expect(isNetworkError(err)).toBe(true);
    expect(isNetworkError(new Error('nope'))).toBe(false);
  });

  it('withRetry stops at maxAttempts and rethrows the underlying error; never retries a plain error', async () => {
    const policy = { ...defaultRetryPolicy, baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 };
    let calls = 0;
    const boom = new Error('503');
    await expect(
      withRetry(policy, async () => {
        calls++;
        throw new RetryableError(boom);
      }),
    ).rejects.toBe(boom);
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      withRetry(policy, async () => {
        calls++;
        throw new Error('400');
      }),
    ).rejects.toThrow('400');
    expect(calls).toBe(1);
    calls = 0;
    const ok = await withRetry(policy, async (n) => {
      calls++;
      if (n < 2) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
      return 'done';
    });
    expect([ok, calls]).toEqual(['done', 2]);
  });

  it('wrapNetworkError names the operation of a network error that outlived the retries; other errors pass unchanged', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const wrapped = wrapNetworkError(refused, 'HEAD manifest a:v1');
    expect(wrapped).toBeInstanceOf(RegistryUnavailableError);
    expect((wrapped as Error).message).toBe('HEAD manifest a:v1: network error: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1');
    expect((wrapped as Error).cause).toBe(refused);
    const notFound = new NotFoundError('GET x: HTTP 404');
    expect(wrapNetworkError(notFound, 'GET x')).toBe(notFound);
    const plain = new Error('not a network error');
    expect(wrapNetworkError(plain, 'GET x')).toBe(plain);
  });
});
