import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CloudEvent,
  EventTypes,
  InvalidEventError,
  apiServerSourceEvent,
  parseHttpEvent,
  pingSourceEvent,
  toBinaryMessage,
  toHint,
  toStructuredMessage,
  type KubeObjectLike,
  type ObjectHint,
} from '../../../shared/cloudevents/index.js';
import { thrownBy } from '../../support/thrown.js';

const snapshot: KubeObjectLike = {
  apiVersion: 'serverless.ocm.software/v1alpha1',
  kind: 'Snapshot',
  metadata: {
    name: 'resource-chart',
    namespace: 'team-a',
    uid: '0b7e-11',
    generation: 1,
    ownerReferences: [
      { apiVersion: 'serverless.ocm.software/v1alpha1', kind: 'Resource', name: 'chart', uid: '9a', controller: true },
    ],
  },
  spec: { digest: 'sha256:abc' },
};

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function viaHttp(ev: CloudEvent<unknown>, mode: 'binary' | 'structured' = 'binary') {
  const m = mode === 'binary' ? toBinaryMessage(ev) : toStructuredMessage(ev);
  return parseHttpEvent(m.headers, Buffer.from(m.body));
}

describe('toHint: ApiServerSource Resource mode', () => {
  it.each(['add', 'update', 'delete'] as const)('%s -> object hint with the object and uid', (op) => {
    for (const mode of ['binary', 'structured'] as const) {
      const hint = toHint(viaHttp(apiServerSourceEvent({ mode: 'Resource', op, object: snapshot, id: `e-${op}` }), mode));
      expect(hint).toMatchObject({
        id: `e-${op}`,
        type: op,
        origin: 'apiserver-resource',
        apiVersion: 'serverless.ocm.software/v1alpha1',
        kind: 'Snapshot',
        namespace: 'team-a',
        name: 'resource-chart',
        uid: '0b7e-11',
        source: 'https://kubernetes.default.svc:443',
      });
      expect((hint as ObjectHint).object).toEqual(snapshot);
    }
  });

  it('names the missing field', () => {
    const cases: [unknown, string][] = [
      [undefined, 'data'],
      ['a string', 'data'],
      [{ kind: 'Component', metadata: { name: 'a', namespace: 'b' } }, 'data.apiVersion'],
      [{ apiVersion: 'v1', metadata: { name: 'a', namespace: 'b' } }, 'data.kind'],
      [{ apiVersion: 'v1', kind: 'ConfigMap' }, 'data.metadata'],
      [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'b' } }, 'data.metadata.name'],
      [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }, 'data.metadata.namespace'],
      [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'A_B', namespace: 'b' } }, 'data.metadata.name'],
      [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'Bad NS' } }, 'data.metadata.namespace'],
      [{ apiVersion: 'not a version', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'b' } }, 'data.apiVersion'],
    ];
    for (const [data, field] of cases) {
      const ev = new CloudEvent<unknown>({ type: EventTypes.resourceAdd, source: 's', datacontenttype: 'application/json', data });
      const err = thrownBy(() => toHint(ev));
      expect(err, JSON.stringify(data)).toBeInstanceOf(InvalidEventError);
      expect(err).toMatchObject({ status: 422, field });
      expect((err as Error).message).toContain(field);
    }
  });

  it('rejects extensions that contradict the object in data', () => {
    const ev = apiServerSourceEvent({ mode: 'Resource', op: 'update', object: snapshot }).cloneWith({ kind: 'Component' });
    expect(thrownBy(() => toHint(ev))).toMatchObject({ status: 422, field: 'kind' });
  });
});

describe('toHint: ApiServerSource Reference mode', () => {
  it.each(['add', 'update', 'delete'] as const)('%s -> object hint without object', (op) => {
    const ev = apiServerSourceEvent({ mode: 'Reference', op, object: snapshot });
    expect(ev.data).toEqual({ apiVersion: snapshot.apiVersion, kind: 'Snapshot', name: 'resource-chart', namespace: 'team-a' });
    const hint = toHint(viaHttp(ev));
    expect(hint).toMatchObject({ type: op, origin: 'apiserver-reference', kind: 'Snapshot', name: 'resource-chart', namespace: 'team-a' });
    expect((hint as ObjectHint).object).toBeUndefined();
    expect((hint as ObjectHint).uid).toBeUndefined();
  });

  it('with owner (asController) references the controller, while extensions keep describing the child', () => {
    const ev = apiServerSourceEvent({ mode: 'Reference', op: 'update', object: snapshot, asController: true });
    expect(ev['kind']).toBe('Snapshot');
    const hint = toHint(viaHttp(ev));
    expect(hint).toMatchObject({ kind: 'Resource', name: 'chart', namespace: 'team-a' });
  });

  it('names the missing reference field', () => {
    for (const field of ['apiVersion', 'kind', 'name', 'namespace']) {
      const data: Record<string, string> = { apiVersion: 'v1', kind: 'ConfigMap', name: 'a', namespace: 'b' };
      delete data[field];
      const ev = new CloudEvent<unknown>({ type: EventTypes.refDelete, source: 's', data });
      expect(thrownBy(() => toHint(ev))).toMatchObject({ status: 422, field: `data.${field}` });
    }
  });
});

