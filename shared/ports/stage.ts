import type { KubeObject, ObjectRef } from './kinds.js';

/**
 * Which object to look at. Built from ApiServerSource Resource/Reference events (the payload, when present, is a
 * hint only: handlers re-read the object), registry events (`lost`) or from a resync tick.
 */
export type Hint =
  | {
      type: 'object';
      action: 'add' | 'update' | 'delete';
      /** the object the event names; in-process buses and tests may leave out apiVersion (then it is taken as ours) */
      ref: Omit<ObjectRef, 'apiVersion'> & Partial<Pick<ObjectRef, 'apiVersion'>>;
      /** the object from a Resource-mode event (possibly stale); absent in Reference mode */
      object?: KubeObject;
      /**
       * A registry event said this manifest was removed from the object's repository: the producing stage re-pushes
       * it if the object's Ready Snapshot references it (shared/stagekit/lost-output.ts), else there is nothing to do.
       */
      lost?: { repository: string; digest: string };
    }
  | {
      type: 'resync';
      /** PingSource data may scope the tick: one namespace, and/or only some kinds (e.g. ["Component"]) */
      namespace?: string;
      kinds?: string[];
    };

export interface Logger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

export interface StageContext {
  eventId?: string;
  log?: Logger;
}

export type ObjectOutcome = 'applied' | 'unchanged' | 'failed' | 'waiting' | 'deleted' | 'skipped';

export interface StageResult {
  /** one entry per object the stage looked at */
  objects: Array<{ kind: string; namespace: string; name: string; outcome: ObjectOutcome; reason?: string; message?: string }>;
  /** optional reply CloudEvent (type software.ocm.serverless.snapshot.ready|failed); nothing internal needs it */
  reply?: { type: string; subject: string; data: Record<string, unknown> };
}

export type StageName = 'descriptor' | 'resource' | 'configure' | 'publish';

export interface Stage {
  readonly name: StageName;
  /** cheap: does this stage care about the hint at all (no I/O) */
  routes(hint: Hint): boolean;
  /** Throws TransientError (retry) or BadEventError (drop); object failures are written to status instead. */
  handle(hint: Hint, ctx?: StageContext): Promise<StageResult>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
