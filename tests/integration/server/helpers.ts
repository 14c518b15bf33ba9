import { Writable } from 'node:stream';
import { apiServerSourceEvent, toBinaryMessage, toStructuredMessage, type KubeObjectLike } from '../../../shared/cloudevents/index.js';

export function component(name: string, extra: Record<string, unknown> = {}): KubeObjectLike {
  return { apiVersion: 'serverless.ocm.software/v1alpha1', kind: 'Component', metadata: { name, namespace: 'team-a', uid: `uid-${name}` }, ...extra };
}

export function binaryRequest(object: KubeObjectLike, op: 'add' | 'update' | 'delete' = 'update', id?: string): RequestInit {
  const m = toBinaryMessage(apiServerSourceEvent({ mode: 'Resource', op, object, ...(id ? { id } : {}) }));
  return { method: 'POST', headers: m.headers, body: m.body };
}

export function structuredRequest(object: KubeObjectLike, op: 'add' | 'update' | 'delete' = 'update'): RequestInit {
  const m = toStructuredMessage(apiServerSourceEvent({ mode: 'Resource', op, object }));
  return { method: 'POST', headers: m.headers, body: m.body };
}

/** A pino destination that keeps parsed JSON lines. */
export function logCapture() {
  const records: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) records.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { records, destination };
}
