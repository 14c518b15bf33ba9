/**
 * The reconcile frame: Flux-style handling of one object (fetch fresh, honour deletion and suspend, run the steps,
 * leave the Ready condition describing the outcome), one object at a time per lane, and many objects in a row.
 */
import { ObjectFailure, Reason, TransientError, type KubeObject, type KubePort, type Logger, type ObjectKey, type ObjectOutcome } from '../ports/index.js';
import { inLane } from './lanes.js';
import { InProgress, WaitingFor, type Applied, type ObjectResult } from './results.js';
import { writeStatus } from './status.js';
import { classify } from './step.js';

export interface ReconcileDeps {
  kube: KubePort;
  log?: Logger;
}

/**
 * Reconciles one object in its lane (lanes.ts). Transient errors are rethrown without touching status (each status
 * patch is itself an event; the broker's retry is the requeue).
 */
export async function reconcileObject<T extends KubeObject>(
  deps: ReconcileDeps,
  key: ObjectKey,
  run: (obj: T) => Promise<Applied>,
): Promise<ObjectResult> {
  return inLane(deps, `${key.kind}/${key.namespace}/${key.name}`, () => reconcileOnce(deps, key, run));
}

async function reconcileOnce<T extends KubeObject>(
  deps: ReconcileDeps,
  key: ObjectKey,
  run: (obj: T) => Promise<Applied>,
): Promise<ObjectResult> {
  const base = { kind: key.kind, namespace: key.namespace, name: key.name };
  const obj = await getOrRetry<T>(deps.kube, key);
  if (!obj) return { ...base, outcome: 'deleted' };
  if (obj.metadata.deletionTimestamp) return { ...base, outcome: 'deleted' };
  const spec = (obj.spec ?? {}) as { suspend?: boolean };
  if (spec.suspend === true) return { ...base, outcome: 'skipped', reason: Reason.Suspended };
  const generation = obj.metadata.generation;
  try {
    const applied = await run(obj);
    const wrote = await writeStatus(deps.kube, obj, {
      fields: applied.fields,
      ready: { status: 'True', reason: Reason.Succeeded, message: applied.message },
      observedGeneration: generation,
    });
    if (wrote && applied.outcome === 'applied') {
      await deps.kube.emitEvent(obj, 'Normal', Reason.Succeeded, applied.message);
    }
    const outcome: ObjectOutcome = applied.outcome === 'applied' || wrote ? 'applied' : 'unchanged';
    return { ...base, outcome, reason: Reason.Succeeded, message: applied.message, ...(applied.snapshot ? { snapshot: applied.snapshot } : {}) };
  } catch (err) {
    const failure = classify(err, Reason.ReconcileFailed);
    if (failure instanceof TransientError) throw failure;
    const f = failure as ObjectFailure;
    const reason = f.reason;
    if (f instanceof InProgress) return { ...base, outcome: 'waiting', reason, message: f.message };
    deps.log?.warn({ object: `${key.kind}/${key.namespace}/${key.name}`, reason, err: f.message }, 'not ready');
    const fields = f.statusFields ?? {};
    const wrote = await writeStatus(deps.kube, obj, {
      fields,
      ready: { status: 'False', reason, message: f.message },
      observedGeneration: generation,
    });
    if (wrote) await deps.kube.emitEvent(obj, 'Warning', reason, f.message);
    return { ...base, outcome: f instanceof WaitingFor ? 'waiting' : 'failed', reason, message: f.message };
  }
}

async function getOrRetry<T extends KubeObject>(kube: KubePort, key: ObjectKey): Promise<T | undefined> {
  try {
    return await kube.get<T>(key);
  } catch (err) {
    // The object itself cannot be at fault for a failed read: always retry.
    if (err instanceof TransientError) throw err;
    throw new TransientError(`reading ${key.kind} ${key.namespace}/${key.name}: ${String(err)}`, { cause: err });
  }
}

/** Runs reconciles one after another, collecting results; the first transient error is rethrown at the end. */
export async function reconcileAll(
  keys: ObjectKey[],
  one: (key: ObjectKey) => Promise<ObjectResult>,
): Promise<ObjectResult[]> {
  const results: ObjectResult[] = [];
  let transient: unknown;
  for (const key of keys) {
    try {
      results.push(await one(key));
    } catch (err) {
      if (err instanceof TransientError) {
        transient ??= err;
        results.push({ kind: key.kind, namespace: key.namespace, name: key.name, outcome: 'failed', message: err.message });
      } else {
        throw err;
      }
    }
  }
  if (transient) throw transient;
  return results;
}
