/**
 * An in-memory KubePort with the API server semantics the stages rely on: uid, generation bumped on spec
 * changes only, resourceVersion, finalizers + deletionTimestamp, owner-reference garbage collection (background,
 * as kube-controller-manager does). Every change is reported to `watch` listeners like a watch stream, so tests and
 * in-process hosts can turn them into ApiServerSource-shaped events.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { EventType, Kind, KubeObject, KubePort, ObjectKey, StatusPatch } from '../../shared/ports/index.js';
import { validateObject } from '../../shared/kube/index.js';
import { applyStatusPatch } from './kube.js';

/**
 * What the API server would refuse for our kinds (the CRD schemas and CEL rules, strict about unknown fields),
 * as a MemoryKube `validate` option. Flux's OCIRepository is not ours to check.
 */
export function crdValidation(obj: KubeObject): string[] {
  if (obj.kind === 'OCIRepository') return [];
  return validateObject(obj)
    .filter((i) => i.severity === 'error')
    .map((i) => `${i.path}: ${i.message}`);
}

export type WatchAction = 'add' | 'update' | 'delete';
export type WatchListener = (action: WatchAction, obj: KubeObject) => void;

export interface RecordedEvent {
  object: string;
  type: EventType;
  reason: string;
  message: string;
}

export class MemoryKube implements KubePort {
  private readonly objects = new Map<string, KubeObject>();
  private readonly secrets = new Map<string, Record<string, Buffer>>();
  private readonly configMaps = new Map<string, Record<string, string>>();
  private readonly listeners: WatchListener[] = [];
  private rv = 1;
  readonly events: RecordedEvent[] = [];
  /** emulate the garbage collector for ownerReferences (kube-controller-manager) */
  gc = true;

  /** `validate` stands in for the API server's schema validation: return problems to reject a write (422). */
  constructor(private readonly opts: { validate?: (obj: KubeObject) => string[] } = {}) {}

  private check(obj: KubeObject): void {
    const problems = this.opts.validate?.(obj) ?? [];
    if (problems.length > 0) {
      throw Object.assign(new Error(`${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name} is invalid: ${problems.join('; ')}`), {
        statusCode: 422,
      });
    }
  }

  private k(kind: string, ns: string, name: string): string {
    return `${kind}/${ns}/${name}`;
  }

  /** Puts back an object exactly as stored earlier (uid, generation, status kept), without a watch event. */
  restore(obj: KubeObject): void {
    this.objects.set(this.k(obj.kind, obj.metadata.namespace, obj.metadata.name), structuredClone(obj));
    this.rv = Math.max(this.rv, Number(obj.metadata.resourceVersion ?? 0));
  }

  watch(listener: WatchListener): void {
    this.listeners.push(listener);
  }

  private emit(action: WatchAction, obj: KubeObject): void {
    const copy = structuredClone(obj);
    for (const l of this.listeners) l(action, copy);
  }

