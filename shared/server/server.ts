/**
 * The HTTP host every function uses: express 5 + the CloudEvents HTTP binding. One POST = one event =
 * one handler call = one log line. Status codes follow DESIGN §4 (see outcome.ts).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { CloudEvent } from 'cloudevents';
import {
  EventError,
  isObjectHint,
  parseHttpEvent,
  toBinaryMessage,
  toHint,
  type KubeEventHint,
} from '../cloudevents/index.js';
import type { Logger } from '../log/index.js';
import { createMetrics, type FunctionMetrics } from '../metrics/index.js';
import type { ServerConfig } from './config.js';
import { classifyError, type ErrorClassifier, type Outcome } from './outcome.js';
import type { HandlerContext, StageHandler } from './types.js';

export type HostConfig = Pick<ServerConfig, 'BODY_LIMIT' | 'SHUTDOWN_TIMEOUT' | 'REPLY_EVENTS'> &
  Partial<Pick<ServerConfig, 'PORT' | 'HOST' | 'WARM_HANDLER' | 'PROCESS_METRICS'>>;

export interface FunctionServerOptions {
  stage: string;
  /** The handler, or `loadHandler` to import it lazily (keeps start-up to reading config). */
  handle?: StageHandler;
  loadHandler?: () => Promise<StageHandler>;
  config: HostConfig;
  logger: Logger;
  /** Defaults to a fresh per-server registry. */
  metrics?: FunctionMetrics;
  /** Map domain errors (e.g. a registry client's) to retry semantics before the default rules apply. */
  classifyError?: ErrorClassifier;
}

export interface FunctionServer {
  readonly app: express.Express;
  readonly metrics: FunctionMetrics;
  /** Events being handled right now. */
  readonly inFlight: number;
  readonly draining: boolean;
  /** Start listening (defaults: config.PORT / config.HOST). Resolves with the bound address. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** Refuse new events (503), wait for in-flight ones up to SHUTDOWN_TIMEOUT, then close the listener. */
  close(): Promise<{ drained: boolean }>;
  /** SIGTERM/SIGINT -> close() -> process.exit. Returns a function that removes the handlers. */
  installSignalHandlers(exit?: (code: number) => void): () => void;
}

function describeObject(hint: KubeEventHint): string {
  if (isObjectHint(hint)) return `${hint.kind} ${hint.namespace}/${hint.name}`;
  return `resync${hint.namespace ? ` ${hint.namespace}` : ''}${hint.kinds ? ` ${hint.kinds.join(',')}` : ''}`;
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** body-parser errors carry `type` and `status` (entity.too.large -> 413, encoding.unsupported -> 415...). */
function bodyErrorStatus(err: unknown): number | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const s = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' && s >= 400 && s < 500 ? s : undefined;
}

