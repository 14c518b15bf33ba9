import { DigestMismatchError } from '../artifacts.js';
import { BadEventError, ObjectFailure, TransientError, isTransient } from '../errors.js';
import { FLUX_SOURCE_API_VERSION, OUR_KINDS, isOurKind, type CommonStatus, type KubeObject } from '../kinds.js';
import type { KubePort, ObjectKey, StatusPatch } from '../kube.js';
import type { Hint, Logger, ObjectOutcome, Stage, StageResult } from '../stage.js';
import { canonicalJson } from './names.js';
import { readyCondition } from './conditions.js';

/** A dependency is not ready yet (Ready=False with the reason); a later event on the dependency retriggers us. */
export class WaitingFor extends ObjectFailure {}

/**
 * A dependency is mid-update (its Snapshot spec changed, its Ready status not yet): say nothing, the dependency's
 * next status patch is an event that brings us back. Avoids flapping Ready=False on every hand-over.
 */
export class InProgress extends ObjectFailure {}

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

/**
 * Runs one step; classifies what it throws: ObjectFailure/TransientError pass through, digest mismatches and other
 * non-retryable errors become ObjectFailure(reason), retryable ones TransientError (so the broker retries).
 */
export async function step<R>(reason: string, fn: () => Promise<R> | R): Promise<R> {
  try {
    return await fn();
  } catch (err) {
    throw classify(err, reason);
  }
}

export function classify(err: unknown, reason: string): Error {
  if (err instanceof ObjectFailure || err instanceof TransientError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof DigestMismatchError) return new ObjectFailure(reason, message, { cause: err });
  if (isTransient(err)) return new TransientError(`${reason}: ${message}`, { cause: err });
  return new ObjectFailure(reason, message, { cause: err });
}

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
  return kube.patchStatus(keyFor(obj), patch);
}

export function keyFor(obj: KubeObject): ObjectKey {
  return { kind: obj.kind as ObjectKey['kind'], namespace: obj.metadata.namespace, name: obj.metadata.name };
}

export interface ReconcileDeps {
  kube: KubePort;
  log?: Logger;
}

/**
 * Flux-style frame around one object: fetch fresh, honour deletion and suspend, run the steps, and always leave the
 * Ready condition describing the outcome. Transient errors are rethrown without touching status (each status patch
 * is itself an event; the broker's retry is the requeue).
 */
export async function reconcileObject<T extends KubeObject>(
  deps: ReconcileDeps,
  key: ObjectKey,
  run: (obj: T) => Promise<Applied>,
): Promise<ObjectResult> {
  let lane = lanes.get(deps);
  if (!lane) lanes.set(deps, (lane = new Map()));
  return serialized(lane, `${key.kind}/${key.namespace}/${key.name}`, () => reconcileOnce(deps, key, run));
}

/** per stage instance (its deps object): another instance is another process as far as ordering goes */
const lanes = new WeakMap<ReconcileDeps, Map<string, Lane>>();

/** The last reconcile scheduled for an object, and whether it has started reading yet. */
interface Lane {
  run: Promise<unknown>;
  started: boolean;
}

/**
 * One reconcile per object at a time within a process: events for the same object arrive together (an add and the
 * status update of what it depends on), and running them one after the other makes the second one a cheap no-op
 * instead of a duplicate push. Across processes the input checks keep results correct.
 *
 * Requests that arrive while one is already waiting join it, as in a controller's work queue: the waiting reconcile
 * has not read anything yet, so it sees everything the joiners' events announced (a burst of N events for one
 * object costs at most two reconciles, not N). A joiner gets the waiting run's thoroughness, not its own: a resync
 * tick that joins an event's reconcile of a Component leaves a due version check to the next tick.
 */
