import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../shared/log/index.js';
import { createMetrics } from '../../../shared/metrics/index.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, destination };
}

describe('logger', () => {
  it('writes one JSON line with level label, time and base fields', () => {
    const { lines, destination } = capture();
    createLogger({ level: 'info', base: { stage: 'resource' }, destination }).info({ eventId: 'e1' }, 'hello');
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ level: 'info', stage: 'resource', eventId: 'e1', msg: 'hello' });
    expect(typeof rec['time']).toBe('string');
  });

  it('redacts secrets at any of the first three levels', () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination });
    log.info(
      {
        password: 'p1',
        config: { REGISTRY_PASSWORD: 'not-a-key-we-know', token: 't1', creds: { secretAccessKey: 's1', '.dockerconfigjson': 'd1' } },
        headers: { authorization: 'Basic abc', 'proxy-authorization': 'x1' },
      },
      'with secrets',
    );
    const line = lines[0]!;
    for (const secret of ['p1', 't1', 's1', 'd1', 'Basic abc', 'x1']) expect(line).not.toContain(secret);
    expect(line).toContain('[redacted]');
  });
});

describe('metrics', () => {
  it('counts events by type/outcome, observes durations, bytes and errors', async () => {
    const m = createMetrics({ stage: 'publish' });
    m.eventStarted();
    m.eventFinished('update', 'done', 0.2);
    m.countEvent('invalid', 'rejected', 0);
    m.bytesPushed(1000);
    m.bytesPushed(-5); // ignored
    m.bytesPulled(42);
    m.registryError('push-blob', 503);
    m.apiError('patch-status', 409);
    const text = await m.render();
    expect(text).toContain('ocm_knative_events_total{type="update",outcome="done",stage="publish"} 1');
    expect(text).toContain('ocm_knative_events_total{type="invalid",outcome="rejected",stage="publish"} 1');
    expect(text).toContain('ocm_knative_stage_duration_seconds_count{stage="publish",outcome="done"} 1');
    expect(text).toContain('ocm_knative_bytes_pushed_total{stage="publish"} 1000');
    expect(text).toContain('ocm_knative_bytes_pulled_total{stage="publish"} 42');
    expect(text).toContain('ocm_knative_registry_errors_total{operation="push-blob",code="503",stage="publish"} 1');
    expect(text).toContain('ocm_knative_api_errors_total{verb="patch-status",code="409",stage="publish"} 1');
    expect(text).toContain('ocm_knative_inflight_events{stage="publish"} 0');
  });
});
