/**
 * The three ways a stage can fail (DESIGN §4):
 * - TransientError: try again later (registry/API down, conflicts). Hosts answer 5xx/429 so the broker retries.
 * - ObjectFailure: the object is wrong (bad spec, missing resource, signature mismatch). Written to its Ready=False
 *   condition; the host answers 2xx because a retry would not help.
 * - BadEventError: the event itself cannot be understood. Hosts answer 400/422 (not retried).
 */
export class TransientError extends Error {
  override readonly name = 'TransientError';
  readonly transient = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class ObjectFailure extends Error {
  override readonly name: string = 'ObjectFailure';
  /** status fields to write with the condition (e.g. `snapshotRef: null` when the output is gone) */
  readonly statusFields?: Record<string, unknown>;
  constructor(
    /** Condition reason, e.g. ComponentVerificationFailed (ocm.md §1.10) or one of ours. */
    readonly reason: string,
    message: string,
    options?: { cause?: unknown; statusFields?: Record<string, unknown> },
  ) {
    super(message, options);
    this.statusFields = options?.statusFields;
  }
}

export class BadEventError extends Error {
  override readonly name = 'BadEventError';
  readonly statusCode = 422;
  constructor(message: string) {
    super(message);
  }
}

/** Best-effort classification of errors thrown by libraries: anything marked transient, or a network error. */
export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { transient?: unknown; retryable?: unknown; code?: unknown; statusCode?: unknown; status?: unknown };
  if (e.transient === true || e.retryable === true) return true;
  const code = typeof e.code === 'string' ? e.code : '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET'].includes(code)) {
    return true;
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : typeof e.status === 'number' ? e.status : 0;
  return status === 429 || status >= 500;
}

/** Reasons we use (upstream names where they exist, ocm.md §1.10). */
export const Reason = {
  Succeeded: 'Succeeded',
  Progressing: 'Progressing',
  Suspended: 'Suspended',
  SpecInvalid: 'SpecInvalid',
  RepositorySpecInvalid: 'RepositorySpecInvalid',
  RepositoryIsNotReady: 'RepositoryIsNotReady',
  ConfigFetchFailed: 'ConfigFetchFailed',
  GetComponentFailed: 'GetComponentFailed',
  CheckVersionFailed: 'CheckVersionFailed',
  GetComponentDescriptorsFailed: 'GetComponentDescriptorsFailed',
  ComponentVerificationFailed: 'ComponentVerificationFailed',
  ComponentIsNotReady: 'ComponentIsNotReady',
  ResolveResourceFailed: 'ResolveResourceFailed',
  GetResourceAccessFailed: 'GetResourceAccessFailed',
  GetResourceFailed: 'GetResourceFailed',
  VerifyResourceFailed: 'VerifyResourceFailed',
  PushSnapshotFailed: 'PushSnapshotFailed',
  CopyOCIArtifactFailed: 'CopyOCIArtifactFailed',
  TargetFetchFailed: 'TargetFetchFailed',
  TargetIsNotReady: 'TargetIsNotReady',
  ConfigurationFailed: 'ConfigurationFailed',
  SourceIsNotReady: 'SourceIsNotReady',
  CreateOCIRepositoryFailed: 'CreateOCIRepositoryFailed',
  ReplicationFailed: 'ReplicationFailed',
  OCIRepositoryExistsFailed: 'OCIRepositoryExistsFailed',
} as const;
