/**
 * The three ways a stage can fail (docs/design.md §4):
 * - TransientError: try again later (registry/API down, conflicts). Hosts answer 5xx/429 so the broker retries.
 * - ObjectFailure: the object is wrong (bad spec, missing resource, signature mismatch). Written to its Ready=False
 *   condition; the host answers 2xx because a retry would not help.
 * - BadEventError: the event itself cannot be understood. Hosts answer 400/422 (not retried).
 */
import { RegistryUnavailableError } from '../oci/errors.js';

export class TransientError extends Error {
  override readonly name: string = 'TransientError';
  readonly transient = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A Snapshot's manifest is not in the registry: the Snapshot is being replaced (its producer deletes the old
 * manifest right after recording the new one) or the registry lost it. Retryable; a consumer first checks whether
 * the Snapshot moved on (shared/stagekit/dependencies.ts, `fetchInputLayer`).
 */
export class SnapshotContentMissingError extends TransientError {
  override readonly name = 'SnapshotContentMissingError';
}

export class ObjectFailure extends Error {
  override readonly name: string = 'ObjectFailure';
  /** status fields to write with the condition (e.g. `snapshotRef: null` when the output is gone) */
  readonly statusFields?: Record<string, unknown>;
  constructor(
    /** Condition reason, e.g. ComponentVerificationFailed (docs/design.md §3) or one of ours. */
    readonly reason: Reason,
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

/**
 * Best-effort classification of errors thrown by libraries: anything marked transient or named TransientError
 * (another copy of this class, e.g. in a second bundle chunk) or RetryLaterError (shared/server's), the registry client's RegistryUnavailableError, network errors, 408/409/429/5xx, looking through the `cause` chain (fetch and
 * the registry client wrap socket errors).
 */
export function isTransient(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof TransientError || e instanceof RegistryUnavailableError) return true;
    const r = e as { transient?: unknown; retryable?: unknown; code?: unknown; statusCode?: unknown; status?: unknown; name?: unknown };
    if (r.transient === true || r.retryable === true || r.name === 'TransientError' || r.name === 'RetryLaterError') return true;
    if (r.name === 'AbortError' || r.name === 'TimeoutError') return true;
    const code = typeof r.code === 'string' ? r.code : '';
    if (NETWORK_CODES.has(code) || code.startsWith('UND_ERR_')) return true;
    const status = typeof r.statusCode === 'number' ? r.statusCode : typeof r.status === 'number' ? r.status : 0;
    if (status === 408 || status === 409 || status === 429 || status >= 500) return true;
  }
  return false;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Reasons we use (ocm-k8s-toolkit's names where they exist; docs/design.md §3). */
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
  /** a component descriptor that cannot be read: broken YAML/JSON, a YAML alias bomb, too large, schema violations */
  DescriptorInvalid: 'DescriptorInvalid',
  /** a component version whose descriptor bytes do not match the digest its manifest names */
  DescriptorDigestMismatch: 'DescriptorDigestMismatch',
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
  /** our cosign signature of a published artifact could not be checked or pushed */
  SigningFailed: 'SigningFailed',
  OCIRepositoryExistsFailed: 'OCIRepositoryExistsFailed',
  /** the egress policy (shared/egress) refused a location the object names: no connection was made */
  SourceNotAllowed: 'SourceNotAllowed',
  TargetNotAllowed: 'TargetNotAllowed',
  // the Snapshot a stage records (shared/stagekit/snapshots.ts) and its finalizer
  CreateSnapshotFailed: 'CreateSnapshotFailed',
  SnapshotReadyFailed: 'SnapshotReadyFailed',
  DeleteOCIRepositoryFailed: 'DeleteOCIRepositoryFailed',
  DeleteSnapshotFailed: 'DeleteSnapshotFailed',
  /** a step failed in a way no step named (the reconcile frame's fallback) */
  ReconcileFailed: 'ReconcileFailed',
  /** not a condition reason: a registry event named a manifest that is not the object's current output */
  NotCurrentOutput: 'NotCurrentOutput',
} as const;

/** A condition reason (or an outcome's reason) from the vocabulary above: stages and the stage kit use no other. */
export type Reason = (typeof Reason)[keyof typeof Reason];
