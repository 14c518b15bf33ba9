import { describe, expect, it } from 'vitest';
import { DigestMismatchError, ObjectFailure, Reason, TransientError, isTransient } from '../../../shared/ports/index.js';
import { classify, step } from '../../../shared/stagekit/step.js';

describe('error classification', () => {
  it('separates object failures from retryable ones', () => {
    expect(classify(new Error('bad yaml'), Reason.ConfigurationFailed)).toBeInstanceOf(ObjectFailure);
    expect(classify(Object.assign(new Error('down'), { code: 'ECONNREFUSED' }), Reason.PushSnapshotFailed)).toBeInstanceOf(TransientError);
    expect(classify(Object.assign(new Error('busy'), { status: 503 }), Reason.PushSnapshotFailed)).toBeInstanceOf(TransientError);
    expect(isTransient(Object.assign(new Error('conflict'), { transient: true }))).toBe(true);
    expect(isTransient(Object.assign(new Error('forbidden'), { statusCode: 403 }))).toBe(false);
    // registry clients wrap socket errors: look through the cause chain
    const wrapped = new Error('push failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    expect(isTransient(wrapped)).toBe(true);
    expect(isTransient(Object.assign(new Error('registry gave up'), { name: 'TransientError' }))).toBe(true);
    expect(isTransient(new Error('plain'))).toBe(false);
  });
});

describe('step', () => {
  it('returns what the step returns, and gives what it throws the step\'s reason', async () => {
    expect(await step(Reason.CheckVersionFailed, () => '1.0.0')).toBe('1.0.0');
    const failed = await step(Reason.CheckVersionFailed, () => Promise.reject(new Error('no such version'))).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ObjectFailure);
    expect(failed).toMatchObject({ reason: Reason.CheckVersionFailed, message: 'no such version' });
    const retry = await step(Reason.PushSnapshotFailed, () => {
      throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    }).catch((e: unknown) => e);
    expect(retry).toBeInstanceOf(TransientError);
    expect((retry as Error).message).toBe('PushSnapshotFailed: reset');
  });

  it('keeps a failure that already has its reason, and makes a digest mismatch the step\'s failure', async () => {
    const own = new ObjectFailure(Reason.SpecInvalid, 'spec.x is required');
    await expect(step(Reason.CheckVersionFailed, () => Promise.reject(own))).rejects.toBe(own);
    const mismatch = classify(new DigestMismatchError('layer', 'sha256:aa', 'sha256:bb'), Reason.VerifyResourceFailed);
    expect(mismatch).toBeInstanceOf(ObjectFailure);
    expect((mismatch as ObjectFailure).reason).toBe(Reason.VerifyResourceFailed);
  });
});
