import type { CloudEvent } from 'cloudevents';
import type { KubeEventHint } from '../cloudevents/index.js';
import type { Logger } from '../log/index.js';
import type { FunctionMetrics, StageMetrics } from '../metrics/index.js';
import type { ServerConfig } from './config.js';
import type { ErrorClassifier, Outcome } from './outcome.js';

/** The host's options and state, shared by the light host (server.ts) and the lazily loaded app (app.ts). */
export type HostConfig = Pick<ServerConfig, 'BODY_LIMIT' | 'SHUTDOWN_TIMEOUT' | 'REPLY_EVENTS'> &
  Partial<Pick<ServerConfig, 'PORT' | 'HOST' | 'WARM_HANDLER' | 'PROCESS_METRICS' | 'LOG_LEVEL' | 'K_SERVICE' | 'K_REVISION'>>;

export interface FunctionServerOptions {
  stage: string;
  /** The handler, or `loadHandler` to import it lazily (keeps start-up to reading config). */
  handle?: StageHandler;
  loadHandler?: () => Promise<StageHandler>;
  config: HostConfig;
  /** Defaults to a pino JSON logger at config.LOG_LEVEL, created after listen(). */
  logger?: Logger;
  /** Defaults to a fresh per-server registry, created after listen(). */
  metrics?: FunctionMetrics;
  /** Map domain errors (e.g. a registry client's) to retry semantics before the default rules apply. */
  classifyError?: ErrorClassifier;
}

/** Shared between the light host and the lazily loaded app. */
export interface HostState {
  readonly draining: boolean;
  readonly signal: AbortSignal;
  begin(): void;
  end(): void;
}

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
