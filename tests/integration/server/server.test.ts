/**
 * The function host over real HTTP (Node fetch/undici) with in-process handlers: status codes per docs/design.md §4,
 * both CloudEvent encodings, batch refusal, replies, /metrics, logs, body limit, lazy handler loading, draining.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiServerSourceEvent,
  parseHttpEvent,
  pingSourceEvent,
  snapshotReplyEvent,
  toBinaryMessage,
} from '../../../shared/cloudevents/index.js';
import { loadConfig } from '../../../shared/config/index.js';
import { createLogger } from '../../../shared/log/index.js';
import {
  RetryLaterError,
  createFunctionServer,
  serverConfigSchema,
  type FunctionServer,
  type StageHandler,
} from '../../../shared/server/index.js';
import { binaryRequest, component, logCapture, structuredRequest } from './helpers.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** A port nothing listens on, for a real ECONNREFUSED. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Behaviour chosen by the object's name. */
function scriptedHandler(deadPort: number): StageHandler {
  return async (hint, ctx) => {
    if (hint.type === 'resync') return { result: 'skipped', reason: 'resync not needed' };
    ctx.metrics.bytesPushed(100);
    switch (hint.name) {
      case 'ok':
        return { result: 'done' };
      case 'unchanged':
        return { result: 'skipped', reason: 'input digest unchanged' };
      case 'bad-spec':
        return { result: 'failed', reason: 'SpecInvalid', message: 'spec.semver is not a constraint' };
      case 'reply':
        return {
          result: 'done',
          reply: snapshotReplyEvent({ stage: 'test', object: hint, status: 'ready', causationId: ctx.event.id }),
        };
      case 'bad-reply':
        // Missing id/source/specversion: the host must drop it, not fail the (already durable) work.
        return { result: 'done', reply: { type: 'software.ocm.serverless.snapshot.ready' } as never };
      case 'transient':
        throw new RetryLaterError('registry unavailable');
      case 'throttled':
        throw new RetryLaterError('slow down', { status: 429, retryAfterSeconds: 5 });
      case 'conflict':
        throw Object.assign(new Error('Operation cannot be fulfilled: the object has been modified'), { code: 409 });
      case 'refused':
        // A real network failure: nothing listens on that port.
        await fetch(`http://127.0.0.1:${deadPort}/v2/`);
        return { result: 'done' };
      case 'bug':
        throw new Error('undefined is not a function');
      case 'secret':
        ctx.log.info({ password: 'hunter2', auth: { token: 'tok-123' } }, 'handler logged credentials');
        return { result: 'done' };
      default:
        return { result: 'done', detail: hint.traceparent ?? 'no trace' };
    }
  };
}

