/**
 * zot, started the way a user installs it: the SHIPPED registry/config.json, with only what a user overrides for
 * their own cluster changed (see renderZotConfig), on the test SeaweedFS, with TLS from the run's CA and bcrypt
 * htpasswd users. The bucket is prepared by the shipped bucket bootstrap (registry/bootstrap), as the Job would.
 *
 * global-setup starts one (services().registry.zot); a test that needs its own zot (shortened GC delays, an
 * events sink, a kill mid-push) calls startZot() with `edit` and its own `rootDirectory` prefix in the same bucket:
 *
 *   const zot = await startZot({ bin: goTool('zot'), workDir, ca: svc.ca, s3: svc.s3, name: 'zot-gc',
 *     rootDirectory: '/zot-gc', edit: (c) => { c.storage.gcDelay = '2s'; } });
 *   ... zot.endpoint.url ...
 *   await zot.stop();
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { bootstrapBucket } from '../../registry/bootstrap/bootstrap.js';
import { makeS3Client } from '../../registry/bootstrap/client.js';
import { loadConfig } from '../../registry/bootstrap/config.js';
import { freePort } from '../support/free-port.js';
import { repoRoot, systemTool } from './binaries.js';
import { tenantUser, withTenant } from '../../functions/runner/tenant.js';
import { makeCert, type CertFiles } from './pki.js';
import { startProcess, waitReady, type RunningProcess } from './process.js';
import type { Services, ZotEndpoint } from './services.js';

const run = promisify(execFile);

/**
 * The users: functions push (registry/config.json), Prometheus scrapes, and the read identity of tenant namespace
 * ZOT_TENANT, added by `ocm-knative tenant add` as an operator would (it reads ZOT_TENANT/** only).
 */
export const ZOT_TENANT = 'ocm-tenant';
export const ZOT_USERS = { push: 'ocm-knative', read: tenantUser(ZOT_TENANT), metrics: 'metrics' } as const;

