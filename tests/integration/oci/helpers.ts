import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { services } from '../../infra/services.js';

const execFileP = promisify(execFile);

/** Runs a peer tool; throws with its stderr on failure. */
export async function tool(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { maxBuffer: 64 * 1024 * 1024, ...opts, env: { ...process.env, HOME: scratchHome } });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

// oras/crane keep credentials and caches under $HOME; skopeo's blob cache too. Keep the tests away from the real HOME.
const scratchHome = join(tmpdir(), `ocmk-oci-home-${process.pid}`);

export async function scratchDir(name: string): Promise<string> {
  return mkdtemp(join(services().workDir, `oci-${name}-`));
}

/** Writes `size` random bytes to a file, 1 MiB at a time. */
export async function randomFile(path: string, size: number): Promise<string> {
  const out = createWriteStream(path);
  for (let left = size; left > 0; ) {
    const n = Math.min(left, 1 << 20);
    if (!out.write(randomBytes(n))) await new Promise<void>((r) => out.once('drain', () => r()));
    left -= n;
  }
  await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  return path;
}

export async function drainCount(stream: Readable): Promise<number> {
  let n = 0;
  for await (const c of stream) n += (c as Buffer).length;
  return n;
}

let counter = 0;
/** A repository name unique to this run. */
export function repoName(prefix: string): string {
  return `it/${prefix}/${process.pid}-${Date.now().toString(36)}-${counter++}`;
}
