import type { CloudEvent } from 'cloudevents';
import type { KubeEventHint } from '../cloudevents/index.js';
import type { Logger } from '../log/index.js';
import type { StageMetrics } from '../metrics/index.js';
import type { Outcome } from './outcome.js';

/** Per-event context the host gives a handler. */
export interface HandlerContext {
  stage: string;
  /** The CloudEvent as received (validated); `hint` is its normalised form. */
  event: CloudEvent<unknown>;
  /** Logger bound to this event (event id, object). */
  log: Logger;
  metrics: StageMetrics;
  /** W3C trace context of the incoming event; pass it on to outgoing calls and events. */
  traceparent?: string;
  tracestate?: string;
  /** Aborted when the host gives up on in-flight work (shutdown deadline). */
  signal: AbortSignal;
  receivedAt: Date;
}

/** One stage: pure logic over ports; the same function serves Knative, the local runner and tests. */
export type StageHandler = (hint: KubeEventHint, ctx: HandlerContext) => Promise<Outcome>;