describe('toHint: PingSource', () => {
  it('without data -> resync of everything', () => {
    const ev = pingSourceEvent({ namespace: 'ocm-system', name: 'resync' });
    expect(ev.source).toBe('/apis/v1/namespaces/ocm-system/pingsources/resync');
    expect(toHint(viaHttp(ev))).toMatchObject({ type: 'resync', origin: 'ping', source: ev.source });
  });

  it('with a JSON scope', () => {
    const ev = pingSourceEvent({ namespace: 'ocm-system', name: 'resync', data: { namespace: 'team-a', kinds: ['Component'] } });
    expect(toHint(viaHttp(ev))).toMatchObject({ type: 'resync', namespace: 'team-a', kinds: ['Component'] });
  });

  it('ignores free-form text data, rejects a malformed scope', () => {
    const text = pingSourceEvent({ namespace: 'n', name: 'p', data: 'hello', contentType: 'text/plain' });
    expect(toHint(viaHttp(text))).toMatchObject({ type: 'resync' });
    const bad = pingSourceEvent({ namespace: 'n', name: 'p', data: { kinds: 'Component' } });
    expect(thrownBy(() => toHint(viaHttp(bad)))).toMatchObject({ status: 422, field: 'data.kinds' });
    const badNs = pingSourceEvent({ namespace: 'n', name: 'p', data: { namespace: 7 } });
    expect(thrownBy(() => toHint(viaHttp(badNs)))).toMatchObject({ status: 422, field: 'data.namespace' });
  });
});

describe('toHint: other types', () => {
  it.each(['software.ocm.serverless.snapshot.ready', 'dev.knative.apiserver.resource.patch', 'com.example.thing'])('%s -> 422 on field type', (type) => {
    const ev = new CloudEvent<unknown>({ type, source: 's' });
    const err = thrownBy(() => toHint(ev));
    expect(err).toMatchObject({ status: 422, field: 'type' });
    expect((err as Error).message).toContain(type);
  });
});

describe('trace context', () => {
  it('comes from the traceparent extension, else from the HTTP header; malformed values are dropped', () => {
    const base = apiServerSourceEvent({ mode: 'Reference', op: 'add', object: snapshot });
    expect(toHint(base.cloneWith({ traceparent: TRACEPARENT, tracestate: 'k=v' }))).toMatchObject({ traceparent: TRACEPARENT, tracestate: 'k=v' });
    expect(toHint(base, { traceparent: TRACEPARENT })).toMatchObject({ traceparent: TRACEPARENT });
    expect(toHint(base, { traceparent: '00-zz-00-01' }).traceparent).toBeUndefined();
    expect(toHint(base, { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` }).traceparent).toBeUndefined();
  });
});

describe('apiServerSourceEvent is ApiServerSource-faithful', () => {
  it('type, source, subject (naive plural), extensions, JSON data', () => {
    const ev = apiServerSourceEvent({ mode: 'Resource', op: 'update', object: snapshot, source: 'https://10.96.0.1:443' });
    expect(ev.type).toBe('dev.knative.apiserver.resource.update');
    expect(ev.source).toBe('https://10.96.0.1:443');
    expect(ev.subject).toBe('/apis/serverless.ocm.software/v1alpha1/namespaces/team-a/snapshots/resource-chart');
    expect(ev.datacontenttype).toBe('application/json');
    expect(ev.specversion).toBe('1.0');
    expect(ev.id).toMatch(/^[0-9a-f-]{36}$/);
    expect({ kind: ev['kind'], name: ev['name'], namespace: ev['namespace'], apiversion: ev['apiversion'] }).toEqual({
      kind: 'Snapshot',
      name: 'resource-chart',
      namespace: 'team-a',
      apiversion: 'serverless.ocm.software/v1alpha1',
    });
    const core = apiServerSourceEvent({ mode: 'Reference', op: 'add', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' } } });
    expect(core.subject).toBe('/apis/v1/namespaces/n/configmaps/c');
    // Upstream's guessed plural is naive: "Policy" -> "policys".
    const policy = apiServerSourceEvent({ mode: 'Reference', op: 'add', object: { apiVersion: 'x.io/v1', kind: 'Policy', metadata: { name: 'p', namespace: 'n' } } });
    expect(policy.subject).toBe('/apis/x.io/v1/namespaces/n/policys/p');
  });

  it('binary wire form has ce-kind/ce-name/ce-namespace headers and a JSON body', () => {
    const m = toBinaryMessage(apiServerSourceEvent({ mode: 'Resource', op: 'add', object: snapshot }));
    expect(m.headers).toMatchObject({
      'ce-type': 'dev.knative.apiserver.resource.add',
      'ce-kind': 'Snapshot',
      'ce-name': 'resource-chart',
      'ce-namespace': 'team-a',
      'content-type': 'application/json',
    });
    expect(JSON.parse(m.body)).toEqual(snapshot);
  });
});

describe('round trip property: any valid object survives build -> HTTP -> parse -> hint', () => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
  const name = fc.array(label, { minLength: 1, maxLength: 3 }).map((p) => p.join('.'));
  const kind = fc.stringMatching(/^[A-Z][A-Za-z0-9]{0,15}$/);
  it('in both modes and encodings', () => {
    fc.assert(
      fc.property(
        name,
        label,
        kind,
        fc.constantFrom('add', 'update', 'delete'),
        fc.constantFrom('Resource', 'Reference'),
        fc.constantFrom('binary', 'structured'),
        (n, ns, k, op, mode, enc) => {
          const object: KubeObjectLike = { apiVersion: 'serverless.ocm.software/v1alpha1', kind: k, metadata: { name: n, namespace: ns, uid: 'u' } };
          const hint = toHint(viaHttp(apiServerSourceEvent({ mode, op, object }), enc)) as ObjectHint;
          expect(hint).toMatchObject({ type: op, kind: k, name: n, namespace: ns, apiVersion: object.apiVersion });
          expect(hint.object !== undefined).toBe(mode === 'Resource');
        },
      ),
      { numRuns: 200 },
    );
  });
});
