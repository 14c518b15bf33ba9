/**
 * The KubePort of the local runner: an API server stand-in that keeps objects in memory and writes each one,
 * with its status, to `DIR/objects/<kind>/<namespace>/<name>.yaml`. It reproduces the API semantics the
 * handlers rely on (uid, generation bumped only by spec changes, resourceVersion, finalizers and
 * deletionTimestamp, ownerReference cascade as the garbage collector would do it) and tells a listener
 * about every change, the way a watch would — the runner's bus turns those into ApiServerSource events.
 *
 * Secrets and ConfigMaps come from the input manifests and are kept in memory only: credentials never touch
 * the output directory.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import YAML from 'yaml';
import type { Condition, Kind, KubeObject } from '../../shared/ports/kinds.js';
import type { EventType, KubePort, ObjectKey, StatusPatch } from '../../shared/ports/kube.js';

export type ChangeType = 'add' | 'update' | 'delete';
export type ChangeListener = (type: ChangeType, obj: KubeObject) => void;

export interface RecordedEvent {
  regarding: { kind: string; namespace: string; name: string };
  type: EventType;
  reason: string;
  message: string;
}

const keyString = (k: ObjectKey) => `${k.kind}/${k.namespace}/${k.name}`;
const clone = <T>(v: T): T => structuredClone(v);

export class FileKube implements KubePort {
  private readonly objects = new Map<string, KubeObject>();
  private readonly secrets = new Map<string, Record<string, Buffer>>();
  private readonly configMaps = new Map<string, Record<string, string>>();
  private readonly listeners: ChangeListener[] = [];
  private resourceVersion = 0;
  readonly events: RecordedEvent[] = [];

  /** @param dir where objects are persisted; undefined keeps everything in memory */
  constructor(private readonly dir: string | undefined, private readonly now: () => Date = () => new Date()) {}

  /** Loads what an earlier run left in `dir` (no change events: it is the starting state). */
  async load(): Promise<number> {
    if (!this.dir) return 0;
    const root = path.join(this.dir, 'objects');
    let count = 0;
    for (const file of await walkYaml(root)) {
      const obj = YAML.parse(await readFile(file, 'utf8')) as KubeObject;
      this.objects.set(keyString(keyOfObj(obj)), obj);
      this.resourceVersion = Math.max(this.resourceVersion, Number(obj.metadata.resourceVersion ?? 0));
      count++;
    }
    return count;
  }

  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  putSecret(namespace: string, name: string, data: Record<string, Buffer>): void {
    this.secrets.set(`${namespace}/${name}`, data);
  }

  putConfigMap(namespace: string, name: string, data: Record<string, string>): void {
    this.configMaps.set(`${namespace}/${name}`, data);
  }

  all(): KubeObject[] {
    return [...this.objects.values()].map(clone);
  }

  async get<T extends KubeObject = KubeObject>(key: ObjectKey): Promise<T | undefined> {
    const obj = this.objects.get(keyString(key));
    return obj ? (clone(obj) as T) : undefined;
  }

  async list<T extends KubeObject = KubeObject>(kind: Kind, namespace?: string): Promise<T[]> {
    return [...this.objects.values()]
      .filter((o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace))
      .map((o) => clone(o) as T);
  }

  async patchStatus(key: ObjectKey, patch: StatusPatch): Promise<boolean> {
    const current = this.objects.get(keyString(key));
    if (!current) return false;
    const status: Record<string, unknown> = { ...((current.status as Record<string, unknown> | undefined) ?? {}) };
    for (const [k, v] of Object.entries(patch.fields ?? {})) {
      if (v === null) delete status[k];
      else status[k] = v;
    }
    if (patch.observedGeneration !== undefined) status['observedGeneration'] = patch.observedGeneration;
    if (patch.ready) {
      const previous = (status['conditions'] as Condition[] | undefined)?.find((c) => c.type === 'Ready');
      const flipped = previous?.status !== patch.ready.status;
      const condition: Condition = {
        type: 'Ready',
        status: patch.ready.status,
        reason: patch.ready.reason,
        message: patch.ready.message,
        observedGeneration: patch.observedGeneration ?? current.metadata.generation ?? 1,
        lastTransitionTime: flipped || !previous ? this.now().toISOString() : previous.lastTransitionTime,
      };
      status['conditions'] = [condition];
    }
    if (isDeepStrictEqual(status, current.status ?? {})) return true;
    const next: KubeObject = { ...clone(current), status };
    await this.store(next, 'update');
    return true;
  }

  async upsert<T extends KubeObject>(obj: T): Promise<T> {
    const key = keyOfObj(obj);
    const current = this.objects.get(keyString(key));
    if (!current) {
      const created: KubeObject = {
        ...clone(obj),
        metadata: {
          ...clone(obj.metadata),
          uid: obj.metadata.uid ?? randomUUID(),
          generation: 1,
          creationTimestamp: this.now().toISOString(),
        },
      };
      delete created.status;
      delete created.metadata.deletionTimestamp;
      await this.store(created, 'add');
      return clone(created) as T;
    }
    const finalizers = [...new Set([...(current.metadata.finalizers ?? []), ...(obj.metadata.finalizers ?? [])])];
    const specChanged = !isDeepStrictEqual(current.spec, obj.spec);
    const next: KubeObject = {
      ...clone(current),
      spec: clone(obj.spec),
      metadata: {
        ...clone(current.metadata),
        labels: clone(obj.metadata.labels),
        annotations: clone(obj.metadata.annotations),
        ownerReferences: clone(obj.metadata.ownerReferences),
        ...(finalizers.length ? { finalizers } : {}),
        generation: (current.metadata.generation ?? 1) + (specChanged ? 1 : 0),
      },
    };
    dropUndefined(next.metadata as unknown as Record<string, unknown>);
    if (isDeepStrictEqual(next, current)) return clone(current) as T;
    await this.store(next, 'update');
    return clone(next) as T;
  }

  async removeFinalizer(key: ObjectKey, finalizer: string): Promise<boolean> {
    const current = this.objects.get(keyString(key));
    if (!current) return false;
    const finalizers = (current.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    if (finalizers.length === (current.metadata.finalizers ?? []).length) return true;
    const next = clone(current);
    if (finalizers.length) next.metadata.finalizers = finalizers;
    else delete next.metadata.finalizers;
    if (next.metadata.deletionTimestamp && finalizers.length === 0) await this.remove(next);
    else await this.store(next, 'update');
    return true;
  }

  async delete(key: ObjectKey): Promise<boolean> {
    const current = this.objects.get(keyString(key));
    if (!current) return false;
    if (current.metadata.finalizers?.length) {
      if (!current.metadata.deletionTimestamp) {
        const next = clone(current);
        next.metadata.deletionTimestamp = this.now().toISOString();
        await this.store(next, 'update');
      }
      return true;
    }
    await this.remove(current);
    return true;
  }

  async getSecret(namespace: string, name: string): Promise<Record<string, Buffer> | undefined> {
    return this.secrets.get(`${namespace}/${name}`);
  }

  async getConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    return this.configMaps.get(`${namespace}/${name}`);
  }

  async emitEvent(regarding: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    this.events.push({
      regarding: { kind: regarding.kind, namespace: regarding.metadata.namespace, name: regarding.metadata.name },
      type,
      reason,
      message,
    });
  }

  /** Deletes the object, then what it owns — the garbage collector's job in a cluster. */
  private async remove(obj: KubeObject): Promise<void> {
    this.objects.delete(keyString(keyOfObj(obj)));
    if (this.dir) await rm(this.fileOf(keyOfObj(obj)), { force: true });
    this.notify('delete', obj);
    const uid = obj.metadata.uid;
    if (!uid) return;
    for (const dependent of [...this.objects.values()]) {
      if (dependent.metadata.ownerReferences?.some((r) => r.uid === uid)) await this.delete(keyOfObj(dependent));
    }
  }

  private async store(obj: KubeObject, type: ChangeType): Promise<void> {
    obj.metadata.resourceVersion = String(++this.resourceVersion);
    this.objects.set(keyString(keyOfObj(obj)), obj);
    if (this.dir) {
      const file = this.fileOf(keyOfObj(obj));
      await mkdir(path.dirname(file), { recursive: true });
      // temp + rename: a run killed mid-write leaves the previous object, never half a file
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, YAML.stringify(obj, { sortMapEntries: false }));
      await rename(tmp, file);
    }
    this.notify(type, obj);
  }

  private notify(type: ChangeType, obj: KubeObject): void {
    for (const l of this.listeners) l(type, clone(obj));
  }

  private fileOf(key: ObjectKey): string {
    return path.join(this.dir ?? '.', 'objects', key.kind.toLowerCase(), key.namespace, `${key.name}.yaml`);
  }
}

function keyOfObj(obj: KubeObject): ObjectKey {
  return { kind: obj.kind as Kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
}

function dropUndefined(rec: Record<string, unknown>): void {
  for (const k of Object.keys(rec)) if (rec[k] === undefined) delete rec[k];
}

async function walkYaml(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walkYaml(p)));
    else if (e.name.endsWith('.yaml')) out.push(p);
  }
  return out;
}
