/**
 * The part of the host that is loaded after listen(): express 5 + the CloudEvents binding, logger, metrics.
 * One POST = one event = one handler call = one log line.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CloudEventV1 } from 'cloudevents';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  CloudEvent,
  EventError,
  isObjectHint,
  parseHttpEvent,
  toBinaryMessage,
  toHint,
  type KubeEventHint,
} from '../cloudevents/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { createMetrics, type FunctionMetrics } from '../metrics/index.js';
import { classifyError, type Outcome } from './outcome.js';
import type { FunctionServerOptions, HandlerContext, HostState, StageHandler } from './types.js';

export interface HostApp {
  readonly app: express.Express;
  readonly log: Logger;
  readonly metrics: FunctionMetrics;
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Start importing the handler module (errors are logged; the next event retries). */
  warmHandler(): void;
}

function describeObject(hint: KubeEventHint): string {
  if (isObjectHint(hint)) return `${hint.kind} ${hint.namespace}/${hint.name}`;
  return `resync${hint.namespace ? ` ${hint.namespace}` : ''}${hint.kinds ? ` ${hint.kinds.join(',')}` : ''}`;
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** body-parser errors carry `status` (entity.too.large -> 413, encoding.unsupported -> 415...). */
function bodyErrorStatus(err: unknown): number | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const s = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' && s >= 400 && s < 500 ? s : undefined;
}

function ms(started: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100;
}

export function createHostApp(options: FunctionServerOptions, state: HostState): HostApp {
  const { stage, config } = options;
  const baseLogger =
    options.logger ??
    createLogger({
      level: config.LOG_LEVEL ?? 'info',
      base: {
        ...(config.K_SERVICE ? { service: config.K_SERVICE } : {}),
        ...(config.K_REVISION ? { revision: config.K_REVISION } : {}),
      },
    });
  const log = baseLogger.child({ stage });
  const metrics = options.metrics ?? createMetrics({ stage, processMetrics: config.PROCESS_METRICS ?? false });

  let handlerPromise: Promise<StageHandler> | undefined = options.handle ? Promise.resolve(options.handle) : undefined;
  const getHandler = (): Promise<StageHandler> => {
    handlerPromise ??= options.loadHandler!().catch((err: unknown) => {
      handlerPromise = undefined; // let the next event try again
      throw err;
    });
    return handlerPromise;
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.status(200).json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    if (state.draining) res.status(503).json({ status: 'draining' });
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
      status === 413 ? `request body exceeds the limit of ${config.BODY_LIMIT} bytes (BODY_LIMIT)` : ((err as Error)?.message ?? 'internal error');
    metrics.countEvent('invalid', status === 500 ? 'error' : 'rejected', 0);
    const detail = status === 500 ? { err } : { error: (err as Error)?.message };
    log.warn({ outcome: 'rejected', status, eventId: header(req, 'ce-id'), ...detail }, message);
    if (!res.headersSent) res.status(status).json({ error: message });
  });

  /** Validate a handler's reply; a broken reply is logged and dropped (the work itself is done). */
  function toReplyEvent(reply: CloudEventV1<unknown>, traceparent: string | undefined): CloudEvent<unknown> | undefined {
    try {
      const ev = reply instanceof CloudEvent ? reply : new CloudEvent<unknown>(reply);
      return traceparent && ev['traceparent'] === undefined ? ev.cloneWith({ traceparent }) : ev;
    } catch (err) {
      log.error({ err, replyType: reply.type }, 'handler returned an invalid reply CloudEvent; answering without it');
      return undefined;
    }
  }

  async function handleEvent(req: Request, res: Response): Promise<void> {
    const started = process.hrtime.bigint();
    const receivedAt = new Date();
    state.begin();
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
      const ctx: HandlerContext = {
        stage,
        event,
        log: log.child({ eventId: event.id, object: fields['object'] }),
        metrics,
        signal: state.signal,
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
        if (state.draining) res.set('Connection', 'close');
        const message = (err as Error)?.message ?? String(err);
        res.status(status).json({ error: message });
        const level = c.kind === 'error' ? 'error' : 'warn';
        log[level]({ ...fields, outcome: outcomeLabel, status, durationMs: ms(started), err }, `event failed: ${message}`);
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
      if (outcome.result !== 'failed' && outcome.detail) fields['detail'] = outcome.detail;
      if (state.draining) res.set('Connection', 'close');
      const reply = config.REPLY_EVENTS && 'reply' in outcome && outcome.reply ? toReplyEvent(outcome.reply, hint.traceparent) : undefined;
      if (reply) {
        const withTrace = reply;
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
      state.end();
    }
  }

  return {
    app,
    log,
    metrics,
    handle: (req, res) => {
      app(req as Request, res as Response);
    },
    warmHandler: () => {
      if (options.handle) return;
      getHandler().catch((e: unknown) => log.error({ err: e }, 'loading the handler failed; will retry on the next event'));
    },
  };
}
