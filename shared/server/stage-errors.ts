/** Kept apart from stage-adapter.ts so a function's main can import it without loading the CloudEvents SDK. */
import { InvalidEventError } from '../cloudevents/errors.js';
import { BadEventError } from '../ports/errors.js';
import type { ErrorClassifier } from './outcome.js';

/** The ports' BadEventError is an event problem (422), not a server error. */
export const stageErrorClassifier: ErrorClassifier = (err) =>
  err instanceof BadEventError || err instanceof InvalidEventError ? { kind: 'event', status: 422 } : undefined;
