import { setTimeout as sleep } from 'node:timers/promises';
import { OciError, RegistryUnavailableError } from './errors.js';

export interface RetryPolicy {
  /** Attempts in total, including the first. */
  maxAttempts: number;
  /** Delay before the 2nd attempt; doubles each time. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Upper bound for a server's Retry-After. */
  maxRetryAfterMs: number;
}

/** Told before each retry (logs, metrics, tests): the error that failed attempt `attempt`, and the wait. */
export type OnRetry = (err: Error, attempt: number, delayMs: number) => void;

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
};

/** 429 and 5xx are worth another try (except 501/505: the server will never support it). 4xx never. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  // a TLS stream the server broke off (see connection-errors.ts): a fresh connection starts clean
  'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC',
]);

/** True for connection-level failures (refused, reset, timed out), looking through `cause` chains. */
export function isNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Parses Retry-After (delta-seconds or HTTP-date) into milliseconds; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Delay before attempt `attempt + 1` (attempt counts from 1): exponential backoff with "equal jitter" (half fixed,
 * half random), so retries of many clients spread out but never collapse to zero. A server's Retry-After wins,
 * capped at maxRetryAfterMs.
 */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return exp / 2 + random() * (exp / 2);
}

/** Thrown by an attempt to ask for another try; carries the server's Retry-After. */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  constructor(
    readonly error: Error,
    readonly retryAfterMs?: number,
  ) {
    super(error.message, { cause: error });
  }
}

/**
 * Runs `attempt` until it succeeds, throws a non-retryable error, or the policy is exhausted. An attempt signals
 * "retry me" by throwing RetryableError or a network error; the last underlying error is rethrown.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  attempt: (n: number) => Promise<T>,
  onRetry?: OnRetry,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      const retryable = err instanceof RetryableError || isNetworkError(err);
      const underlying = err instanceof RetryableError ? err.error : (err as Error);
      if (!retryable || n >= policy.maxAttempts) throw underlying;
      const delay = backoffDelay(policy, n, err instanceof RetryableError ? err.retryAfterMs : undefined);
      onRetry?.(underlying, n, delay);
      await sleep(delay);
    }
  }
}

/**
 * What a caller sees once the retries are spent: a network error becomes a RegistryUnavailableError naming the operation
 * (the code and message of the socket error kept); an OciError or any other error passes unchanged.
 */
export function wrapNetworkError(err: unknown, what: string): unknown {
  if (err instanceof OciError) return err;
  if (isNetworkError(err)) {
    const e = err as Error & { code?: string };
    return new RegistryUnavailableError(`${what}: network error: ${e.code ?? ''} ${e.message}`.trim(), { cause: err });
  }
  return err;
}
