import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
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

export interface ThrottlingRelay {
  url: string;
  close(): Promise<void>;
}

/**
 * A TCP relay in front of `target` that passes responses (server to client) at about `bytesPerSecond` and requests
 * unthrottled; when either side closes, so does the other. A test that must act in the middle of a transfer (kill
 * the registry after 40 MiB) uses it so the transfer cannot finish first on a fast, idle machine.
 */
export async function throttlingRelay(target: URL, bytesPerSecond: number): Promise<ThrottlingRelay> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    const started = Date.now();
    let sent = 0;
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      sent += chunk.length;
      // ahead of the allowed rate: stop reading until the clock catches up
      const aheadMs = (sent / bytesPerSecond) * 1000 - (Date.now() - started);
      if (aheadMs > 1) {
        upstream.pause();
        setTimeout(() => upstream.resume(), aheadMs);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