describe('function host over HTTP', () => {
  let server: FunctionServer;
  let base: string;
  const logs = logCapture();

  beforeAll(async () => {
    const config = loadConfig(serverConfigSchema, { PORT: '0', BODY_LIMIT: '64kb', PROCESS_METRICS: 'false' });
    server = createFunctionServer({
      stage: 'test',
      config,
      logger: createLogger({ level: 'info', destination: logs.destination }),
      handle: scriptedHandler(await closedPort()),
    });
    const addr = await server.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    await server.close();
  });

  it('binary and structured ApiServerSource events -> 202 with an empty body', async () => {
    for (const init of [binaryRequest(component('ok')), structuredRequest(component('ok'))]) {
      const res = await fetch(`${base}/`, init);
      expect(res.status).toBe(202);
      expect(await res.text()).toBe('');
    }
  });

  it('Reference-mode and PingSource events are accepted too', async () => {
    const ref = toBinaryMessage(apiServerSourceEvent({ mode: 'Reference', op: 'delete', object: component('ok') }));
    expect((await fetch(base, { method: 'POST', headers: ref.headers, body: ref.body })).status).toBe(202);
    const ping = toBinaryMessage(pingSourceEvent({ namespace: 'ocm-system', name: 'resync' }));
    expect((await fetch(base, { method: 'POST', headers: ping.headers, body: ping.body })).status).toBe(202);
  });

  it('object-level outcomes are 2xx: skipped and failed (Ready=False already written)', async () => {
    expect((await fetch(base, binaryRequest(component('unchanged')))).status).toBe(202);
    expect((await fetch(base, binaryRequest(component('bad-spec')))).status).toBe(202);
  });

  it('a reply event comes back as a binary CloudEvent (200) carrying the incoming traceparent', async () => {
    const init = binaryRequest(component('reply'), 'update', 'in-42');
    (init.headers as Record<string, string>)['traceparent'] = TRACEPARENT;
    const res = await fetch(base, init);
    expect(res.status).toBe(200);
    const headers = Object.fromEntries(res.headers);
    expect(headers['ce-type']).toBe('software.ocm.serverless.snapshot.ready');
    expect(headers['ce-causationid']).toBe('in-42');
    expect(headers['traceparent']).toBe(TRACEPARENT);
    const reply = parseHttpEvent(headers, Buffer.from(await res.arrayBuffer()));
    expect(reply.data).toMatchObject({ stage: 'test', object: { kind: 'Component', name: 'reply', namespace: 'team-a' } });
  });

  it('an invalid reply from the handler is dropped (202) and logged, the work counts as done', async () => {
    const res = await fetch(base, binaryRequest(component('bad-reply'), 'update', 'bad-reply-1'));
    expect(res.status).toBe(202);
    expect(res.headers.get('ce-type')).toBeNull();
    expect(logs.records.find((r) => r['msg'] === 'handler returned an invalid reply CloudEvent; answering without it')).toBeDefined();
  });

  it('transient failures -> 503 / 429 with Retry-After; conflicts and real network errors -> 503; bugs -> 500', async () => {
    expect((await fetch(base, binaryRequest(component('transient')))).status).toBe(503);
    const throttled = await fetch(base, binaryRequest(component('throttled')));
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('5');
    expect((await fetch(base, binaryRequest(component('conflict')))).status).toBe(503);
    expect((await fetch(base, binaryRequest(component('refused')))).status).toBe(503);
    const bug = await fetch(base, binaryRequest(component('bug')));
    expect(bug.status).toBe(500);
    expect(await bug.json()).toEqual({ error: 'undefined is not a function' });
  });

  it('bad events: not a CloudEvent -> 400, batch -> 415, unsupported type / bad data -> 422 naming the field', async () => {
    const notCe = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(notCe.status).toBe(400);
    expect(((await notCe.json()) as { error: string }).error).toMatch(/not a CloudEvent/);

    const batch = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/cloudevents-batch+json' }, body: '[]' });
    expect(batch.status).toBe(415);
    expect(((await batch.json()) as { error: string }).error).toMatch(/batched CloudEvents .* not accepted/);

    const reply = toBinaryMessage(snapshotReplyEvent({ stage: 'x', object: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'n', name: 'c' }, status: 'ready' }));
    const wrongType = await fetch(base, { method: 'POST', headers: reply.headers, body: reply.body });
    expect(wrongType.status).toBe(422);
    expect(await wrongType.json()).toMatchObject({ field: 'type' });

    const noName = toBinaryMessage(apiServerSourceEvent({ mode: 'Resource', op: 'add', object: component('x') }));
    const badData = await fetch(base, { method: 'POST', headers: noName.headers, body: JSON.stringify({ apiVersion: 'v1', kind: 'Component', metadata: { namespace: 'team-a' } }) });
    expect(badData.status).toBe(422);
    expect(await badData.json()).toMatchObject({ field: 'data.metadata.name' });

    const invalidJson = await fetch(base, { method: 'POST', headers: noName.headers, body: '{"apiVersion":' });
    expect(invalidJson.status).toBe(400);
    expect(await invalidJson.json()).toMatchObject({ field: 'data' });
  });

  it('bodies over BODY_LIMIT -> 413 naming the limit', async () => {
    const big = binaryRequest(component('ok', { padding: 'x'.repeat(70 * 1024) }));
    const res = await fetch(base, big);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toContain('65536 bytes (BODY_LIMIT)');
  });

  it('non-POST on the event path -> 405; health endpoints', async () => {
    const get = await fetch(`${base}/`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('/metrics has events by type/outcome, durations, bytes', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const value = (series: string) => Number(text.split('\n').find((l) => l.startsWith(series))?.split(' ').pop());
    expect(value('ocm_knative_events_total{type="update",outcome="done",stage="test"}')).toBeGreaterThanOrEqual(3);
    expect(value('ocm_knative_events_total{type="update",outcome="failed",stage="test"}')).toBeGreaterThanOrEqual(1);
    expect(value('ocm_knative_events_total{type="update",outcome="transient",stage="test"}')).toBeGreaterThanOrEqual(4);
    expect(value('ocm_knative_events_total{type="invalid",outcome="rejected",stage="test"}')).toBeGreaterThanOrEqual(3);
    expect(value('ocm_knative_events_total{type="invalid",outcome="invalid",stage="test"}')).toBeGreaterThanOrEqual(2);
    expect(value('ocm_knative_events_total{type="resync",outcome="skipped",stage="test"}')).toBe(1);
    expect(value('ocm_knative_bytes_pushed_total{stage="test"}')).toBeGreaterThanOrEqual(1000);
    expect(text).toMatch(/ocm_knative_stage_duration_seconds_bucket\{le="0.005",stage="test",outcome="done"\} \d+/);
  });

  it('logs one JSON line per event with id, object, stage, outcome, duration; secrets redacted', async () => {
    await fetch(base, binaryRequest(component('secret'), 'add', 'log-1'));
    const line = logs.records.find((r) => r['eventId'] === 'log-1' && r['msg'] === 'event done');
    expect(line).toMatchObject({ level: 'info', stage: 'test', object: 'Component team-a/secret', outcome: 'done', status: 202, hint: 'add' });
    expect(typeof line?.['durationMs']).toBe('number');
    const handlerLine = logs.records.find((r) => r['msg'] === 'handler logged credentials');
    expect(handlerLine).toMatchObject({ eventId: 'log-1', object: 'Component team-a/secret', password: '[redacted]' });
    expect(JSON.stringify(logs.records)).not.toMatch(/hunter2|tok-123/);
    const perEvent = logs.records.filter((r) => r['eventId'] === 'log-1' && typeof r['outcome'] === 'string');
    expect(perEvent).toHaveLength(1);
  });
});

describe('REPLY_EVENTS=false', () => {
  it('answers 202 empty even when the handler offers a reply', async () => {
    const config = loadConfig(serverConfigSchema, { REPLY_EVENTS: 'false', PROCESS_METRICS: 'false' });
    const server = createFunctionServer({
      stage: 'test',
      config,
      logger: createLogger({ level: 'silent' }),
      handle: async (hint) => ({
        result: 'done',
        reply: snapshotReplyEvent({ stage: 'test', object: hint.type === 'resync' ? component('x') as never : hint, status: 'ready' }),
      }),
    });
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, binaryRequest(component('ok')));
      expect(res.status).toBe(202);
      expect(res.headers.get('ce-type')).toBeNull();
    } finally {
      await server.close();
    }
  });
});

