import { keyOf, type CommonStatus, type KubeObject, type KubePort, type StatusPatch } from '../ports/index.js';
import { readyCondition } from '../kube/conditions.js';
import { canonicalJson } from './input-digest.js';

/** Patches status only when something in it would change (our own patches come back as update events). */
export async function writeStatus(kube: KubePort, obj: KubeObject, patch: StatusPatch): Promise<boolean> {
  const status = (obj.status ?? {}) as CommonStatus & Record<string, unknown>;
  const ready = readyCondition(obj);
  let changed = false;
  if (patch.observedGeneration !== undefined && status.observedGeneration !== patch.observedGeneration) changed = true;
  if (patch.ready) {
    if (
      !ready ||
      ready.status !== patch.ready.status ||
      ready.reason !== patch.ready.reason ||
      ready.message !== patch.ready.message ||
      (patch.observedGeneration !== undefined && ready.observedGeneration !== patch.observedGeneration)
    ) {
      changed = true;
    }
  }
  for (const [k, v] of Object.entries(patch.fields ?? {})) {
    const cur = status[k];
    if (v === null ? cur !== undefined : canonicalJson(cur) !== canonicalJson(v)) changed = true;
  }
  if (!changed) return false;
  return kube.patchStatus(keyOf(obj), patch);
}
