/**
 * Typed errors of the OCM library. Every error carries a `code` so callers (the stage handlers) can map it
 * to a condition reason without parsing messages, and a message that names the object/field concerned.
 */

export type OcmErrorCode =
  | 'DescriptorParse'
  | 'DescriptorValidation'
  | 'DescriptorTooLarge'
  | 'RepositorySpec'
  | 'ComponentNotFound'
  | 'VersionNotFound'
  | 'NoMatchingVersion'
  | 'Downgrade'
  | 'InvalidConstraint'
  | 'ArtifactFormat'
  | 'ArtifactSetInvalid'
  | 'ReferenceCycle'
  | 'ReferenceNotFound'
  | 'ResourceNotFound'
  | 'AmbiguousResource'
  | 'UnsupportedAccessType'
  | 'AccessFailed'
  | 'UnsupportedDigest'
  | 'SignatureMissing'
  | 'SignatureInvalid'
  | 'UnsupportedSignature'
  | 'KeyMissing'
  | 'CertificateInvalid'
  | 'UnsupportedNormalisation'
  | 'Transport';

export class OcmError extends Error {
  readonly code: OcmErrorCode;
  constructor(code: OcmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Broken YAML/JSON, or a document that is not an object. `path` is the JSON path of the problem ('' = root). */
export class DescriptorParseError extends OcmError {
  constructor(
    message: string,
    readonly path = '',
    options?: { cause?: unknown },
  ) {
    super('DescriptorParse', message, options);
  }
}

export interface FieldProblem {
  /** JSON pointer style path, e.g. `/component/resources/0/name` */
  path: string;
  message: string;
}

/** Valid YAML/JSON that violates the descriptor schema. `path` names the first offending field. */
export class DescriptorValidationError extends OcmError {
  readonly path: string;
  constructor(
    readonly problems: FieldProblem[],
    schema: string,
  ) {
    const first = problems[0] ?? { path: '', message: 'invalid' };
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    super('DescriptorValidation', `component descriptor (${schema}) invalid at ${first.path || '/'}: ${first.message}${more}`);
    this.path = first.path;
  }
}

export class DescriptorTooLargeError extends OcmError {
  constructor(size: number, limit: number) {
    super('DescriptorTooLarge', `component descriptor is ${size} bytes, above the limit of ${limit} bytes`);
  }
}

export class RepositorySpecError extends OcmError {
  constructor(message: string) {
    super('RepositorySpec', message);
  }
}

export class ComponentNotFoundError extends OcmError {
  constructor(component: string, where: string) {
    super('ComponentNotFound', `component ${component} not found in ${where}`);
  }
}

export class VersionNotFoundError extends OcmError {
  constructor(component: string, version: string, where: string) {
    super('VersionNotFound', `component version ${component}:${version} not found in ${where}`);
  }
}

export class NoMatchingVersionError extends OcmError {
  constructor(component: string, constraint: string, filter: string | undefined, available: string[]) {
    const f = filter ? ` and filter /${filter}/` : '';
    super(
      'NoMatchingVersion',
      `no version of ${component} matches semver "${constraint}"${f} (available: ${available.slice(0, 20).join(', ') || 'none'})`,
    );
  }
}

export class InvalidConstraintError extends OcmError {
  constructor(what: string, value: string, detail: string) {
    super('InvalidConstraint', `invalid ${what} "${value}": ${detail}`);
  }
}

export class DowngradeError extends OcmError {
  constructor(component: string, current: string, candidate: string, reason: string) {
    super('Downgrade', `downgrade of ${component} from ${current} to ${candidate} refused: ${reason}`);
  }
}

export class ArtifactFormatError extends OcmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ArtifactFormat', message, options);
  }
}

export class ReferenceCycleError extends OcmError {
  constructor(readonly cycle: string[]) {
    super('ReferenceCycle', `component reference cycle: ${cycle.join(' -> ')}`);
  }
}

export class ReferenceNotFoundError extends OcmError {
  constructor(component: string, identity: Record<string, string>) {
    super('ReferenceNotFound', `component ${component} has no component reference ${JSON.stringify(identity)}`);
  }
}

export class ResourceNotFoundError extends OcmError {
  constructor(component: string, identity: Record<string, string>) {
    super('ResourceNotFound', `component ${component} has no resource ${JSON.stringify(identity)}`);
  }
}

export class AmbiguousResourceError extends OcmError {
  constructor(component: string, identity: Record<string, string>, count: number) {
    super(
      'AmbiguousResource',
      `resource ${JSON.stringify(identity)} of component ${component} matches ${count} resources; add extraIdentity/version to select one`,
    );
  }
}

export class UnsupportedAccessTypeError extends OcmError {
  constructor(readonly accessType: string) {
    super('UnsupportedAccessType', `unsupported access type ${accessType}`);
  }
}

export class AccessError extends OcmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AccessFailed', message, options);
  }
}

/** Content that does not hash to its digest is the OCI client's one error class, whichever layer checks it. */
export { DigestMismatchError } from '../oci/errors.js';

export class UnsupportedDigestError extends OcmError {
  constructor(message: string) {
    super('UnsupportedDigest', message);
  }
}

export class UnsupportedNormalisationError extends OcmError {
  constructor(algorithm: string) {
    super('UnsupportedNormalisation', `unsupported normalisation algorithm ${algorithm}`);
  }
}

export class SignatureMissingError extends OcmError {
  constructor(component: string, name: string) {
    super('SignatureMissing', `component version ${component} has no signature named "${name}"`);
  }
}

export class SignatureInvalidError extends OcmError {
  constructor(component: string, name: string, detail: string) {
    super('SignatureInvalid', `signature "${name}" of ${component} is invalid: ${detail}`);
  }
}

export class UnsupportedSignatureError extends OcmError {
  /** `signature`: which one, e.g. `signature "acme" of acme.org/app:1.0.0` */
  constructor(algorithm: string, detail = '', signature = '') {
    super('UnsupportedSignature', `${signature ? `${signature}: ` : ''}signature algorithm ${algorithm} is not supported${detail ? `: ${detail}` : ''}`);
  }
}

export class KeyMissingError extends OcmError {
  constructor(name: string) {
    super('KeyMissing', `no public key or certificate given for signature "${name}"`);
  }
}

export class CertificateError extends OcmError {
  constructor(message: string) {
    super('CertificateInvalid', message);
  }
}

/** Network/registry/file-system failures that are worth retrying. */
export class TransportError extends OcmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Transport', message, options);
  }
}
