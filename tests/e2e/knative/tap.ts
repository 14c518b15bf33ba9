/**
 * What the tests see of Knative's deliveries: a tap in front of a function (an HTTP relay on 127.0.0.1 that
 * records each CloudEvent delivery and its answer, and can answer in the function's place, e.g. 503 to make
 * Knative retry, or lose the function's answer), and a sink (records what it receives, answers 202): the dead-letter sink, or a recorder
 * behind a test-only Trigger. Neither changes an event: the functions behind a tap get Knative's request as is.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

export interface Delivery {
  id: string;
  type: string;
  source: string;
  kind?: string;
  subject?: string;
  /** when the request arrived (ms, performance.now()) */
  at: number;
  /** what the caller got: the function's status, or the tap's own */
  status: number;
  /** the function's reply event type, if it answered with one (and the answer reached the caller) */
  replyType?: string;
  /** the function's status when the tap lost its answer (rule 'lose'): the caller got 503 */
  lostStatus?: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * How the tap answers a delivery: 'pass' to the function; 'lose' to the function, then answer 503 in its place
 * (the function did the work, its answer was lost: the sender must redeliver a duplicate); or a status it answers
 * itself without the function.
 */
export type TapRule = (d: Omit<Delivery, 'status' | 'at'>, attempt: number) => 'pass' | 'lose' | number;

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function readBody(req: import('node:http').IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function describe(headers: IncomingHttpHeaders, body: Buffer): Omit<Delivery, 'status' | 'at'> {
  let ce: Record<string, unknown> = {};
  if ((header(headers, 'content-type') ?? '').startsWith('application/cloudevents+json')) {
    try {
      ce = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      ce = {};
    }
  }
  const attr = (name: string): string | undefined => header(headers, `ce-${name}`) ?? (typeof ce[name] === 'string' ? (ce[name] as string) : undefined);
  return {
    id: attr('id') ?? '',
    type: attr('type') ?? '',
    source: attr('source') ?? '',
    kind: attr('kind'),
    subject: attr('subject'),
    headers,
    body: body.toString('utf8'),
  };
}

export class Tap {
  readonly deliveries: Delivery[] = [];
  private readonly attempts = new Map<string, number>();
  private readonly server: Server;
  rule: TapRule = () => 'pass';
  port = 0;

  constructor(
    readonly stage: string,
    private readonly target: string,
  ) {
    this.server = createServer((req, res) => {
      void (async () => {
        const at = performance.now();
        const body = await readBody(req);
        const d = describe(req.headers, body);
        const attempt = (this.attempts.get(d.id) ?? 0) + 1;
        this.attempts.set(d.id, attempt);
        const decision = this.rule(d, attempt);
        if (typeof decision === 'number') {
          this.deliveries.push({ ...d, at, status: decision });
          res.writeHead(decision).end();
          return;
        }
        try {
          const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'connection' && k !== 'content-length')) as Record<string, string>;
          const up = await request(this.target, { method: 'POST', headers, body, headersTimeout: 300_000, bodyTimeout: 300_000 });
          const reply = Buffer.from(await up.body.arrayBuffer());
          const replyType = header(up.headers as IncomingHttpHeaders, 'ce-type');
          if (decision === 'lose') {
            this.deliveries.push({ ...d, at, status: 503, lostStatus: up.statusCode });
            res.writeHead(503).end();
            return;
          }
          this.deliveries.push({ ...d, at, status: up.statusCode, ...(replyType ? { replyType } : {}) });
          const out = Object.fromEntries(Object.entries(up.headers).filter(([k]) => k !== 'connection' && k !== 'transfer-encoding' && k !== 'keep-alive'));
          res.writeHead(up.statusCode, out as Record<string, string>).end(reply);
        } catch (err) {
          this.deliveries.push({ ...d, at, status: 502 });
          res.writeHead(502).end(String(err));
        }
      })();
    });
  }

  async listen(): Promise<{ host: string; port: number }> {
    this.port = await listen(this.server);
    return { host: '127.0.0.1', port: this.port };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export class Sink {
  readonly received: Delivery[] = [];
  private readonly server: Server;

  constructor(readonly name: string) {
    this.server = createServer((req, res) => {
      void readBody(req).then((body) => {
        this.received.push({ ...describe(req.headers, body), at: performance.now(), status: 202 });
        res.writeHead(202).end();
      });
    });
  }

  async listen(): Promise<{ host: string; port: number }> {
    return { host: '127.0.0.1', port: await listen(this.server) };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
