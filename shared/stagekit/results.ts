/** What one reconcile ends in: the result types and the two failures that mean "not yet" rather than "wrong". */
import { ObjectFailure, type Condition, type Reason, type StageResult } from '../ports/index.js';

/** A dependency is not ready yet (Ready=False with the reason); a later event on the dependency retriggers us. */
export class WaitingFor extends ObjectFailure {}

/**
 * A dependency is mid-update (its Snapshot spec changed, its Ready status not yet): say nothing, the dependency's
 * next status patch is an event that brings us back. Avoids flapping Ready=False on every hand-over.
 */
export class InProgress extends ObjectFailure {}

/** The failure an object's Ready=False condition already records, to end a reconcile that has nothing new to say. */
export function recordedFailure(ready: Condition): ObjectFailure {
  // only the stages write our kinds' status, so a recorded reason is one of the vocabulary
  return new ObjectFailure(ready.reason as Reason, ready.message);
}

/** What a successful reconcile writes to the object's status. */
export interface Applied {
  outcome: 'applied' | 'unchanged';
  message: string;
  fields: Record<string, unknown>;
  /** the Snapshot written (for the reply event) */
  snapshot?: SnapshotRef;
}

export interface SnapshotRef {
  name: string;
  namespace: string;
  /** `host/<repository>` */
  repository: string;
  digest: string;
  tag?: string;
}

export type ObjectResult = StageResult['objects'][number] & { snapshot?: SnapshotRef };