  setSecret(namespace: string, name: string, data: Record<string, Buffer | string>): void {
    this.secrets.set(`${namespace}/${name}`, Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])));
  }

  setConfigMap(namespace: string, name: string, data: Record<string, string>): void {
    this.configMaps.set(`${namespace}/${name}`, { ...data });
  }

  /** Creates or replaces (spec/metadata) an object as a user would with kubectl apply. */
  async apply<T extends KubeObject>(obj: T): Promise<T> {
    return this.upsert(obj, true);
  }

  async get<T extends KubeObject>(key: ObjectKey): Promise<T | undefined> {
    const o = this.objects.get(this.k(key.kind, key.namespace, key.name));
    return o ? (structuredClone(o) as T) : undefined;
  }

  async list<T extends KubeObject>(kind: Kind, namespace?: string): Promise<T[]> {
    return [...this.objects.values()]
      .filter((o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace))
      .map((o) => structuredClone(o) as T);
  }

  async patchStatus(key: ObjectKey, patch: StatusPatch): Promise<boolean> {
    const o = this.objects.get(this.k(key.kind, key.namespace, key.name));
    if (!o) return false;
    const next = applyStatusPatch(o.status as Record<string, unknown> | undefined, patch);
    if (isDeepStrictEqual(next, o.status)) return true;
    this.check({ ...o, status: next });
    o.status = next;
    o.metadata.resourceVersion = String(++this.rv);
    this.emit('update', o);
    return true;
  }

  async upsert<T extends KubeObject>(obj: T, replaceFinalizers = false): Promise<T> {
    const key = this.k(obj.kind, obj.metadata.namespace, obj.metadata.name);
    const cur = this.objects.get(key);
    if (!cur) {
      const created: KubeObject = {
        ...structuredClone(obj),
        metadata: {
          ...structuredClone(obj.metadata),
          uid: randomUUID(),
          generation: 1,
          resourceVersion: String(++this.rv),
          creationTimestamp: new Date().toISOString(),
        },
      };
      delete created.status;
      if (obj.status && replaceFinalizers) created.status = structuredClone(obj.status);
      this.check(created);
      this.objects.set(key, created);
      this.emit('add', created);
      return structuredClone(created) as T;
    }
    const specChanged = !isDeepStrictEqual(cur.spec, obj.spec);
    const finalizers = replaceFinalizers
      ? (obj.metadata.finalizers ?? [])
      : [...new Set([...(cur.metadata.finalizers ?? []), ...(obj.metadata.finalizers ?? [])])];
    const next: KubeObject = {
      ...cur,
      spec: structuredClone(obj.spec),
      metadata: {
        ...cur.metadata,
        labels: obj.metadata.labels ?? cur.metadata.labels,
        annotations: obj.metadata.annotations ?? cur.metadata.annotations,
        ownerReferences: obj.metadata.ownerReferences ?? cur.metadata.ownerReferences,
        finalizers: finalizers.length ? finalizers : undefined,
      },
    };
    if (!next.metadata.finalizers) delete next.metadata.finalizers;
    if (isDeepStrictEqual(next, cur)) return structuredClone(cur) as T;
    this.check(next);
    if (specChanged) next.metadata.generation = (cur.metadata.generation ?? 1) + 1;
    next.metadata.resourceVersion = String(++this.rv);
    this.objects.set(key, next);
    this.emit('update', next);
    return structuredClone(next) as T;
  }

  async removeFinalizer(key: ObjectKey, finalizer: string): Promise<boolean> {
    const id = this.k(key.kind, key.namespace, key.name);
    const o = this.objects.get(id);
    if (!o) return false;
    const before = o.metadata.finalizers ?? [];
    if (!before.includes(finalizer)) return true;
    o.metadata.finalizers = before.filter((f) => f !== finalizer);
    o.metadata.resourceVersion = String(++this.rv);
    if (o.metadata.finalizers.length === 0) delete o.metadata.finalizers;
    if (o.metadata.deletionTimestamp && !o.metadata.finalizers) this.remove(id, o);
    else this.emit('update', o);
    return true;
  }

  async delete(key: ObjectKey): Promise<boolean> {
    const id = this.k(key.kind, key.namespace, key.name);
    const o = this.objects.get(id);
    if (!o) return false;
    if (o.metadata.finalizers?.length) {
      if (!o.metadata.deletionTimestamp) {
        o.metadata.deletionTimestamp = new Date().toISOString();
        o.metadata.resourceVersion = String(++this.rv);
        this.emit('update', o);
      }
      return true;
    }
    this.remove(id, o);
    return true;
  }

  private remove(id: string, o: KubeObject): void {
    this.objects.delete(id);
    this.emit('delete', o);
    if (!this.gc || !o.metadata.uid) return;
    for (const dep of [...this.objects.values()]) {
      if (dep.metadata.ownerReferences?.some((r) => r.uid === o.metadata.uid)) {
        void this.delete({ kind: dep.kind as Kind, namespace: dep.metadata.namespace, name: dep.metadata.name });
      }
    }
  }

  async getSecret(namespace: string, name: string): Promise<Record<string, Buffer> | undefined> {
    return this.secrets.get(`${namespace}/${name}`);
  }

  async getConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    return this.configMaps.get(`${namespace}/${name}`);
  }

  async emitEvent(regarding: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    this.events.push({ object: `${regarding.kind}/${regarding.metadata.namespace}/${regarding.metadata.name}`, type, reason, message });
  }
}
