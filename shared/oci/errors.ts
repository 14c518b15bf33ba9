/** One entry of a registry's `errors[]` body (distribution-spec "Error Codes"). */
export interface RegistryErrorDetail {
  code: string;
  message: string;
  detail?: unknown;
}

/** Base class of every error this package throws. */
export class OciError extends Error {
  override readonly name: string = 'OciError';
  /** HTTP status, when the error comes from a response. */
  readonly status: number | undefined;
  /** First registry error code (e.g. MANIFEST_UNKNOWN), when the registry sent one. */
  readonly code: string | undefined;
  /** All registry errors from the response body. */
  readonly errors: RegistryErrorDetail[];

  constructor(message: string, opts: { status?: number; errors?: RegistryErrorDetail[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = opts.status;
    this.errors = opts.errors ?? [];
    this.code = this.errors[0]?.code;
  }
}

/** 401/403, or no usable credentials for the registry's challenge. */
export class AuthError extends OciError {
  override readonly name = 'AuthError';
}

/** Manifest, blob, tag or repository does not exist (404). */
export class NotFoundError extends OciError {
  override readonly name = 'NotFoundError';
}

/**
 * Content does not hash to the digest it was addressed by: a registry blob or manifest, or an OCM descriptor,
 * resource or signature digest (shared/ocm throws this one class too). `what` names the content for messages.
 */
export class DigestMismatchError extends OciError {
  override readonly name = 'DigestMismatchError';
  constructor(
    readonly what: string,
    readonly expected: string,
    readonly actual: string,
    message = `${what}: digest mismatch, expected ${expected} but content hashes to ${actual}`,
  ) {
    super(message);
  }

  /** Content of the wrong length where a digest pinned it: the same verification failure, said in bytes. */
  static ofSize(what: string, expected: number, actual: number): DigestMismatchError {
    return new DigestMismatchError(what, String(expected), String(actual), `${what}: size mismatch, expected ${expected} bytes but got ${actual}`);
  }
}

export class SizeMismatchError extends OciError {
  override readonly name = 'SizeMismatchError';
  constructor(what: string, expected: number, actual: number) {
    super(`${what}: size mismatch, expected ${expected} bytes but got ${actual}`);
  }
}

/** A caller-side mistake: bad reference, repository name, tag or digest. Never retried. */
export class InvalidArgumentError extends OciError {
  override readonly name: string = 'InvalidArgumentError';
}

/** A string that is not a valid OCI image reference; names the reference and what is wrong with it. */
export class ImageReferenceError extends InvalidArgumentError {
  override readonly name = 'ImageReferenceError';
  constructor(
    readonly reference: string,
    detail: string,
  ) {
    super(`invalid image reference ${JSON.stringify(reference)}: ${detail}`);
  }
}

/**
 * The network failed or the registry answered 429/5xx after all retries: the registry-level cause. The stage kit's
 * `step()` turns it into the ports' TransientError (the stage outcome "retry later") with the step's reason.
 */
export class RegistryUnavailableError extends OciError {
  override readonly name = 'RegistryUnavailableError';
}

/** Parses a registry error body; tolerates non-JSON bodies (2.8 answers some 404s in text/plain). */
export function parseRegistryErrors(body: string): RegistryErrorDetail[] {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null) return [];
    const errors = (parsed as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) return [];
    return errors.flatMap((e: unknown): RegistryErrorDetail[] => {
      if (typeof e !== 'object' || e === null) return [];
      const rec = e as Record<string, unknown>;
      return [
        {
          code: typeof rec.code === 'string' ? rec.code : 'UNKNOWN',
          message: typeof rec.message === 'string' ? rec.message : '',
          ...(rec.detail === undefined ? {} : { detail: rec.detail }),
        },
      ];
    });
  } catch {
    return [];
  }
}

/** Builds the typed error for a failed response. */
export function errorForResponse(what: string, status: number, body: string): OciError {
  const errors = parseRegistryErrors(body);
  const summary = errors.length
    ? errors.map((e) => `${e.code}: ${e.message}`).join('; ')
    : body.trim().slice(0, 200) || '(empty body)';
  const message = `${what}: HTTP ${status}: ${summary}`;
  if (status === 401 || status === 403) return new AuthError(message, { status, errors });
  if (status === 404) return new NotFoundError(message, { status, errors });
  if (status === 429 || status >= 500) return new RegistryUnavailableError(message, { status, errors });
  return new OciError(message, { status, errors });
}
