import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startProcess, waitReady, type RunningProcess } from '../../infra/process.js';

export interface OwnRegistryOptions {
  /** docker-registry `storage` driver section; default: filesystem under `<dir>/data` */
  storage?: Record<string, unknown>;
  /** htpasswd file: the registry then asks for basic auth */
  htpasswd?: string;
  /** let the storage driver redirect blob GETs (S3: presigned URLs); off in the shared registries */
  redirect?: boolean;
}

/** A docker-registry 2.8 of a test's own, which the test may kill (SIGKILL, by PID) and restart on the same port. */
export class OwnRegistry {
  proc: RunningProcess | undefined;
  constructor(
    readonly dir: string,
    readonly port: number,
    readonly opts: OwnRegistryOptions = {},
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** where the filesystem driver keeps its data (only meaningful without `storage`) */
  get dataDir(): string {
    return join(this.dir, 'data');
  }

  async start(): Promise<void> {
    const cfg = join(this.dir, `registry-${this.port}.yml`);
    await writeFile(
      cfg,
      stringify({
        version: 0.1,
        log: { level: 'warn' },
        storage: {
          ...(this.opts.storage ?? { filesystem: { rootdirectory: this.dataDir } }),
          delete: { enabled: true },
          redirect: { disable: !this.opts.redirect },
          maintenance: { uploadpurging: { enabled: false } },
        },
        http: { addr: `127.0.0.1:${this.port}`, secret: 'test-only-secret' },
        ...(this.opts.htpasswd ? { auth: { htpasswd: { realm: 'own-registry', path: this.opts.htpasswd } } } : {}),
      }),
    );
    // as tests/infra/start.ts does: an AWS_CA_BUNDLE override makes 2.8's s3 driver panic at start
    const env: NodeJS.ProcessEnv = { ...process.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' };
    delete env.AWS_CA_BUNDLE;
    this.proc = startProcess({
      name: `own-registry-${this.port}`,
      command: 'docker-registry',
      args: ['serve', cfg],
      env,
      logFile: join(this.dir, `registry-${this.port}.log`),
    });
    // with htpasswd the registry is up when it challenges us
    const ready = this.opts.htpasswd ? 401 : 200;
    await waitReady(this.proc, async () => (await fetch(`${this.url}/v2/`)).status === ready, 20_000);
  }

  /** SIGKILL: a crash, not a graceful stop */
  async kill(): Promise<void> {
    if (!this.proc) return;
    process.kill(this.proc.pid, 'SIGKILL');
    await this.proc.exited;
    this.proc = undefined;
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
    this.proc = undefined;
  }
}
