/**
 * The Ready condition, Flux-style: one condition type, a reason and a message, the generation it
 * describes, and a lastTransitionTime that moves only when the status (True/False/Unknown) changes.
 */
import type { Condition, KubeObject } from './types.js';

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

type WithConditions = KubeObject<string, unknown, { conditions?: Condition[]; observedGeneration?: number } | undefined>;

export function readyCondition(obj: WithConditions): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === READY);
}

/** Ready=True for the object's current generation. */
export function isReady(obj: WithConditions): boolean {
  const c = readyCondition(obj);
  return c?.status === 'True' && (obj.metadata.generation === undefined || c.observedGeneration === obj.metadata.generation);
}
