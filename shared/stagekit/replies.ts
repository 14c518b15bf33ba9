import { BadEventError, type Stage, type StageResult } from '../ports/index.js';
import { foreignKindProblem } from './event-checks.js';
import type { ObjectResult } from './results.js';

/**
 * The optional reply CloudEvent (docs/design.md §4): `software.ocm.serverless.snapshot.ready` for the first object that got
 * new output, else `.failed` for the first object-level failure. Nothing internal depends on it.
 */
export function replyFor(stage: string, apiVersion: string, results: ObjectResult[]): StageResult['reply'] {
  const done = results.find((r) => r.outcome === 'applied' && r.snapshot);
  const failed = results.find((r) => r.outcome === 'failed');
  const r = done ?? failed;
  if (!r) return undefined;
  const object = { apiVersion, kind: r.kind, namespace: r.namespace, name: r.name };
  return {
    type: done ? 'software.ocm.serverless.snapshot.ready' : 'software.ocm.serverless.snapshot.failed',
    subject: `/apis/${apiVersion}/namespaces/${r.namespace}/${r.kind.toLowerCase()}s/${r.name}`,
    data: {
      stage,
      object,
      ...(done?.snapshot ? { snapshot: done.snapshot } : {}),
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.message ? { message: r.message } : {}),
    },
  };
}

/** Adds the reply event to every result of a stage, and rejects events about kinds that are not ours. */
export function withReplies(stage: Stage, apiVersion: string): Stage {
  return {
    name: stage.name,
    routes: (hint) => foreignKindProblem(hint, apiVersion) !== undefined || stage.routes(hint),
    async handle(hint, ctx) {
      const problem = foreignKindProblem(hint, apiVersion);
      if (problem) throw new BadEventError(problem);
      const result = await stage.handle(hint, ctx);
      if (result.reply || hint.type === 'resync') return result;
      const reply = replyFor(stage.name, apiVersion, result.objects as ObjectResult[]);
      return reply ? { ...result, reply } : result;
    },
  };
}
