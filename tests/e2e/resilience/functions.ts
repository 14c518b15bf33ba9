/**
 * The four functions' real mains (functions/<stage>/main.ts) as child processes, configured by env vars only,
 * like a Knative Service. Unlike tests/e2e/stages/env.ts (which fixes the env), the caller chooses the env, so a
 * function can be pointed at a fault proxy or the TLS registry; every process's pino output is kept (parsed) for
 * assertions, its memory can be read from /proc, and it can be SIGKILLed and restarted on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../../infra/process.js';
import { testEgressEnv } from '../../infra/egress.js';
import { freePort } from '../../support/free-port.js';
import { answersOk, waitFor } from '../../support/wait.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Trigger filters per stage, as in knative/ (and tests/e2e/stages/env.ts). */
export const STAGE_KINDS: Record<string, string[]> = {
  descriptor: ['OCMRepository', 'Component', 'Snapshot'],
  resource: ['Resource', 'Snapshot'],
  configure: ['Configuration', 'Snapshot'],
  publish: ['Publication', 'Snapshot'],
};
export const STAGES = Object.keys(STAGE_KINDS);

export interface LogLine {
  level?: string;
  msg?: string;
  /** the line as written */
  raw: string;
  [key: string]: unknown;
}

export interface Memory {
  /** resident set now, bytes */
  rss: number;
  /** peak resident set since start (VmHWM), bytes */
  peak: number;
}

export class FunctionProcess {
  readonly logs: LogLine[] = [];
  /** stderr and anything on stdout that is not JSON */
  readonly stderr: string[] = [];
  private child?: ChildProcess;
  private logFile?: WriteStream;
  restarts = 0;

  private constructor(
    readonly stage: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly logPath: string,
  ) {}

  static async start(stage: string, env: Record<string, string>, logDir: string): Promise<FunctionProcess> {
    const port = await freePort();
    const fp = new FunctionProcess(stage, port, env, join(logDir, `${stage}-${port}.log`));
    await fp.spawn();
    return fp;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  private async spawn(): Promise<void> {
    this.logFile = createWriteStream(this.logPath, { flags: 'a' });
    // node --import tsx (not the tsx CLI, which forks a second process): the pid is the function itself
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'functions', this.stage, 'main.ts')], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        NO_PROXY: '127.0.0.1,localhost',
        LOG_LEVEL: 'info',
        ...testEgressEnv,
        ...this.env,
        PORT: String(this.port),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.logFile?.write(`${line}\n`);
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        this.logs.push({ ...parsed, raw: line } as LogLine);
      } catch {
        this.stderr.push(line);
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.logFile?.write(`[stderr] ${line}\n`);
      this.stderr.push(line);
    });
    await waitFor(`${this.stage} main to become ready (log ${this.logPath})`, () => answersOk(`${this.url}readyz`), {
      timeoutMs: 90_000,
      giveUp: () => (this.running ? undefined : `${this.stage} main exited (${child.exitCode ?? child.signalCode}); log ${this.logPath}`),
    });
  }

  /** VmRSS and VmHWM from /proc (Linux). */
  memory(): Memory {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kib('VmRSS'), peak: kib('VmHWM') };
  }

  /** Kill without warning (no graceful shutdown) and wait for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }

  /** Start the main again on the same port (the broker's subscriber URL stays valid). */
  async restart(): Promise<void> {
    await this.kill();
    this.restarts++;
    await this.spawn();
  }

  async stop(): Promise<void> {
    if (this.running) await stopChild(this.child!);
    this.logFile?.end();
  }

  /** pino lines at level error or fatal */
  errors(): LogLine[] {
    return this.logs.filter((l) => l.level === 'error' || l.level === 'fatal');
  }
}

export async function startFunctions(env: Record<string, string>, logDir: string, stages = STAGES): Promise<Record<string, FunctionProcess>> {
  const started = await Promise.all(stages.map(async (s) => [s, await FunctionProcess.start(s, env, logDir)] as const));
  return Object.fromEntries(started);
}
