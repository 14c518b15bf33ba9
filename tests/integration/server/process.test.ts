/**
 * The host as a real child process (runFunction, as every function's main uses it): SIGTERM draining,
 * the shutdown deadline, and config validation at start-up.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { binaryRequest, component } from './helpers.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'sleepy-main.ts');

interface Child {
  proc: ChildProcessWithoutNullStreams;
  lines: Record<string, unknown>[];
  stderr: string[];
  exited: Promise<number | null>;
  waitFor(pred: (rec: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

const children: Child[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
});

function start(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', PROCESS_METRICS: 'false', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const waiters: { pred: (r: Record<string, unknown>) => boolean; resolve: (r: Record<string, unknown>) => void }[] = [];
  let buf = '';
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      const rec = JSON.parse(line) as Record<string, unknown>;
      lines.push(rec);
      for (const w of [...waiters]) {
        if (!w.pred(rec)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(rec);
      }
    }
  });
  proc.stderr.on('data', (d: Buffer) => stderr.push(d.toString('utf8')));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const child: Child = {
    proc,
    lines,
    stderr,
    exited,
    waitFor(pred, timeoutMs = 20_000) {
      const hit = lines.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out; stdout: ${JSON.stringify(lines)} stderr: ${stderr.join('')}`)), timeoutMs);
        waiters.push({ pred, resolve: (r) => (clearTimeout(t), resolve(r)) });
      });
    },
  };
  children.push(child);
  return child;
}

/** POST on a fresh connection: a pooled keep-alive socket may be the idle one the draining server just closed. */
function postFresh(url: string, init: RequestInit): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, headers: init.headers as Record<string, string> }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(init.body as string);
  });
}

async function ready(child: Child): Promise<string> {
  const rec = await child.waitFor((r) => r['msg'] === 'listening');
  const url = `http://127.0.0.1:${String(rec['port'])}`;
  expect((await fetch(`${url}/readyz`)).status).toBe(200);
  return url;
}

describe('function process', () => {
  it('SIGTERM: finishes the in-flight event, refuses new ones with 503, exits 0', async () => {
    const child = start({ SHUTDOWN_TIMEOUT: '20s' });
    const url = await ready(child);
    const slow = fetch(`${url}/`, binaryRequest(component('slow', { sleepMs: 1500 }), 'update', 'slow-1'));
    await new Promise((r) => setTimeout(r, 300)); // the event is in the handler now
    child.proc.kill('SIGTERM');
    await child.waitFor((r) => r['msg'] === 'shutdown requested');
    const late = await postFresh(`${url}/`, binaryRequest(component('late'), 'update', 'late-1'));
    expect(late.status).toBe(503);
    expect(late.headers['retry-after']).toBe('1');
    const res = await slow;
    expect(res.status).toBe(202);
    expect(await child.exited).toBe(0);
    expect(child.lines.find((r) => r['eventId'] === 'slow-1' && r['outcome'] === 'done')).toBeDefined();
    expect(child.lines.find((r) => r['msg'] === 'shut down')).toMatchObject({ drained: true });
  });

  it('SIGTERM with work beyond SHUTDOWN_TIMEOUT: aborts it and exits promptly', async () => {
    const child = start({ SHUTDOWN_TIMEOUT: '300ms' });
    const url = await ready(child);
    const slow = fetch(`${url}/`, binaryRequest(component('stuck', { sleepMs: 30_000 }))).then(
      (r) => r.status,
      () => 'connection closed',
    );
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    // The aborted handler answers 500 (Knative retries elsewhere) or the connection is cut: never a 2xx.
    expect([500, 'connection closed']).toContain(await slow);
    expect(child.lines.find((r) => r['msg'] === 'shut down')).toMatchObject({ drained: false });
  });

  it('invalid configuration: every problem on stderr, exit 78, never listens', async () => {
    const child = start({ PORT: 'eighty', BODY_LIMIT: 'lots', SHUTDOWN_TIMEOUT: '-1s' });
    expect(await child.exited).toBe(78);
    const err = child.stderr.join('');
    expect(err).toContain('ocm-knative fixture: invalid configuration:');
    expect(err).toContain('PORT: must be an integer, got "eighty"');
    expect(err).toContain('BODY_LIMIT: must be a size like');
    expect(err).toContain('SHUTDOWN_TIMEOUT: must be a duration');
    expect(child.lines.find((r) => r['msg'] === 'listening')).toBeUndefined();
  });
});