describe('lazy handler loading', () => {
  it('loads once after listen (WARM_HANDLER), retries after a failed load', async () => {
    let loads = 0;
    const config = loadConfig(serverConfigSchema, { WARM_HANDLER: 'false', PROCESS_METRICS: 'false' });
    const server = createFunctionServer({
      stage: 'lazy',
      config,
      logger: createLogger({ level: 'silent' }),
      loadHandler: async () => {
        loads++;
        if (loads === 1) throw new Error('cannot load adapters');
        return async () => ({ result: 'done' });
      },
    });
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      expect(loads).toBe(0); // nothing loaded at start-up
      expect((await fetch(`http://127.0.0.1:${port}/`, binaryRequest(component('ok')))).status).toBe(500);
      expect((await fetch(`http://127.0.0.1:${port}/`, binaryRequest(component('ok')))).status).toBe(202);
      expect((await fetch(`http://127.0.0.1:${port}/`, binaryRequest(component('ok')))).status).toBe(202);
      expect(loads).toBe(2);
    } finally {
      await server.close();
    }
  });
});

describe('draining (in-process)', () => {
  it('finishes in-flight events, refuses new ones with 503, readyz turns 503', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inHandler = new Promise<void>((r) => (started = r));
    const config = loadConfig(serverConfigSchema, { SHUTDOWN_TIMEOUT: '10s', PROCESS_METRICS: 'false' });
    const server = createFunctionServer({
      stage: 'drain',
      config,
      logger: createLogger({ level: 'silent' }),
      handle: async () => {
        started();
        await gate;
        return { result: 'done' };
      },
    });
    const { port } = await server.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${port}`;
    const slow = fetch(`${url}/`, binaryRequest(component('slow')));
    await inHandler;
    expect(server.inFlight).toBe(1);
    const closing = server.close();
    expect(server.draining).toBe(true);
    const refused = await fetch(`${url}/`, binaryRequest(component('late')));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    release();
    expect((await slow).status).toBe(202);
    expect(await closing).toEqual({ drained: true });
  });
});
