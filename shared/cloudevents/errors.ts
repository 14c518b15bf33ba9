/**
 * Errors about the incoming event itself (not the object it points at). Each carries the HTTP status the
 * function host answers with, so Knative does not retry what can never succeed (docs/design.md §4: 400/415/422 are
 * not retried; they go to the Trigger's dead-letter sink).
 */
export type EventErrorStatus = 400 | 413 | 415 | 422;

export class EventError extends Error {
  override name = 'EventError';
  constructor(
    message: string,
    /** HTTP status the host answers with. */
    readonly status: EventErrorStatus,
    /** Dotted path of the offending attribute or data field, e.g. `data.metadata.name` or `type`. */
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The body or headers are not a CloudEvent at all, or not valid per the CloudEvents spec (400). */
export class MalformedEventError extends EventError {
  override name = 'MalformedEventError';
  constructor(message: string, field?: string, options?: { cause?: unknown }) {
    super(message, 400, field, options);
  }
}

/** A CloudEvent encoding we do not accept, e.g. batch mode (415). */
export class UnsupportedEncodingError extends EventError {
  override name = 'UnsupportedEncodingError';
  constructor(message: string) {
    super(message, 415, 'content-type');
  }
}

/** A valid CloudEvent whose type or data does not describe something this function can act on (422). */
export class InvalidEventError extends EventError {
  override name = 'InvalidEventError';
  constructor(message: string, field?: string) {
    super(message, 422, field);
  }
}

export function isEventError(err: unknown): err is EventError {
  return err instanceof EventError;
}
