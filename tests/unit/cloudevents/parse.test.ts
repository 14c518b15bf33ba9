import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  EventError,
  MalformedEventError,
  UnsupportedEncodingError,
  apiServerSourceEvent,
  parseHttpEvent,
  toBinaryMessage,
  toStructuredMessage,
} from '../../../shared/cloudevents/index.js';
import { thrownBy } from '../../support/thrown.js';

const component = {
  apiVersion: 'serverless.ocm.software/v1alpha1',
  kind: 'Component',
  metadata: { name: 'podinfo', namespace: 'team-a', uid: '6f1c', generation: 2, resourceVersion: '77' },
  spec: { component: 'ocm.software/podinfo', semver: '>=6.0.0' },
};

/** Headers exactly as the Go SDK (ApiServerSource adapter) sends in binary mode. */
function goSdkBinaryHeaders(id = 'a1b2'): Record<string, string> {
  return {
    'ce-specversion': '1.0',
    'ce-id': id,
    'ce-source': 'https://10.96.0.1:443',
    'ce-type': 'dev.knative.apiserver.resource.update',
    'ce-subject': '/apis/serverless.ocm.software/v1alpha1/namespaces/team-a/components/podinfo',
    'ce-time': '2026-11-29T10:00:00.123456789Z',
    'ce-kind': 'Component',
    'ce-apiversion': 'serverless.ocm.software/v1alpha1',
    'ce-name': 'podinfo',
    'ce-namespace': 'team-a',
    'Content-Type': 'application/json',
  };
}

describe('parseHttpEvent: binary mode', () => {
  it('parses Go-SDK style headers with a Buffer body and decodes JSON data', () => {
    const ev = parseHttpEvent(goSdkBinaryHeaders(), Buffer.from(JSON.stringify(component)));
    expect(ev.type).toBe('dev.knative.apiserver.resource.update');
    expect(ev.source).toBe('https://10.96.0.1:443');
    expect(ev['kind']).toBe('Component');
    expect(ev['namespace']).toBe('team-a');
    expect(ev.data).toEqual(component);
  });

  it('keeps no stale data_base64 from the raw bytes once JSON data is decoded', () => {
    const ev = parseHttpEvent(goSdkBinaryHeaders(), Buffer.from(JSON.stringify(component)));
    expect(ev.data_base64).toBeUndefined();
    expect((ev.toJSON() as { data?: unknown }).data).toEqual(component);
  });

  it('accepts a string body and non-canonical JSON content types', () => {
    for (const ct of ['application/json;charset=UTF-8', 'Application/JSON; charset=utf-8', 'text/json', 'application/merge-patch+json']) {
      const h = { ...goSdkBinaryHeaders(), 'Content-Type': ct };
      expect(parseHttpEvent(h, JSON.stringify(component)).data).toEqual(component);
    }
  });

  it('keeps a JSON string datum as a string (no bare-word quoting)', () => {
    const ev = parseHttpEvent(goSdkBinaryHeaders(), Buffer.from('"hello"'));
    expect(ev.data).toBe('hello');
  });

  it('rejects invalid JSON data with field "data"', () => {
    const err = thrownBy(() => parseHttpEvent(goSdkBinaryHeaders(), Buffer.from('{"apiVersion":')));
    expect(err).toBeInstanceOf(MalformedEventError);
    expect(err).toMatchObject({ status: 400, field: 'data' });
    expect(() => parseHttpEvent(goSdkBinaryHeaders(), Buffer.from('not json'))).toThrow(/data is not valid JSON/);
  });

  it('treats an empty body as no data', () => {
    expect(parseHttpEvent(goSdkBinaryHeaders(), Buffer.alloc(0)).data).toBeUndefined();
    expect(parseHttpEvent(goSdkBinaryHeaders(), undefined).data).toBeUndefined();
  });

  it('leaves non-JSON data alone', () => {
    const h = { ...goSdkBinaryHeaders(), 'Content-Type': 'application/octet-stream' };
    const ev = parseHttpEvent(h, Buffer.from([1, 2, 3]));
    expect(Buffer.from(ev.data as Uint8Array)).toEqual(Buffer.from([1, 2, 3]));
  });

  it.each([
    ['ce-type', 'type'],
    ['ce-source', 'source'],
  ])('names the missing required attribute (%s)', (headerName, field) => {
    const h = goSdkBinaryHeaders();
    delete h[headerName];
    const err = thrownBy(() => parseHttpEvent(h, Buffer.from('{}')));
    expect(err).toBeInstanceOf(MalformedEventError);
    expect((err as EventError).field).toBe(field);
    expect((err as Error).message).toContain(field);
  });

  it('rejects an unsupported specversion', () => {
    const err = thrownBy(() => parseHttpEvent({ ...goSdkBinaryHeaders(), 'ce-specversion': '0.3' }, Buffer.from('{}')));
    expect(err).toMatchObject({ status: 400, field: 'specversion' });
  });

  it('rejects a request without CloudEvent headers (400, says what was expected)', () => {
    const err = thrownBy(() => parseHttpEvent({ 'content-type': 'application/json' }, Buffer.from('{}')));
    expect(err).toBeInstanceOf(MalformedEventError);
    expect((err as Error).message).toMatch(/not a CloudEvent/);
  });

  it('rejects a malformed time attribute', () => {
    const err = thrownBy(() => parseHttpEvent({ ...goSdkBinaryHeaders(), 'ce-time': 'yesterday' }, Buffer.from('{}')));
    expect(err).toBeInstanceOf(EventError);
    expect((err as EventError).status).toBe(400);
  });
});

