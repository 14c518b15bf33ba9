import { DigestMismatchError, ObjectFailure, TransientError, isTransient, type Reason } from '../ports/index.js';

/**
 * Runs one step; classifies what it throws: ObjectFailure/TransientError pass through, digest mismatches and other
 * non-retryable errors become ObjectFailure(reason), retryable ones TransientError (so the broker retries).
 */
export async function step<R>(reason: Reason, fn: () => Promise<R> | R): Promise<R> {
  try {
    return await fn();
  } catch (err) {
    throw classify(err, reason);
  }
}

export function classify(err: unknown, reason: Reason): Error {
  if (err instanceof ObjectFailure || err instanceof TransientError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof DigestMismatchError) return new ObjectFailure(reason, message, { cause: err });
  if (isTransient(err)) return new TransientError(`${reason}: ${message}`, { cause: err });
  return new ObjectFailure(reason, message, { cause: err });
}
