/** HTTPS server for the admission webhook (express 5). */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { ADMISSION_API_VERSION, deny, MalformedReviewError, parseReview, review, type AdmissionResponse, type ReviewDeps } from './review.js';

export interface WebhookAppOptions extends ReviewDeps {
  logger?: Logger;
  /** answer by then even if reference lookups are still running, ms (apiserver default timeout is 10 s) */
  answerWithinMs?: number;
  bodyLimit?: string;
}

function send(res: Response, response: AdmissionResponse): void {
  res.status(200).json({ apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response });
}

function webhookMetrics() {
  const registry = new Registry();
  const reviews = new Counter({
    name: 'ocm_knative_admission_reviews_total',
    help: 'AdmissionReviews answered, by kind, operation and result (allowed, warned, denied, malformed).',
    labelNames: ['kind', 'operation', 'result'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'ocm_knative_admission_review_duration_seconds',
    help: 'Time to answer an AdmissionReview (reference lookups included).',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return { registry, reviews, duration };
}

export function createWebhookApp(opts: WebhookAppOptions = {}): express.Express {
  const app = express();
  const metrics = webhookMetrics();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => void res.status(200).send('ok'));
  app.get('/readyz', (_req, res) => void res.status(200).send('ok'));
  app.get('/metrics', (_req, res, next) => {
    metrics.registry.metrics().then((text) => void res.type(metrics.registry.contentType).send(text), next);
  });

  const handle = async (req: Request, res: Response): Promise<void> => {
    const started = Date.now();
    let parsed: ReturnType<typeof parseReview>;
    try {
      parsed = parseReview(req.body);
    } catch (e) {
      if (e instanceof MalformedReviewError) {
        metrics.reviews.labels('', '', 'malformed').inc();
        res.status(400).json({ message: e.message });
        return;
      }
      throw e;
    }
    if ('problem' in parsed) {
      metrics.reviews.labels('', '', 'malformed').inc();
      send(res, deny(parsed.uid, 400, parsed.problem));
      return;
    }
    const { request } = parsed;
    // a hard deadline: semantic checks are instant, only the reference lookups can take time
    const budget = opts.answerWithinMs ?? 5000;
    const response = await review(request, { ...opts, referenceTimeoutMs: Math.min(opts.referenceTimeoutMs ?? 1500, budget) });
    const result = !response.allowed ? 'denied' : (response.warnings?.length ?? 0) > 0 ? 'warned' : 'allowed';
    metrics.reviews.labels(request.kind.kind, request.operation, result).inc();
    metrics.duration.observe((Date.now() - started) / 1000);
    opts.logger?.info(
      { uid: request.uid, kind: request.kind.kind, namespace: request.namespace, name: request.name, operation: request.operation, allowed: response.allowed, warnings: response.warnings?.length ?? 0, ms: Date.now() - started },
      response.allowed ? 'admitted' : `denied: ${response.status?.message ?? ''}`,
    );
    send(res, response);
  };

  const json = express.json({ limit: opts.bodyLimit ?? '6mb', type: () => true });
  app.post(['/', '/validate'], json, (req, res, next) => {
    handle(req, res).catch(next);
  });

  // body parse errors (bad JSON, too large) and anything unexpected: answer, never crash
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    metrics.reviews.labels('', '', 'malformed').inc();
    const status = err.status !== undefined && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) opts.logger?.error({ err }, 'webhook error');
    res.status(status).json({ message: status === 500 ? 'internal error in the admission webhook' : `malformed AdmissionReview: ${err.message}` });
  });
  return app;
}

export interface WebhookServerOptions extends WebhookAppOptions {
  cert: string | Buffer;
  key: string | Buffer;
  port?: number;
  host?: string;
}

export interface RunningWebhook {
  server: Server;
  port: number;
  /** replaces the serving certificate without a restart (e.g. after cert-manager rotated it) */
  setCertificate(cert: string | Buffer, key: string | Buffer): void;
  close(): Promise<void>;
}

export async function startWebhookServer(opts: WebhookServerOptions): Promise<RunningWebhook> {
  const server = createServer({ cert: opts.cert, key: opts.key, minVersion: 'TLSv1.2' }, createWebhookApp(opts));
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8443, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    setCertificate: (cert, key) => server.setSecureContext({ cert, key }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
