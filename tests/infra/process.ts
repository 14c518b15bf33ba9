/**
 * Runs a service binary with its output in a log file, waits until a probe says it is ready, and stops it
 * by PID. A failed start names the service and carries the tail of its log, because that is where the
 * reason is.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export class ServiceStartError extends Error {
  constructor(
    readonly service: string,
    reason: string,
    readonly logFile?: string,
  ) {
    super(`${service} did not start: ${reason}${logFile ? `\n--- last lines of ${logFile} ---\n${logTail(logFile)}` : ''}`);
    this.name = 'ServiceStartError';
  }
}

export function logTail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface RunningProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** resolves once the process has exited */
  readonly exited: Promise<void>;
  hasExited(): boolean;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
// If the host process dies without teardown (Ctrl-C, crash), do not leave servers behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface StartProcessOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function startProcess(opts: StartProcessOptions): RunningProcess {
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(opts.command, opts.args, {
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
  } finally {
    closeSync(fd);
  }
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitCodes.set(opts.name, signal ? `signal ${signal}` : `code ${code ?? '?'}`);
      exited = true;
      live.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      exited = true;
      live.delete(child);
      // spawn failures (ENOENT, EACCES) never reach the log; waitReady reports them instead
      spawnErrors.set(opts.name, err.message);
      resolve();
    });
  });
  if (child.pid !== undefined) live.add(child);
  return {
    name: opts.name,
    pid: child.pid ?? -1,
    logFile: opts.logFile,
    exited: exitedPromise,
    hasExited: () => exited,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timedOut = await Promise.race([exitedPromise.then(() => false), sleep(5000).then(() => true)]);
      if (timedOut && !exited) {
        child.kill('SIGKILL');
        await exitedPromise;
      }
    },
  };
}

/**
 * Stops a child the way Kubernetes stops a pod: SIGTERM, then SIGKILL if it is still running after `graceMs`.
 * Resolves once it has exited.
 */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

const spawnErrors = new Map<string, string>();
const exitCodes = new Map<string, string>();

/**
 * Polls `probe` until it returns true. Fails with ServiceStartError when the process exits first or the
 * deadline passes.
 */
export async function waitReady(
  proc: RunningProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (proc.hasExited()) {
      const spawnError = spawnErrors.get(proc.name);
      throw new ServiceStartError(proc.name, spawnError ? `could not run: ${spawnError}` : `process exited (${exitCodes.get(proc.name) ?? 'unknown status'})`, proc.logFile);
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await sleep(150);
  }
  await proc.stop();
  throw new ServiceStartError(
    proc.name,
    `not ready after ${timeoutMs / 1000}s${lastError ? ` (last probe error: ${lastError})` : ''}`,
    proc.logFile,
  );
}