describe('parseHttpEvent: structured mode', () => {
  const structured = {
    specversion: '1.0',
    id: 'x-1',
    source: 'https://10.96.0.1:443',
    type: 'dev.knative.apiserver.resource.add',
    datacontenttype: 'application/json',
    kind: 'Component',
    data: component,
  };

  it('parses with any casing of the content type and charset', () => {
    for (const ct of ['application/cloudevents+json', 'application/cloudevents+json; charset=UTF-8', 'Application/CloudEvents+JSON; charset=utf-8']) {
      const ev = parseHttpEvent({ 'content-type': ct }, Buffer.from(JSON.stringify(structured)));
      expect(ev.id).toBe('x-1');
      expect(ev.data).toEqual(component);
      expect(ev['kind']).toBe('Component');
    }
  });

  it('decodes data_base64 JSON', () => {
    const { data: _data, ...rest } = structured;
    const body = { ...rest, data_base64: Buffer.from(JSON.stringify(component)).toString('base64') };
    const ev = parseHttpEvent({ 'content-type': 'application/cloudevents+json' }, JSON.stringify(body));
    expect(ev.data).toEqual(component);
  });

  it('rejects a body that is not JSON, an empty body, and a missing id', () => {
    const ct = { 'content-type': 'application/cloudevents+json' };
    expect(() => parseHttpEvent(ct, Buffer.from('{oops'))).toThrow(MalformedEventError);
    expect(() => parseHttpEvent(ct, Buffer.from(''))).toThrow(/empty body/);
    const { id: _id, ...noId } = structured;
    const err = thrownBy(() => parseHttpEvent(ct, JSON.stringify(noId)));
    expect(err).toMatchObject({ status: 400, field: 'id' });
  });

  it('rejects structured non-JSON formats with 415', () => {
    expect(() => parseHttpEvent({ 'content-type': 'application/cloudevents+avro' }, Buffer.from('x'))).toThrow(UnsupportedEncodingError);
  });
});

describe('parseHttpEvent: batch mode', () => {
  it('is refused with 415 and a message saying what to send instead', () => {
    const batch = JSON.stringify([{ specversion: '1.0', id: '1', source: 's', type: 't' }]);
    const err = thrownBy(() => parseHttpEvent({ 'content-type': 'application/cloudevents-batch+json' }, Buffer.from(batch)));
    expect(err).toBeInstanceOf(UnsupportedEncodingError);
    expect(err).toMatchObject({ status: 415, field: 'content-type' });
    expect((err as Error).message).toMatch(/one event per request/);
  });
});

describe('round trip through our own serialisers', () => {
  it('binary and structured messages parse back to the same event', () => {
    const ev = apiServerSourceEvent({ mode: 'Resource', op: 'add', object: component, id: 'rt-1', time: '2026-01-02T03:04:05.000Z' });
    for (const m of [toBinaryMessage(ev), toStructuredMessage(ev)]) {
      const back = parseHttpEvent(m.headers, Buffer.from(m.body));
      expect(back.id).toBe('rt-1');
      expect(back.type).toBe(ev.type);
      expect(back.subject).toBe(ev.subject);
      expect(back['kind']).toBe('Component');
      expect(back.data).toEqual(component);
    }
  });
});

describe('parseHttpEvent never throws anything but EventError (property)', () => {
  it('on arbitrary headers and bodies', () => {
    const headerName = fc.constantFrom('content-type', 'ce-id', 'ce-type', 'ce-source', 'ce-specversion', 'ce-time', 'ce-kind', 'x-other');
    const headerValue = fc.oneof(
      fc.string(),
      fc.constantFrom('1.0', '0.3', 'application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json', 'text/plain'),
    );
    const body = fc.oneof(fc.string(), fc.json(), fc.uint8Array().map((a) => Buffer.from(a)));
    fc.assert(
      fc.property(fc.dictionary(headerName, headerValue), body, (headers, b) => {
        try {
          parseHttpEvent(headers, typeof b === 'string' ? b : b);
        } catch (err) {
          if (!(err instanceof EventError)) throw err;
          expect([400, 415]).toContain(err.status);
        }
      }),
      { numRuns: 500 },
    );
  });
});
