/**
 * Typed errors of the configure transforms. Each names the rule (0-based index into `spec.rules`) and
 * the file/path involved, so the handler can put the message into `Ready=False` unchanged.
 */
export class ConfigureError extends Error {
  override name = 'ConfigureError';
}

/** A rule that cannot be applied: bad file path, missing file, unparsable file, path that cannot be set. */
export class RuleError extends ConfigureError {
  override name = 'RuleError';
  constructor(
    readonly rule: number,
    readonly file: string,
    readonly path: string | undefined,
    detail: string,
  ) {
    super(`rule ${rule}: ${path === undefined ? '' : `path ${JSON.stringify(path)} in `}file ${JSON.stringify(file)}: ${detail}`);
  }
}

/** A dot path (`image.tag`, `spec.containers[0].image`) with bad syntax. */
export class ValuePathError extends ConfigureError {
  override name = 'ValuePathError';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`invalid value path ${JSON.stringify(path)}: ${detail}`);
  }
}

/** Localization could not find an image reference for a component resource. */
export class LocalizationError extends ConfigureError {
  override name = 'LocalizationError';
  constructor(
    readonly rule: number,
    detail: string,
  ) {
    super(`rule ${rule}: ${detail}`);
  }
}

/** A rule kind this implementation does not run (goTemplate). */
export class UnsupportedRuleError extends ConfigureError {
  override name = 'UnsupportedRuleError';
  constructor(
    readonly rule: number,
    detail: string,
  ) {
    super(`rule ${rule}: ${detail}`);
  }
}

/** The archive was expected to be a Helm chart and is not one (or its Chart.yaml is unusable). */
export class ChartError extends ConfigureError {
  override name = 'ChartError';
}
