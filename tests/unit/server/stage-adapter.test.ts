import { describe, expect, it } from 'vitest';
import { apiServerSourceEvent, pingSourceEvent, toHint, type KubeObjectLike } from '../../../shared/cloudevents/index.js';
import { toOutcome, toStageHint } from '../../../shared/server/index.js';

const obj: KubeObjectLike = { apiVersion: 'serverless.ocm.software/v1alpha1', kind: 'Component', metadata: { name: 'c', namespace: 'n' } };

describe('stage adapter', () => {
  it('maps hints to the stage port', () => {
    expect(toStageHint(toHint(apiServerSourceEvent({ mode: 'Resource', op: 'update', object: obj })))).toEqual({
      type: 'object',
      action: 'update',
      ref: { apiVersion: obj.apiVersion, kind: 'Component', namespace: 'n', name: 'c' },
      object: obj,
    });
    expect(toStageHint(toHint(apiServerSourceEvent({ mode: 'Reference', op: 'delete', object: obj })))).toEqual({
      type: 'object',
      action: 'delete',
      ref: { apiVersion: obj.apiVersion, kind: 'Component', namespace: 'n', name: 'c' },
    });
    expect(toStageHint(toHint(pingSourceEvent({ namespace: 'n', name: 'p' })))).toEqual({ type: 'resync' });
    // a PingSource whose data scopes the tick keeps that scope all the way to the stage
    expect(toStageHint(toHint(pingSourceEvent({ namespace: 'n', name: 'p', data: { namespace: 'team-a', kinds: ['Component'] } })))).toEqual({
      type: 'resync',
      namespace: 'team-a',
      kinds: ['Component'],
    });
  });

  it('folds per-object outcomes: failure wins, then work, else skipped', () => {
    const o = (outcome: 'applied' | 'unchanged' | 'failed' | 'waiting' | 'deleted' | 'skipped', reason?: string) => ({
      kind: 'Component',
      namespace: 'n',
      name: outcome,
      outcome,
      ...(reason ? { reason, message: `because ${reason}` } : {}),
    });
    expect(toOutcome('descriptor', { objects: [o('applied'), o('failed', 'ComponentVerificationFailed')] })).toEqual({
      result: 'failed',
      reason: 'ComponentVerificationFailed',
      message: 'Component n/failed: because ComponentVerificationFailed',
    });
    expect(toOutcome('descriptor', { objects: [o('applied'), o('unchanged')] })).toMatchObject({ result: 'done', detail: 'applied Component n/applied' });
    expect(toOutcome('descriptor', { objects: [o('unchanged'), o('waiting', 'ComponentIsNotReady')] })).toEqual({
      result: 'skipped',
      reason: 'unchanged, ComponentIsNotReady',
    });
    expect(toOutcome('descriptor', { objects: [] })).toEqual({ result: 'skipped', reason: 'nothing to do' });
  });

  it('turns a port reply into a CloudEvent', () => {
    const out = toOutcome(
      'resource',
      { objects: [{ kind: 'Resource', namespace: 'n', name: 'r', outcome: 'applied' }], reply: { type: 'software.ocm.serverless.snapshot.ready', subject: '/x', data: { a: 1 } } },
      'cause-1',
    );
    expect(out.result).toBe('done');
    const reply = out.result === 'done' ? out.reply : undefined;
    expect(reply).toMatchObject({ type: 'software.ocm.serverless.snapshot.ready', subject: '/x', data: { a: 1 }, causationid: 'cause-1', source: '/serverless.ocm.software/stages/resource' });
  });
});
