import { describe, expect, it } from 'vitest';
import { EventTypes, parseHttpEvent, snapshotReplyEvent, toBinaryMessage } from '../../../shared/cloudevents/index.js';

const object = { apiVersion: 'serverless.ocm.software/v1alpha1', kind: 'Resource', namespace: 'team-a', name: 'chart' };

describe('snapshotReplyEvent', () => {
  it('ready: type, source, subject, filterable extensions, snapshot data, trace context', () => {
    const ev = snapshotReplyEvent({
      stage: 'resource',
      object: { ...object, extra: 'ignored' } as typeof object,
      status: 'ready',
      snapshot: { name: 'resource-chart', namespace: 'team-a', repository: 'zot.local/team-a/resource/chart', digest: 'sha256:abc', tag: '1.0.0' },
      causationId: 'in-1',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    expect(ev.type).toBe(EventTypes.snapshotReady);
    expect(ev.source).toBe('/serverless.ocm.software/stages/resource');
    expect(ev.subject).toBe('/apis/serverless.ocm.software/v1alpha1/namespaces/team-a/resources/chart');
    expect(ev['kind']).toBe('Resource');
    expect(ev['stage']).toBe('resource');
    expect(ev['causationid']).toBe('in-1');
    expect(ev.data).toEqual({
      stage: 'resource',
      object,
      snapshot: { name: 'resource-chart', namespace: 'team-a', repository: 'zot.local/team-a/resource/chart', digest: 'sha256:abc', tag: '1.0.0' },
    });
    const m = toBinaryMessage(ev);
    expect(m.headers['traceparent']).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(parseHttpEvent(m.headers, m.body).data).toEqual(ev.data);
  });

  it('failed carries reason and message; a bad traceparent is dropped', () => {
    const ev = snapshotReplyEvent({ stage: 'configure', object, status: 'failed', reason: 'ConfigurationFailed', message: 'path .a.b not found', traceparent: 'junk' });
    expect(ev.type).toBe(EventTypes.snapshotFailed);
    expect(ev.data).toMatchObject({ reason: 'ConfigurationFailed', message: 'path .a.b not found' });
    expect(ev['traceparent']).toBeUndefined();
  });
});
