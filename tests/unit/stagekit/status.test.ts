import { describe, expect, it } from 'vitest';
import { MemoryKube } from '../../../functions/adapters/memory-kube.js';
import { API_VERSION, Reason, type ComponentObject, type KubePort, type ObjectKey, type StatusPatch } from '../../../shared/ports/index.js';
import { writeStatus } from '../../../shared/stagekit/status.js';
import { NS } from './rig.js';

/** counts patches: our own status patches come back as update events, so a no-op patch must not happen */
function counting(kube: MemoryKube): KubePort & { patches: number } {
  const counted = Object.create(kube) as MemoryKube & { patches: number };
  counted.patches = 0;
  counted.patchStatus = async (key: ObjectKey, patch: StatusPatch) => {
    counted.patches++;
    return kube.patchStatus(key, patch);
  };
  return counted;
}

describe('writeStatus', () => {
  it('patches only when the condition, the generation or a field would change; null removes a field', async () => {
    const memory = new MemoryKube();
    const kube = counting(memory);
    const key: ObjectKey = { kind: 'Component', namespace: NS, name: 'c' };
    await memory.upsert({ apiVersion: API_VERSION, kind: 'Component', metadata: { name: 'c', namespace: NS }, spec: {} });
    const read = async () => (await memory.get<ComponentObject>(key))!;
    const patch: StatusPatch = {
      fields: { snapshotRef: { name: 'component-c' } },
      ready: { status: 'True', reason: Reason.Succeeded, message: 'ok' },
      observedGeneration: 1,
    };
    expect(await writeStatus(kube, await read(), patch)).toBe(true);
    expect(await writeStatus(kube, await read(), patch)).toBe(false);
    expect(kube.patches).toBe(1);
    expect(await writeStatus(kube, await read(), { ...patch, ready: { ...patch.ready!, message: 'other' } })).toBe(true);
    expect(await writeStatus(kube, await read(), { fields: { snapshotRef: null } })).toBe(true);
    expect((await read()).status?.snapshotRef).toBeUndefined();
    expect(await writeStatus(kube, await read(), { fields: { snapshotRef: null } })).toBe(false);
    expect(kube.patches).toBe(3);
  });
});
