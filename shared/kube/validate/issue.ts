/** One problem with an object, located by a field path (apiserver style: spec.verify[0].signature). */
export interface ValidationIssue {
  path: string;
  message: string;
  /** errors reject the object; warnings are reported and the object is accepted */
  severity: 'error' | 'warning';
  /** which layer found it: OpenAPI schema, CEL rule, semantic (webhook) check, or a reference lookup */
  source: 'schema' | 'cel' | 'semantic' | 'reference';
}

export function formatIssue(i: ValidationIssue): string {
  return i.path === '' ? i.message : `${i.path}: ${i.message}`;
}

export function errors(issues: readonly ValidationIssue[]): ValidationIssue[] {
  return issues.filter((i) => i.severity === 'error');
}

/** Thrown by callers that want an exception instead of a list. */
export class ObjectInvalidError extends Error {
  override readonly name = 'ObjectInvalidError';
  constructor(
    readonly object: string,
    readonly issues: readonly ValidationIssue[],
  ) {
    super(`${object} is invalid: ${errors(issues).map(formatIssue).join('; ')}`);
  }
}

export function childPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
export function indexPath(path: string, index: number | string): string {
  return `${path}[${index}]`;
}