async function serialized<R>(lanes: Map<string, Lane>, key: string, fn: () => Promise<R>): Promise<R> {
  const tail = lanes.get(key);
  if (tail && !tail.started) return tail.run as Promise<R>;
  const lane: Lane = { run: Promise.resolve(), started: false };
  const run = (tail?.run ?? Promise.resolve())
    .catch(() => undefined)
    .then(() => {
      lane.started = true;
      return fn();
    });
  lane.run = run;
  lanes.set(key, lane);
  try {
    return await run;
  } finally {
    if (lanes.get(key) === lane) lanes.delete(key);
  }
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
  if (spec.suspend === true) return { ...base, outcome: 'skipped', reason: 'Suspended' };
  const generation = obj.metadata.generation;
  try {
    const applied = await run(obj);
    const wrote = await writeStatus(deps.kube, obj, {
      fields: applied.fields,
      ready: { status: 'True', reason: 'Succeeded', message: applied.message },
      observedGeneration: generation,
    });
    if (wrote && applied.outcome === 'applied') {
      await deps.kube.emitEvent(obj, 'Normal', 'Succeeded', applied.message);
    }
    const outcome: ObjectOutcome = applied.outcome === 'applied' || wrote ? 'applied' : 'unchanged';
    return { ...base, outcome, reason: 'Succeeded', message: applied.message, ...(applied.snapshot ? { snapshot: applied.snapshot } : {}) };
  } catch (err) {
    const failure = classify(err, 'ReconcileFailed');
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

/**
 * The optional reply CloudEvent (docs/design.md §4): `software.ocm.serverless.snapshot.ready` for the first object that got
 * new output, else `.failed` for the first object-level failure. Nothing internal depends on it.
 */
export function replyFor(stage: string, apiVersion: string, results: ObjectResult[]): StageResult['reply'] {
  const done = results.find((r) => r.outcome === 'applied' && r.snapshot);
  const failed = results.find((r) => r.outcome === 'failed');
  const r = done ?? failed;
  if (!r) return undefined;
  const object = { apiVersion, kind: r.kind, namespace: r.namespace, name: r.name };
  return {
    type: done ? 'software.ocm.serverless.snapshot.ready' : 'software.ocm.serverless.snapshot.failed',
    subject: `/apis/${apiVersion}/namespaces/${r.namespace}/${r.kind.toLowerCase()}s/${r.name}`,
    data: {
      stage,
      object,
      ...(done?.snapshot ? { snapshot: done.snapshot } : {}),
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.message ? { message: r.message } : {}),
    },
  };
}

/**
 * An event about a kind that is not ours (another API group, or a kind our group does not have) is a problem of the
 * event itself: no Trigger of ours sends it, and no retry would help (docs/design.md §4: 422).
 */
export function foreignKindProblem(hint: Hint, apiVersion: string): string | undefined {
  if (hint.type !== 'object') return undefined;
  const { kind, apiVersion: av, namespace, name } = hint.ref;
  const what = `event for ${av ?? '(no apiVersion)'} ${kind} ${namespace}/${name}`;
  // the Flux OCIRepositories we create are known (skipped, not rejected): in-process buses see every change
  if (kind === 'OCIRepository' && (av === undefined || av === FLUX_SOURCE_API_VERSION)) return undefined;
  if (!isOurKind(kind)) return `${what}: kind ${kind} is not one of ours (${OUR_KINDS.join(', ')})`;
  if (av !== undefined && av !== apiVersion) return `${what}: apiVersion ${av} is not ${apiVersion}`;
  return undefined;
}

/** Adds the reply event to every result of a stage, and rejects events about kinds that are not ours. */
export function withReplies(stage: Stage, apiVersion: string): Stage {
  return {
    name: stage.name,
    routes: (hint) => foreignKindProblem(hint, apiVersion) !== undefined || stage.routes(hint),
    async handle(hint, ctx) {
      const problem = foreignKindProblem(hint, apiVersion);
      if (problem) throw new BadEventError(problem);
      const result = await stage.handle(hint, ctx);
      if (result.reply || hint.type === 'resync') return result;
      const reply = replyFor(stage.name, apiVersion, result.objects as ObjectResult[]);
      return reply ? { ...result, reply } : result;
    },
  };
}
