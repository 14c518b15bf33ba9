/** Typed errors for Kubernetes API failures, carrying the server's own message. */
import { ApiException } from '@kubernetes/client-node';

export interface StatusCause {
  field?: string;
  reason?: string;
  message?: string;
}

export class KubeError extends Error {
  override name = 'KubeError';
  constructor(
    /** HTTP status (0 when the server could not be reached) */
    readonly status: number,
    /** the Status reason, e.g. NotFound, Conflict, Invalid, Forbidden */
    readonly reason: string,
    message: string,
    /** the object the call was about, e.g. "Component default/podinfo" */
    readonly object: string,
    readonly causes: StatusCause[] = [],
  ) {
    super(message);
  }
  /** worth retrying later: conflicts, throttling, server-side and network failures */
  get transient(): boolean {
    return this.status === 0 || this.status === 409 || this.status === 429 || this.status >= 500;
  }
}
export class NotFoundError extends KubeError {
  override name = 'NotFoundError';
}
export class ConflictError extends KubeError {
  override name = 'ConflictError';
}
export class AlreadyExistsError extends KubeError {
  override name = 'AlreadyExistsError';
}
export class InvalidError extends KubeError {
  override name = 'InvalidError';
}
export class ForbiddenError extends KubeError {
  override name = 'ForbiddenError';
}
export class UnauthorizedError extends KubeError {
  override name = 'UnauthorizedError';
}

interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
  details?: { causes?: StatusCause[] };
}

function parseStatus(body: unknown): StatusBody | undefined {
  if (typeof body === 'object' && body !== null) return body as StatusBody;
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    return JSON.parse(body) as StatusBody;
  } catch {
    return { message: body.slice(0, 500) };
  }
}

const DEFAULT_REASON: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/**
 * Converts whatever a client-node call threw into a KubeError. Never includes request headers or
 * tokens (ApiException.message contains all response headers, so it is not used).
 */
export function toKubeError(e: unknown, object: string): KubeError {
  if (e instanceof KubeError) return e;
  if (e instanceof ApiException) {
    const code = e.code;
    const st = parseStatus(e.body);
    const reason = st?.reason ?? DEFAULT_REASON[code] ?? `HTTP${code}`;
    const message = st?.message ?? `${object}: the API server answered ${code} ${reason}`;
    const causes = st?.details?.causes ?? [];
    if (code === 404) return new NotFoundError(code, reason, message, object, causes);
    if (code === 409 && reason === 'AlreadyExists') return new AlreadyExistsError(code, reason, message, object, causes);
    if (code === 409) return new ConflictError(code, reason, message, object, causes);
    if (code === 422) return new InvalidError(code, reason, message, object, causes);
    if (code === 403) return new ForbiddenError(code, reason, message, object, causes);
    if (code === 401) return new UnauthorizedError(code, reason, `${object}: unauthorized (check the token or client certificate)`, object, causes);
    return new KubeError(code, reason, message, object, causes);
  }
  const err = e as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  const detail = err.cause?.message ?? err.message ?? String(e);
  return new KubeError(0, 'ConnectionFailed', `${object}: could not reach the API server: ${detail}`, object);
}

export const isNotFound = (e: unknown): e is NotFoundError => e instanceof NotFoundError;
export const isConflict = (e: unknown): e is ConflictError => e instanceof ConflictError;