/** The parts of zot's config this harness touches; the rest is passed through as shipped. */
export interface ZotConfig {
  storage: {
    rootDirectory: string;
    gc?: boolean;
    gcDelay?: string;
    gcInterval?: string;
    retention?: { dryRun?: boolean; delay?: string; policies?: Record<string, unknown>[] };
    storageDriver: Record<string, unknown>;
    [key: string]: unknown;
  };
  http: {
    address: string;
    port: string;
    tls?: { cert: string; key: string };
    auth?: { htpasswd?: { path: string }; [key: string]: unknown };
    [key: string]: unknown;
  };
  log?: { level?: string; output?: string; [key: string]: unknown };
  extensions?: {
    events?: { enable?: boolean; sinks?: { type: string; address: string; [key: string]: unknown }[] };
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export async function readShippedZotConfig(): Promise<ZotConfig> {
  return JSON.parse(await readFile(join(repoRoot, 'registry/config.json'), 'utf8')) as ZotConfig;
}

export interface ZotOverrides {
  port: number;
  /** local metadata DB and temp files (an emptyDir in registry/deployment.yaml) */
  dataDir: string;
  tls: CertFiles;
  htpasswdFile: string;
  s3: Pick<Services['s3'], 'endpoint' | 'region'>;
  bucket: string;
  /** key prefix in the bucket; default: the shipped one */
  rootDirectory?: string;
}

/**
 * What a user changes in registry/config.json for their cluster, nothing more: the object store's endpoint,
 * region and bucket (`secure: false` because the test store speaks plain HTTP), where the TLS and htpasswd
 * files are mounted, the listen address/port, and the local data directory. Events are switched off when the
 * shipped sink points into a cluster (a test that wants events sets its own sink with `edit`).
 */
export function renderZotConfig(shipped: ZotConfig, o: ZotOverrides): ZotConfig {
  const cfg = structuredClone(shipped);
  cfg.storage.rootDirectory = o.dataDir;
  Object.assign(cfg.storage.storageDriver, {
    regionendpoint: o.s3.endpoint,
    region: o.s3.region,
    bucket: o.bucket,
    secure: false,
    ...(o.rootDirectory ? { rootdirectory: o.rootDirectory } : {}),
  });
  cfg.http.address = '127.0.0.1';
  cfg.http.port = String(o.port);
  cfg.http.tls = { cert: o.tls.certFile, key: o.tls.keyFile };
  cfg.http.auth = { ...cfg.http.auth, htpasswd: { path: o.htpasswdFile } };
  if (cfg.extensions?.events?.sinks?.some((s) => /\.svc(\.cluster\.local)?\b/.test(s.address))) {
    cfg.extensions.events = { ...cfg.extensions.events, enable: false };
  }
  return cfg;
}

export interface StartZotOptions {
  /** the zot binary (goTool('zot')) */
  bin: string;
  /** scratch directory; the instance gets its own folder in it */
  workDir: string;
  /** CA that signs zot's serving certificate (the run's CA) */
  ca: CertFiles;
  s3: Services['s3'];
  /** bucket to use; prepared with the shipped bucket bootstrap. Default 'zot' */
  bucket?: string;
  /** key prefix in the bucket (storageDriver.rootdirectory); default: the shipped '/zot' */
  rootDirectory?: string;
  /** process and folder name, unique within the run (default 'zot') */
  name?: string;
  /** port to listen on (default: a free one). A restart after a kill passes the old one. */
  port?: number;
  /** reuse the passwords of an earlier instance (a restart) instead of new random ones */
  passwords?: Partial<Record<keyof typeof ZOT_USERS, string>>;
  /** test-only changes on top of the user's overrides (shortened GC delays, an events sink) */
  edit?: (cfg: ZotConfig) => void;
  /** readiness deadline, ms (default 120 s: a cold start walks the bucket) */
  timeoutMs?: number;
  /**
   * the tenant namespace whose read user (`tenant-<namespace>`, reads `<namespace>/**` only) this zot has, as
   * `ocm-knative tenant add` would add it; default ZOT_TENANT. A test that runs Flux as a tenant in a namespace
   * of its own starts its own zot with that namespace.
   */
  tenant?: string;
}

export interface RunningZot {
  endpoint: ZotEndpoint;
  proc: RunningProcess;
  /** an undici Agent trusting the run's CA (closed by stop()) */
  agent: Agent;
  /** SIGTERM, then SIGKILL after 5 s */
  stop(): Promise<void>;
}

function password(): string {
  return `pw-${randomBytes(12).toString('base64url')}`;
}

const bootstrapped = new Map<string, Promise<void>>();

/** The shipped bucket bootstrap (what the zot-bucket-bootstrap Job does), once per bucket and process. */
function bootstrap(s3: Services['s3'], bucket: string, rootDirectory: string): Promise<void> {
  const key = `${s3.endpoint} ${bucket} ${rootDirectory}`;
  let done = bootstrapped.get(key);
  if (!done) {
    const cfg = loadConfig({
      S3_BUCKET: bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_PREFIX: rootDirectory.replace(/^\/+/, ''),
      // SeaweedFS has no bucket lifecycle rules; the bootstrap reports that and goes on
      S3_LIFECYCLE: 'best-effort',
    });
    const client = makeS3Client(cfg, { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
    done = bootstrapBucket(client, cfg, { info: () => undefined, warn: () => undefined })
      .then(() => undefined)
      .finally(() => client.destroy());
    bootstrapped.set(key, done);
    done.catch(() => bootstrapped.delete(key));
  }
  return done;
}

export async function startZot(opts: StartZotOptions): Promise<RunningZot> {
  const name = opts.name ?? 'zot';
  const bucket = opts.bucket ?? 'zot';
  const dir = join(opts.workDir, name);
  await mkdir(dir, { recursive: true });
  const shipped = await readShippedZotConfig();
  const rootDirectory = opts.rootDirectory ?? String(shipped.storage.storageDriver.rootdirectory ?? '/zot');

  const passwords = {
    push: opts.passwords?.push ?? password(),
    read: opts.passwords?.read ?? password(),
    metrics: opts.passwords?.metrics ?? password(),
  };
  const tenant = opts.tenant ?? ZOT_TENANT;
  const users: Record<keyof typeof ZOT_USERS, string> = { ...ZOT_USERS, read: tenantUser(tenant) };
  const htpasswd = systemTool('htpasswd');
  const lines = await Promise.all(
    (Object.keys(users) as (keyof typeof ZOT_USERS)[]).map(
      async (role) => (await run(htpasswd, ['-Bbn', users[role], passwords[role]])).stdout.trim(),
    ),
  );
  const htpasswdFile = join(dir, 'htpasswd');
  await writeFile(htpasswdFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  const [tls] = await Promise.all([makeCert(join(dir, 'tls'), 'zot', opts.ca), bootstrap(opts.s3, bucket, rootDirectory)]);

  const port = opts.port ?? (await freePort());
  const cfg = renderZotConfig(shipped, {
    port,
    dataDir: join(dir, 'data'),
    tls,
    htpasswdFile,
    s3: opts.s3,
    bucket,
    rootDirectory,
  });
  opts.edit?.(cfg);
  const configFile = join(dir, 'config.json');
  await writeFile(configFile, `${JSON.stringify(withTenant(cfg, tenant), null, 2)}\n`);

  // The s3 driver reads credentials from the AWS SDK chain (registry/deployment.yaml sets the same two variables).
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: opts.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: opts.s3.secretAccessKey,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
  };
  delete env.AWS_CA_BUNDLE; // the distribution s3 driver panics on it
  const proc = startProcess({ name, command: opts.bin, args: ['serve', configFile], logFile: join(dir, 'zot.log'), env });
  const url = `https://127.0.0.1:${port}`;
  const agent = new Agent({ connect: { ca: await readFile(opts.ca.certFile) } });
  try {
    // /readyz turns 200 once the storage walk and metadata DB are done (the Deployment's readinessProbe)
    await waitReady(
      proc,
      async () => {
        const res = await request(`${url}/readyz`, { dispatcher: agent, headersTimeout: 2000, bodyTimeout: 2000 });
        await res.body.dump();
        return res.statusCode === 200;
      },
      opts.timeoutMs ?? 120_000,
    );
  } catch (err) {
    await agent.close();
    throw err;
  }
  const endpoint: ZotEndpoint = {
    url,
    host: `127.0.0.1:${port}`,
    caFile: opts.ca.certFile,
    push: { username: users.push, password: passwords.push },
    read: { username: users.read, password: passwords.read },
    metrics: { username: users.metrics, password: passwords.metrics },
    bucket,
    rootDirectory,
    configFile,
    logFile: proc.logFile,
  };
  return {
    endpoint,
    proc,
    agent,
    async stop() {
      await proc.stop();
      await agent.close();
    },
  };
}

/**
 * Environment for peer tools (crane, oras, skopeo, helm) to use zot as one of its users: a Docker config with that
 * user's credentials (DOCKER_CONFIG; helm reads the same file through HELM_REGISTRY_CONFIG, skopeo through
 * REGISTRY_AUTH_FILE) and the run's CA (SSL_CERT_FILE: Go tools add nothing to it, so only zot's CA is trusted).
 * Default: the functions' identity, which reads every test namespace; the tenant read user sees only its own.
 */
export async function peerToolEnv(zot: ZotEndpoint, dir: string, user: 'push' | 'read' = 'push'): Promise<NodeJS.ProcessEnv> {
  const creds = zot[user];
  const configDir = join(dir, `docker-config-${user}`);
  await mkdir(configDir, { recursive: true });
  const file = join(configDir, 'config.json');
  const auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
  await writeFile(file, JSON.stringify({ auths: { [zot.host]: { auth } } }), { mode: 0o600 });
  return { ...process.env, DOCKER_CONFIG: configDir, HELM_REGISTRY_CONFIG: file, REGISTRY_AUTH_FILE: file, SSL_CERT_FILE: zot.caFile };
}
