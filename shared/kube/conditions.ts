/**
 * The one conditions module: reading and writing the Ready condition, Flux-style: one condition type, a reason and a message, the generation it
 * describes, and a lastTransitionTime that moves only when the status (True/False/Unknown) changes.
 */
import type { Condition } from './types.js';

export const READY = 'Ready';

export interface ReadyInput {
  status: 'True' | 'False' | 'Unknown';
  /** the stages' reasons are shared/ports `Reason`; this client writes whatever condition it is given */
  reason: string;
  message: string;
  observedGeneration: number;
}

const MAX_MESSAGE = 32768;

/**
 * Returns the conditions with Ready set. Other condition types are dropped (only Ready is used);
 * lastTransitionTime is kept unless the status value changes.
 */
export function withReady(conditions: readonly Condition[] | undefined, input: ReadyInput, now: Date = new Date()): Condition[] {
  const prev = conditions?.find((c) => c.type === READY);
  const message = input.message.length > MAX_MESSAGE ? `${input.message.slice(0, MAX_MESSAGE - 3)}...` : input.message;
  return [
    {
      type: READY,
      status: input.status,
      reason: input.reason,
      message,
      observedGeneration: input.observedGeneration,
      lastTransitionTime: prev !== undefined && prev.status === input.status ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
  ];
}

/** What reading Ready needs: any object view fits (the schema types, the handlers' view, a test's literal). */
interface WithConditions<C extends Condition> {
  metadata: { generation?: number };
  status?: { conditions?: C[]; observedGeneration?: number };
}

export function readyCondition<C extends Condition>(obj: WithConditions<C> | undefined): C | undefined {
  return obj?.status?.conditions?.find((c) => c.type === READY);
}

/** Ready=True and the status describes the current spec (status.observedGeneration is the object's generation). */
export function isReadyCurrent<C extends Condition>(obj: WithConditions<C> | undefined): boolean {
  if (!obj) return false;
  const ready = readyCondition(obj);
  const gen = obj.metadata.generation;
  return ready?.status === 'True' && (gen === undefined || obj.status?.observedGeneration === gen);
}