export function createFunctionServer(options: FunctionServerOptions): FunctionServer {
  const { stage, config, logger } = options;
  if (!options.handle && !options.loadHandler) throw new TypeError('createFunctionServer: pass handle or loadHandler');
  const metrics = options.metrics ?? createMetrics({ stage, processMetrics: config.PROCESS_METRICS ?? false });
  const log = logger.child({ stage });

  let handlerPromise: Promise<StageHandler> | undefined = options.handle ? Promise.resolve(options.handle) : undefined;
  const getHandler = (): Promise<StageHandler> => {
    handlerPromise ??= options.loadHandler!().catch((err: unknown) => {
      handlerPromise = undefined; // let the next event try again
      throw err;
    });
    return handlerPromise;
  };

  let inFlight = 0;
  let draining = false;
  let server: Server | undefined;
  const shutdown = new AbortController();
  const idleWaiters: (() => void)[] = [];
  const settle = () => {
    if (inFlight === 0) for (const w of idleWaiters.splice(0)) w();
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.status(200).json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    if (draining) res.status(503).json({ status: 'draining' });
    else res.status(200).json({ status: 'ready' });
  });
  app.get('/metrics', async (_req, res, next) => {
    try {
      const body = await metrics.render();
      res.status(200).type(metrics.contentType).send(body);
    } catch (err) {
      next(err);
    }
  });

  // Refuse new events while draining, before reading the body.
  app.post('/{*path}', (req, res, next) => {
    if (!draining) return next();
    res.set('Retry-After', '1').set('Connection', 'close').status(503).json({ error: 'shutting down; retry' });
    log.info({ outcome: 'draining', status: 503, eventId: header(req, 'ce-id') }, 'event refused: shutting down');
  });
  app.post('/{*path}', express.raw({ type: () => true, limit: config.BODY_LIMIT }), (req, res) => {
    void handleEvent(req, res);
  });
  app.all('/{*path}', (_req, res) => {
    res.set('Allow', 'POST').status(405).json({ error: 'send CloudEvents with POST' });
  });

  // Body-parser failures (size limit, bad encoding, aborted upload) end here.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = bodyErrorStatus(err) ?? 500;
    const message =
      status === 413
        ? `request body exceeds the limit of ${config.BODY_LIMIT} bytes (BODY_LIMIT)`
        : (err as Error)?.message ?? 'internal error';
    metrics.countEvent('invalid', status === 500 ? 'error' : 'rejected', 0);
    const detail = status === 500 ? { err } : { error: (err as Error)?.message };
    log.warn({ outcome: 'rejected', status, eventId: header(req, 'ce-id'), ...detail }, message);
    if (!res.headersSent) res.status(status).json({ error: message });
  });

  async function handleEvent(req: Request, res: Response): Promise<void> {
    const started = process.hrtime.bigint();
    const receivedAt = new Date();
    inFlight++;
    metrics.eventStarted();
    let hintType = 'invalid';
    let outcomeLabel = 'error';
    let status = 500;
    const fields: Record<string, unknown> = { eventId: header(req, 'ce-id') };
    try {
      let event: CloudEvent<unknown>;
      let hint: KubeEventHint;
      try {
        const body: unknown = req.body;
        event = parseHttpEvent(req.headers, Buffer.isBuffer(body) ? body : undefined);
        fields['eventId'] = event.id;
        fields['eventType'] = event.type;
        fields['eventSource'] = event.source;
        hint = toHint(event, { traceparent: header(req, 'traceparent'), tracestate: header(req, 'tracestate') });
      } catch (err) {
        const c = classifyError(err);
        status = c.status;
        outcomeLabel = c.kind === 'event' ? (c.status === 422 ? 'invalid' : 'rejected') : 'error';
        const field = err instanceof EventError ? err.field : undefined;
        res.status(status).json({ error: (err as Error).message, ...(field ? { field } : {}) });
        log.warn({ ...fields, outcome: outcomeLabel, status, field, durationMs: ms(started) }, (err as Error).message);
        return;
      }
      hintType = hint.type;
      fields['hint'] = hint.type;
      fields['object'] = describeObject(hint);
      if (hint.traceparent) fields['traceparent'] = hint.traceparent;
      const eventLog = log.child({ eventId: event.id, object: fields['object'] });
      const ctx: HandlerContext = {
        stage,
        event,
        log: eventLog,
        metrics,
        signal: shutdown.signal,
        receivedAt,
        ...(hint.traceparent ? { traceparent: hint.traceparent } : {}),
        ...(hint.tracestate ? { tracestate: hint.tracestate } : {}),
      };
      let outcome: Outcome;
      try {
        const handle = await getHandler();
        outcome = await handle(hint, ctx);
      } catch (err) {
        const c = classifyError(err, options.classifyError);
        status = c.status;
        outcomeLabel = c.kind === 'event' ? (c.status === 422 ? 'invalid' : 'rejected') : c.kind === 'transient' ? 'transient' : 'error';
        if (c.kind === 'transient' && c.retryAfterSeconds !== undefined) res.set('Retry-After', String(c.retryAfterSeconds));
        if (draining) res.set('Connection', 'close');
        res.status(status).json({ error: (err as Error)?.message ?? String(err) });
        const level = c.kind === 'error' ? 'error' : 'warn';
        log[level]({ ...fields, outcome: outcomeLabel, status, durationMs: ms(started), err }, `event failed: ${(err as Error)?.message ?? String(err)}`);
        return;
      }
      outcomeLabel = outcome.result;
      if (outcome.result === 'failed') {
        fields['reason'] = outcome.reason;
        fields['message'] = outcome.message;
      } else if (outcome.result === 'skipped') {
        fields['reason'] = outcome.reason;
      } else if (outcome.snapshot) {
        fields['snapshot'] = `${outcome.snapshot.repository}@${outcome.snapshot.digest}`;
      }
      if (draining) res.set('Connection', 'close');
      const reply = 'reply' in outcome ? outcome.reply : undefined;
      if (reply && config.REPLY_EVENTS) {
        const withTrace = hint.traceparent && reply['traceparent'] === undefined ? reply.cloneWith({ traceparent: hint.traceparent }) : reply;
        const m = toBinaryMessage(withTrace);
        status = 200;
        res.status(200).set(m.headers).send(m.body);
        fields['reply'] = withTrace.type;
      } else {
        status = 202;
        res.status(202).end();
      }
      log.info({ ...fields, outcome: outcomeLabel, status, durationMs: ms(started) }, `event ${outcomeLabel}`);
    } finally {
      metrics.eventFinished(hintType, outcomeLabel, Number(process.hrtime.bigint() - started) / 1e9);
      inFlight--;
      settle();
    }
  }

  async function close(): Promise<{ drained: boolean }> {
    draining = true;
    server?.closeIdleConnections();
    let drained = true;
    if (inFlight > 0) {
      log.info({ inFlight }, 'draining in-flight events');
      drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), config.SHUTDOWN_TIMEOUT);
        timer.unref();
        idleWaiters.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!drained) {
        log.warn({ inFlight }, `in-flight events did not finish within SHUTDOWN_TIMEOUT=${config.SHUTDOWN_TIMEOUT}ms; aborting them`);
        shutdown.abort(new Error('server shutting down'));
      }
    }
    const s = server;
    if (s) {
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeIdleConnections();
        if (!drained) s.closeAllConnections();
      });
    }
    return { drained };
  }

  return {
    app,
    metrics,
    get inFlight() {
      return inFlight;
    },
    get draining() {
      return draining;
    },
    listen(port = config.PORT ?? 8080, host = config.HOST) {
      return new Promise<AddressInfo>((resolve, reject) => {
        const onListening = (err?: Error) => {
          if (err) return reject(err);
          server = s;
          const addr = s.address() as AddressInfo;
          log.info({ port: addr.port, host: addr.address }, 'listening');
          if (config.WARM_HANDLER && !options.handle) {
            // After listen(): readiness is not delayed, but the first event usually finds the module loaded.
            setImmediate(() => {
              getHandler().catch((e: unknown) => log.error({ err: e }, 'loading the handler failed; will retry on the next event'));
            });
          }
          resolve(addr);
        };
        const s = host ? app.listen(port, host, onListening) : app.listen(port, onListening);
      });
    },
    close,
    installSignalHandlers(exit = (code: number) => process.exit(code)) {
      let closing = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (closing) return;
        closing = true;
        log.info({ signal, inFlight }, 'shutdown requested');
        close().then(
          ({ drained }) => {
            log.info({ drained }, 'shut down');
            exit(0);
          },
          (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            exit(1);
          },
        );
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      return () => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      };
    },
  };
}

function ms(started: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100;
}
