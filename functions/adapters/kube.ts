/**
 * The stages' KubePort over shared/kube's KubeApi (KubeClient against a real API server). Typed KubeErrors pass
 * through: their `transient` flag drives retries (409/429/5xx/network).
 */
import { NotFoundError, withReady, type ApiObject, type KubeApi } from '../../shared/kube/index.js';
import type { Condition, Kind, KubeObject, KubePort, ObjectKey, OurKind, StatusPatch } from '../../shared/ports/index.js';

/** Merges status fields the way a JSON merge patch would (null deletes). */
export function applyStatusPatch(
  current: Record<string, unknown> | undefined,
  patch: StatusPatch,
  now: Date = new Date(),
): Record<string, unknown> {
  const next: Record<string, unknown> = { ...(current ?? {}) };
  for (const [k, v] of Object.entries(patch.fields ?? {})) {
    if (v === null || v === undefined) delete next[k];
    else next[k] = v;
  }
  if (patch.observedGeneration !== undefined) next['observedGeneration'] = patch.observedGeneration;
  if (patch.ready) {
    next['conditions'] = withReady(
      current?.['conditions'] as Condition[] | undefined,
      {
        status: patch.ready.status,
        reason: patch.ready.reason,
        message: patch.ready.message,
        observedGeneration: patch.observedGeneration ?? (current?.['observedGeneration'] as number | undefined) ?? 0,
      },
      now,
    );
  }
  return next;
}

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

export function kubePortAdapter(client: KubeApi, stage: string): KubePort {
  return {
    async get<T extends KubeObject>(key: ObjectKey): Promise<T | undefined> {
      return (await client.find(key.kind, key.namespace, key.name)) as unknown as T | undefined;
    },

    async list<T extends KubeObject>(kind: Kind, namespace?: string): Promise<T[]> {
      return (await client.list(kind, namespace)) as unknown as T[];
    },

    async patchStatus(key: ObjectKey, patch: StatusPatch): Promise<boolean> {
      try {
        await client.updateStatus(key.kind as OurKind, key.namespace, key.name, (current) => {
          // `as never`: the mutation is generic over every kind's status type; ours is a structural superset
          return applyStatusPatch(current.status as Record<string, unknown> | undefined, patch) as never;
        });
        return true;
      } catch (err) {
        if (err instanceof NotFoundError) return false;
        throw err;
      }
    },

    async upsert<T extends KubeObject>(obj: T): Promise<T> {
      return (await client.apply(obj as unknown as ApiObject<Kind>)) as unknown as T;
    },

    async removeFinalizer(key: ObjectKey, finalizer: string): Promise<boolean> {
      try {
        await client.removeFinalizer(key.kind, key.namespace, key.name, finalizer);
        return true;
      } catch (err) {
        if (err instanceof NotFoundError) return false;
        throw err;
      }
    },

    delete(key: ObjectKey): Promise<boolean> {
      return client.delete(key.kind, key.namespace, key.name, { propagationPolicy: 'Background' });
    },

    async getSecret(namespace: string, name: string): Promise<Record<string, Buffer> | undefined> {
      return (await orUndefined(client.getSecret(namespace, name)))?.data;
    },

    getConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined> {
      return orUndefined(client.getConfigMap(namespace, name));
    },

    async emitEvent(regarding, type, reason, message): Promise<void> {
      try {
        await client.recordEvent(regarding as never, { type, reason, note: message, action: stage });
      } catch {
        // best effort: an Event that cannot be written must not fail the reconcile
      }
    },
  };
}
