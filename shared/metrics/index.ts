/**
 * Prometheus metrics (prom-client) for one function process. Each server gets its own Registry so tests
 * and the local runner can host several stages in one process without name clashes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What handlers may record; passed to them in their context. */
export interface StageMetrics {
  bytesPushed(bytes: number): void;
  bytesPulled(bytes: number): void;
  /** A failed registry call; `operation` e.g. `push-blob`, `head-manifest`; `code` the HTTP status or error code. */
  registryError(operation: string, code?: string | number): void;
  /** A failed Kubernetes API call; `verb` e.g. `get`, `patch-status`. */
  apiError(verb: string, code?: string | number): void;
}

export interface FunctionMetrics extends StageMetrics {
  readonly registry: Registry;
  eventStarted(): void;
  /** Record one handled event. `type` is the hint type (add/update/delete/resync) or `invalid`. */
  eventFinished(type: string, outcome: string, seconds: number): void;
  /** Count an event that never became in-flight (e.g. rejected while reading the body). */
  countEvent(type: string, outcome: string, seconds: number): void;
  render(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions {
  stage: string;
  /** Node process metrics (CPU, memory, event loop lag). */
  processMetrics?: boolean;
  prefix?: string;
}

export function createMetrics(options: MetricsOptions): FunctionMetrics {
  const registry = new Registry();
  const p = options.prefix ?? 'ocm_knative_';
  registry.setDefaultLabels({ stage: options.stage });
  if (options.processMetrics) collectDefaultMetrics({ register: registry });

  const events = new Counter({
    name: `${p}events_total`,
    help: 'CloudEvents handled, by hint type and outcome (done, skipped, failed, invalid, transient, error, rejected).',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${p}stage_duration_seconds`,
    help: 'Time from receiving an event to answering it.',
    labelNames: ['outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const inflight = new Gauge({ name: `${p}inflight_events`, help: 'Events being handled right now.', registers: [registry] });
  const pushed = new Counter({ name: `${p}bytes_pushed_total`, help: 'Bytes uploaded to the OCI registry.', registers: [registry] });
  const pulled = new Counter({ name: `${p}bytes_pulled_total`, help: 'Bytes downloaded from sources and the OCI registry.', registers: [registry] });
  const registryErrors = new Counter({
    name: `${p}registry_errors_total`,
    help: 'Failed OCI registry calls.',
    labelNames: ['operation', 'code'] as const,
    registers: [registry],
  });
  const apiErrors = new Counter({
    name: `${p}api_errors_total`,
    help: 'Failed Kubernetes API calls.',
    labelNames: ['verb', 'code'] as const,
    registers: [registry],
  });
  // Pre-create the common series so dashboards see zeros instead of gaps.
  for (const o of ['done', 'skipped', 'failed']) events.labels('update', o);
  pushed.inc(0);
  pulled.inc(0);

  return {
    registry,
    contentType: registry.contentType,
    eventStarted: () => inflight.inc(),
    eventFinished(type, outcome, seconds) {
      inflight.dec();
      events.labels(type, outcome).inc();
      duration.labels(outcome).observe(seconds);
    },
    countEvent(type, outcome, seconds) {
      events.labels(type, outcome).inc();
      duration.labels(outcome).observe(seconds);
    },
    bytesPushed: (n) => {
      if (Number.isFinite(n) && n > 0) pushed.inc(n);
    },
    bytesPulled: (n) => {
      if (Number.isFinite(n) && n > 0) pulled.inc(n);
    },
    registryError: (operation, code) => registryErrors.labels(operation, String(code ?? 'unknown')).inc(),
    apiError: (verb, code) => apiErrors.labels(verb, String(code ?? 'unknown')).inc(),
    render: () => registry.metrics(),
  };
}
