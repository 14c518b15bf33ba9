/** What an object's `Ready` condition says, the way tests ask it. */
import type { KubeObject } from '../../shared/ports/index.js';

export interface ReadySummary {
  status?: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

/** The `Ready` condition's status, reason, message and generation (all undefined when there is none). */
export function ready(obj: KubeObject | undefined): ReadySummary {
  const c = obj?.status?.conditions?.find((x) => x.type === 'Ready');
  return { status: c?.status, reason: c?.reason, message: c?.message, observedGeneration: c?.observedGeneration };
}

/** Ready=True, and for the object's current generation: what a controller that has caught up reports. */
export function isReadyNow(obj: KubeObject | undefined): boolean {
  const r = ready(obj);
  return r.status === 'True' && r.observedGeneration === obj?.metadata.generation;
}

/** Ready=True, for the current generation when the condition says which (Snapshots' does not). */
export function isReady(obj: KubeObject | undefined): boolean {
  const r = ready(obj);
  return r.status === 'True' && (r.observedGeneration === undefined || r.observedGeneration === obj?.metadata.generation);
}
