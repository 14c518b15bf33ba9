/** `ocm-knative` (functions/runner/bin.js) as a user runs it: a process, its exit code and its output. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../infra/binaries.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `args` in `cwd` (default: the repository), with `env` added to this process's environment. */
export function runCli(args: string[], cwd = repoRoot, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'functions/runner/bin.js'), ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
