/**
 * Bridges the stage port (shared/ports/stage.ts: `Stage.routes/handle`, `Hint`, `StageResult`) to the host's
 * `StageHandler`, so a function's main is just `runFunction({ stage, loadHandler: async () => handlerFromStage(s) })`.
 */
import { randomUUID } from 'node:crypto';
import type { CloudEventV1 } from 'cloudevents';
import { API_GROUP } from '../cloudevents/constants.js';
import type { KubeEventHint } from '../cloudevents/types.js';
import type { KubeObject } from '../ports/kinds.js';
import type { Hint, Stage, StageResult } from '../ports/stage.js';
import type { Outcome } from './outcome.js';
import type { StageHandler } from './types.js';

export function toStageHint(hint: KubeEventHint): Hint {
  if (hint.type === 'resync') {
    return { type: 'resync', ...(hint.namespace ? { namespace: hint.namespace } : {}), ...(hint.kinds ? { kinds: hint.kinds } : {}) };
  }
  return {
    type: 'object',
    action: hint.type,
    ref: { apiVersion: hint.apiVersion, kind: hint.kind, namespace: hint.namespace, name: hint.name },
    ...(hint.object ? { object: hint.object as unknown as KubeObject } : {}),
    ...(hint.lost ? { lost: hint.lost } : {}),
  };
}

/** Fold per-object outcomes into one: any failure wins, then any applied/deleted work, else skipped. */
export function toOutcome(stageName: string, result: StageResult, causationId?: string): Outcome {
  // A plain CloudEvent (no SDK instance): keeps the SDK out of a main's start-up path; the host validates it.
  const reply: CloudEventV1<unknown> | undefined = result.reply
    ? {
        specversion: '1.0',
        id: randomUUID(),
        time: new Date().toISOString(),
        type: result.reply.type,
        source: `/${API_GROUP}/stages/${stageName}`,
        subject: result.reply.subject,
        datacontenttype: 'application/json',
        ...(causationId ? { causationid: causationId } : {}),
        data: result.reply.data,
      }
    : undefined;
  const failed = result.objects.filter((o) => o.outcome === 'failed');
  if (failed.length > 0) {
    const f = failed[0]!;
    const more = failed.length > 1 ? ` (+${failed.length - 1} more)` : '';
    return {
      result: 'failed',
      reason: f.reason ?? 'Failed',
      message: `${f.kind} ${f.namespace}/${f.name}: ${f.message ?? f.reason ?? 'failed'}${more}`,
      ...(reply ? { reply } : {}),
    };
  }
  const worked = result.objects.filter((o) => o.outcome === 'applied' || o.outcome === 'deleted');
  if (worked.length > 0) {
    return {
      result: 'done',
      detail: worked.map((o) => `${o.outcome} ${o.kind} ${o.namespace}/${o.name}`).join(', '),
      ...(reply ? { reply } : {}),
    };
  }
  const reasons = [...new Set(result.objects.map((o) => o.reason ?? o.outcome))];
  return { result: 'skipped', reason: reasons.length ? reasons.join(', ') : 'nothing to do' };
}

export function handlerFromStage(stage: Stage): StageHandler {
  return async (hint, ctx) => {
    const h = toStageHint(hint);
    if (!stage.routes(h)) return { result: 'skipped', reason: `not routed to ${stage.name}` };
    const result = await stage.handle(h, { eventId: ctx.event.id, log: ctx.log });
    return toOutcome(stage.name, result, ctx.event.id);
  };
}

export { stageErrorClassifier } from './stage-errors.js';
