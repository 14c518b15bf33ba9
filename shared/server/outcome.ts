/** An SDK `CloudEvent` or a plain object with the same attributes (validated by the host before sending). */
export type ReplyEvent = CloudEventV1<unknown>;

/**
 * What a handler returns and how failures map to HTTP (docs/design.md §4):
 * - `done` / `skipped` / `failed` are all 2xx: the work is durable, there was nothing to do, or the failure
 *   belongs to the object and is already on its Ready=False condition (a retry would not help).
 * - Thrown EventError -> 400/413/415/422 (never retried); RetryLaterError and recognised network/API errors
 *   -> 503/429 (retried by the broker with backoff); anything else -> 500 (retried, then dead-lettered).
 */
import type { CloudEventV1 } from 'cloudevents';
import { EventError } from '../cloudevents/errors.js';
import type { SnapshotInfo } from '../cloudevents/build.js';

export type Outcome =
  /** The stage's result is pushed and the status patched. */
  | { result: 'done'; snapshot?: SnapshotInfo; reply?: ReplyEvent; detail?: string }
  /** Nothing to do (same input digest, suspended, not ours, object gone...). */
  | { result: 'skipped'; reason: string; detail?: string }
  /** Object-level failure, written to the object's Ready=False condition. */
  | { result: 'failed'; reason: string; message: string; reply?: ReplyEvent };

export type TransientStatus = 429 | 500 | 502 | 503 | 504;

/**
 * Throw this (or have the classifier recognise your error) for failures a later retry may fix: the host answers
 * with its status (503 unless said) and Retry-After. A Stage's own "retry later" is shared/ports' TransientError.
 */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  readonly status: TransientStatus;
  readonly retryAfterSeconds?: number;
  constructor(message: string, options: { status?: TransientStatus; retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status ?? 503;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export type ErrorClass =
  | { kind: 'event'; status: 400 | 413 | 415 | 422; field?: string }
  | { kind: 'transient'; status: TransientStatus; retryAfterSeconds?: number }
  | { kind: 'error'; status: 500 };

/** Return undefined to fall back to the default classification. */
export type ErrorClassifier = (err: unknown) => ErrorClass | undefined;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

function numericStatus(err: Record<string, unknown>): number | undefined {
  for (const key of ['statusCode', 'status', 'code']) {
    const v = err[key];
    if (typeof v === 'number' && v >= 100 && v < 600) return v;
  }
  return undefined;
}

function retryAfterOf(err: Record<string, unknown>): number | undefined {
  const headers = err['headers'];
  let raw: unknown;
  if (headers && typeof headers === 'object') {
    const h = headers as Record<string, unknown> & { get?: (k: string) => unknown };
    raw = typeof h.get === 'function' ? h.get('retry-after') : (h['retry-after'] ?? h['Retry-After']);
  }
  const n = typeof raw === 'string' || typeof raw === 'number' ? Number(raw) : NaN;
  return Number.isFinite(n) && n >= 0 ? Math.ceil(n) : undefined;
}

/**
 * Default mapping: EventError and RetryLaterError as declared; network errors, timeouts, and upstream
 * HTTP 408/409/429/5xx (e.g. a Kubernetes ApiException or registry error carrying `statusCode`) are
 * transient; everything else is a 500.
 */
export function classifyError(err: unknown, custom?: ErrorClassifier): ErrorClass {
  const c = custom?.(err);
  if (c) return c;
  if (err instanceof EventError) return { kind: 'event', status: err.status, ...(err.field ? { field: err.field } : {}) };
  if (err instanceof RetryLaterError) {
    return { kind: 'transient', status: err.status, ...(err.retryAfterSeconds !== undefined ? { retryAfterSeconds: err.retryAfterSeconds } : {}) };
  }
  // Walk the cause chain: fetch() wraps socket errors in `cause`.
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const rec = e as Record<string, unknown>;
    // Errors that declare themselves retryable (e.g. shared/ports TransientError, AWS SDK errors).
    if (rec['transient'] === true || rec['retryable'] === true) return { kind: 'transient', status: 503 };
    if (typeof rec['code'] === 'string' && NETWORK_CODES.has(rec['code'])) return { kind: 'transient', status: 503 };
    if (rec['name'] === 'AbortError' || rec['name'] === 'TimeoutError') return { kind: 'transient', status: 503 };
    const status = numericStatus(rec);
    if (status === 429) {
      const ra = retryAfterOf(rec);
      return { kind: 'transient', status: 429, ...(ra !== undefined ? { retryAfterSeconds: ra } : {}) };
    }
    if (status === 408 || status === 409 || (status !== undefined && status >= 500)) return { kind: 'transient', status: 503 };
    e = rec['cause'];
  }
  return { kind: 'error', status: 500 };
}
