/**
 * Wraps any KubePort so that each write is followed by a change notification — the runner's substitute for a
 * watch when it drives a real API server (--kubeconfig) without Knative. The object is re-read after the write,
 * so the notification carries the stored state, as a watch event would.
 */
import type { KubeObject } from '../../shared/ports/kinds.js';
import type { KubePort, ObjectKey } from '../../shared/ports/kube.js';

type Publish = (op: 'add' | 'update' | 'delete', obj: KubeObject) => void;

export function notifyingKube(inner: KubePort): { kube: KubePort; onChange(publish: Publish): void } {
  const listeners: Publish[] = [];
  const emit = (op: 'add' | 'update' | 'delete', obj: KubeObject) => listeners.forEach((l) => l(op, obj));
  async function after(key: ObjectKey, before: KubeObject | undefined): Promise<void> {
    const now = await inner.get(key);
    if (now) emit(before ? 'update' : 'add', now);
    else if (before) emit('delete', before);
  }
  const kube: KubePort = {
    get: (key) => inner.get(key),
    list: (kind, namespace) => inner.list(kind, namespace),
    getSecret: (ns, name) => inner.getSecret(ns, name),
    getConfigMap: (ns, name) => inner.getConfigMap(ns, name),
    emitEvent: (regarding, type, reason, message) => inner.emitEvent(regarding, type, reason, message),
    async patchStatus(key, patch) {
      const before = await inner.get(key);
      const ok = await inner.patchStatus(key, patch);
      const now = await inner.get(key);
      if (now && before?.metadata.resourceVersion !== now.metadata.resourceVersion) emit('update', now);
      return ok;
    },
    async upsert(obj) {
      const key = { kind: obj.kind as ObjectKey['kind'], namespace: obj.metadata.namespace, name: obj.metadata.name };
      const before = await inner.get(key);
      const stored = await inner.upsert(obj);
      if (before?.metadata.resourceVersion !== stored.metadata.resourceVersion) emit(before ? 'update' : 'add', stored);
      return stored;
    },
    async removeFinalizer(key, finalizer) {
      const before = await inner.get(key);
      const ok = await inner.removeFinalizer(key, finalizer);
      await after(key, before);
      return ok;
    },
    async delete(key) {
      const before = await inner.get(key);
      const ok = await inner.delete(key);
      await after(key, before);
      return ok;
    },
  };
  return { kube, onChange: (publish) => listeners.push(publish) };
}
