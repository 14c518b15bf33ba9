/**
 * The HTTP host every function uses. Start-up is kept to reading config and `listen()` (docs/design.md §9, cold start):
 * this module only needs node:http. Health probes are answered natively; express, the CloudEvents SDK,
 * pino and prom-client (app.ts) load right after listen(), and any event that arrives before that waits
 * for them. Status codes follow docs/design.md §4 (see outcome.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostApp } from './app.js';
import type { FunctionServerOptions, HostState } from './types.js';

export interface FunctionServer {
  /** Events being handled right now. */
  readonly inFlight: number;
  readonly draining: boolean;
  /** Start listening (defaults: config.PORT / config.HOST). Resolves with the bound address. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** Resolves once express, the SDK, logger and metrics are loaded (listen() starts loading them). */
  loaded(): Promise<HostApp>;
  /** Refuse new events (503), wait for in-flight ones up to SHUTDOWN_TIMEOUT, then close the listener. */
  close(): Promise<{ drained: boolean }>;
  /** SIGTERM/SIGINT -> close() -> exit(0). Returns a function that removes the handlers. */
  installSignalHandlers(exit?: (code: number) => void): () => void;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function createFunctionServer(options: FunctionServerOptions): FunctionServer {
  if (!options.handle && !options.loadHandler) throw new TypeError('createFunctionServer: pass handle or loadHandler');
  const { config } = options;
  let inFlight = 0;
  let draining = false;
  let server: Server | undefined;
  const shutdown = new AbortController();
  const idleWaiters: (() => void)[] = [];

  const state: HostState = {
    get draining() {
      return draining;
    },
    signal: shutdown.signal,
    begin: () => {
      inFlight++;
    },
    end: () => {
      inFlight--;
      if (inFlight === 0) for (const w of idleWaiters.splice(0)) w();
    },
  };

  let app: HostApp | undefined;
  let appPromise: Promise<HostApp> | undefined;
  const loadApp = (): Promise<HostApp> => {
    appPromise ??= import('./app.js').then(
      (m) => (app = m.createHostApp(options, state)),
      (err: unknown) => {
        appPromise = undefined;
        throw err;
      },
    );
    return appPromise;
  };

  // Loading the app and the handler is synchronous module evaluation that would block the event loop; it
  // starts once the first readiness probe has been answered (Knative's queue-proxy probes right after
  // start), so the pod turns Ready at once and the activator's first request finds the code loading.
  let warmTimer: NodeJS.Timeout | undefined;
  let warmStarted = false;
  const warm = (addr?: AddressInfo): void => {
    if (warmStarted) return;
    warmStarted = true;
    if (warmTimer) clearTimeout(warmTimer);
    loadApp().then(
      (a) => {
        a.log.info({ ...(addr ? { port: addr.port, host: addr.address } : {}), startupMs: Math.round(process.uptime() * 1000) }, 'listening');
        if (config.WARM_HANDLER !== false) a.warmHandler();
      },
      (err: unknown) => process.stderr.write(`ocm-knative ${options.stage}: cannot load the HTTP host: ${(err as Error)?.stack ?? String(err)}\n`),
    );
  };
  let boundAddr: AddressInfo | undefined;

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (path === '/readyz') {
        if (draining) return sendJson(res, 503, { status: 'draining' });
        if (!warmStarted) res.once('finish', () => setImmediate(() => warm(boundAddr)));
        return sendJson(res, 200, { status: 'ready' });
      }
    }
    if (!warmStarted) warm(boundAddr);
    if (draining && req.method === 'POST') {
      // Refuse before reading the body; the broker retries elsewhere.
      req.resume();
      app?.log.info({ outcome: 'draining', status: 503, eventId: req.headers['ce-id'] }, 'event refused: shutting down');
      return sendJson(res, 503, { error: 'shutting down; retry' }, { 'retry-after': '1', connection: 'close' });
    }
    if (app) return app.handle(req, res);
    loadApp().then(
      (a) => a.handle(req, res),
      (err: unknown) => {
        process.stderr.write(`ocm-knative ${options.stage}: cannot load the HTTP host: ${(err as Error)?.stack ?? String(err)}\n`);
        sendJson(res, 500, { error: 'function host failed to load' });
      },
    );
  };

  async function close(): Promise<{ drained: boolean }> {
    draining = true;
    if (warmTimer) clearTimeout(warmTimer);
    server?.closeIdleConnections();
    let drained = true;
    if (inFlight > 0) {
      app?.log.info({ inFlight }, 'draining in-flight events');
      drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), config.SHUTDOWN_TIMEOUT);
        timer.unref();
        idleWaiters.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!drained) {
        app?.log.warn({ inFlight }, `in-flight events did not finish within SHUTDOWN_TIMEOUT=${config.SHUTDOWN_TIMEOUT}ms; aborting them`);
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
    get inFlight() {
      return inFlight;
    },
    get draining() {
      return draining;
    },
    loaded: loadApp,
    listen(port = config.PORT ?? 8080, host = config.HOST) {
      return new Promise<AddressInfo>((resolve, reject) => {
        const s = createServer(onRequest);
        s.once('error', reject);
        const onListening = () => {
          s.off('error', reject);
          server = s;
          const addr = s.address() as AddressInfo;
          boundAddr = addr;
          // Without a probe (local runs, tests), warm up shortly after listen() anyway.
          warmTimer = setTimeout(() => warm(addr), 100);
          warmTimer.unref();
          resolve(addr);
        };
        if (host) s.listen(port, host, onListening);
        else s.listen(port, onListening);
      });
    },
    close,
    installSignalHandlers(exit = (code: number) => process.exit(code)) {
      let closing = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (closing) return;
        closing = true;
        app?.log.info({ signal, inFlight }, 'shutdown requested');
        close().then(
          ({ drained }) => {
            app?.log.info({ drained }, 'shut down');
            // pino writes synchronously to stdout by default, so nothing is lost on exit.
            exit(0);
          },
          (err: unknown) => {
            app?.log.error({ err }, 'shutdown failed');
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
