import type { CommonStatus, Condition, KubeObject } from '../ports/index.js';

export function readyCondition(obj: KubeObject | undefined): Condition | undefined {
  return obj?.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Ready=True and the status describes the current spec. */
export function isReadyCurrent(obj: KubeObject | undefined): boolean {
  if (!obj) return false;
  const ready = readyCondition(obj);
  const gen = obj.metadata.generation;
  const observed = (obj.status as CommonStatus | undefined)?.observedGeneration;
  return ready?.status === 'True' && (gen === undefined || observed === gen);
}
