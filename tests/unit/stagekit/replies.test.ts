import { describe, expect, it } from 'vitest';
import { API_VERSION, BadEventError, Reason, type Hint, type Stage, type StageResult } from '../../../shared/ports/index.js';
import { replyFor, withReplies } from '../../../shared/stagekit/replies.js';
import type { ObjectResult } from '../../../shared/stagekit/results.js';

const snapshot = { name: 'resource-chart', namespace: 'n', repository: 'registry.local:5000/n/resource/chart', digest: 'sha256:aa', tag: '1.0.0' };
const applied: ObjectResult = { kind: 'Resource', namespace: 'n', name: 'chart', outcome: 'applied', reason: Reason.Succeeded, message: 'ok', snapshot };
const failed: ObjectResult = { kind: 'Resource', namespace: 'n', name: 'other', outcome: 'failed', reason: Reason.ResolveResourceFailed, message: 'no resource named x' };

describe('replyFor', () => {
  it('says .ready for the first object with new output, else .failed for the first failure, else nothing', () => {
    expect(replyFor('resource', API_VERSION, [failed, applied])).toEqual({
      type: 'software.ocm.serverless.snapshot.ready',
      subject: `/apis/${API_VERSION}/namespaces/n/resources/chart`,
      data: { stage: 'resource', object: { apiVersion: API_VERSION, kind: 'Resource', namespace: 'n', name: 'chart' }, snapshot, reason: Reason.Succeeded, message: 'ok' },
    });
    expect(replyFor('resource', API_VERSION, [failed])).toMatchObject({
      type: 'software.ocm.serverless.snapshot.failed',
      data: { reason: Reason.ResolveResourceFailed, message: 'no resource named x' },
    });
    expect(replyFor('resource', API_VERSION, [{ ...applied, outcome: 'unchanged' }])).toBeUndefined();
  });
});

describe('withReplies', () => {
  const inner = (result: StageResult): Stage => ({ name: 'resource', routes: (h) => h.type === 'resync', handle: async () => result });
  const event: Hint = { type: 'object', action: 'add', ref: { apiVersion: API_VERSION, kind: 'Resource', namespace: 'n', name: 'chart' } };

  it('adds the reply to an event\'s result, but not to a resync tick\'s', async () => {
    const stage = withReplies(inner({ objects: [applied] }), API_VERSION);
    expect((await stage.handle(event)).reply?.type).toBe('software.ocm.serverless.snapshot.ready');
    expect((await stage.handle({ type: 'resync' })).reply).toBeUndefined();
  });

  it('routes events about foreign kinds so that it can reject them as bad events', async () => {
    const stage = withReplies(inner({ objects: [] }), API_VERSION);
    const pod: Hint = { type: 'object', action: 'add', ref: { apiVersion: 'v1', kind: 'Pod', namespace: 'n', name: 'p' } };
    expect(stage.routes(pod)).toBe(true);
    await expect(stage.handle(pod)).rejects.toBeInstanceOf(BadEventError);
    expect(stage.routes(event)).toBe(false);
  });
});
