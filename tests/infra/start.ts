/**
 * Starts the real services of tests/infra/services.ts on free loopback ports, in parallel, and stops them
 * by PID. Used by global-setup.ts (once per vitest run) and by bench scripts:
 *
 *   const { services, stop } = await startServices();
 *   ...
 *   await stop();
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'undici';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { freePort } from '../support/free-port.js';
import { findGoTool, goTool, systemTool } from './binaries.js';
import { makeCa, makeCert, makeRsaKeyPair, type CertFiles } from './pki.js';
import { ServiceStartError, startProcess, waitReady, type RunningProcess } from './process.js';
import type { RegistryEndpoint, Services, ZotEndpoint } from './services.js';
import { startZot } from './zot.js';

const run = promisify(execFile);

export interface StartOptions {
  /** parent of the run's scratch directory (default: os.tmpdir()) */
  tmpRoot?: string;
  /** progress lines (default: silent) */
  log?: (line: string) => void;
  /** keep the scratch directory at stop() (also: OCM_KNATIVE_KEEP_WORKDIR=1) */
  keepWorkDir?: boolean;
  /** readiness deadline per service, ms */
  timeoutMs?: number;
}

export interface StartedServices {
  services: Services;
  /** stops every process by PID (reverse start order) and removes the scratch directory */
  stop(): Promise<void>;
}

const S3_REGION = 'us-east-1';
const S3_ACCESS_KEY = 'ocmknative';
const S3_SECRET_KEY = 'ocmknative-secret';
const REGISTRY_BUCKET = 'registry';
const TEST_BUCKET = 'test';
const REGISTRY_ROOT = '/reg';
const TLS_USER = 'tester';

/** Environment for child processes: no proxies for loopback, no CA bundle override (breaks 2.8's s3 driver). */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost', ...extra };
  delete env.AWS_CA_BUNDLE;
  return env;
}

async function httpStatus(url: string, init: { headers?: Record<string, string>; dispatcher?: Agent } = {}): Promise<number> {
  const res = await request(url, { method: 'GET', headers: init.headers, dispatcher: init.dispatcher, headersTimeout: 2000, bodyTimeout: 2000 });
  await res.body.dump();
  return res.statusCode;
}

class Runner {
  readonly procs: RunningProcess[] = [];
  readonly agents: Agent[] = [];
  constructor(
    readonly workDir: string,
    readonly timeoutMs: number,
    readonly log: (line: string) => void,
  ) {}

  async start(
    name: string,
    command: string,
    args: string[],
    probe: () => Promise<boolean>,
    env?: NodeJS.ProcessEnv,
  ): Promise<RunningProcess> {
    const t = Date.now();
    const proc = startProcess({ name, command, args, env: env ?? childEnv(), logFile: join(this.workDir, 'logs', `${name}.log`) });
    this.procs.push(proc);
    await waitReady(proc, probe, this.timeoutMs);
    this.log(`${name} ready in ${Date.now() - t} ms (pid ${proc.pid})`);
    return proc;
  }

  agent(caFile: string): Agent {
    const agent = new Agent({ connect: { ca: readFileSync(caFile, 'utf8') } });
    this.agents.push(agent);
    return agent;
  }

  async stopAll(): Promise<void> {
    for (const proc of [...this.procs].reverse()) await proc.stop();
    await Promise.all(this.agents.map((a) => a.close()));
  }
}

/**
 * Ports are picked free but bound later by another process; on a machine shared by several test runs
 * another one can take a port in between. Retry such a start with new ports (the caller picks them).
 */
async function retryOnPortClash<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      const clash = err instanceof ServiceStartError && /address already in use/i.test(err.message);
      if (!clash || attempt >= attempts) throw err;
    }
  }
}

// ------------------------------------------------------------------------------------------------ S3

async function startS3(r: Runner): Promise<Services['s3']> {
  const dir = await mkdtemp(join(r.workDir, 'weed-'));
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = await Promise.all(
    Array.from({ length: 8 }, () => freePort()),
  );
  const configFile = join(dir, 's3.json');
  await writeFile(
    configFile,
    JSON.stringify({
      identities: [
        {
          name: 'admin',
          credentials: [{ accessKey: S3_ACCESS_KEY, secretKey: S3_SECRET_KEY }],
          actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
        },
      ],
    }),
  );
  const endpoint = `http://127.0.0.1:${s3}`;
  await r.start(
    's3 (seaweedfs)',
    goTool('weed'),
    [
      'server',
      `-dir=${dir}`,
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      `-master.port=${master}`,
      `-master.port.grpc=${masterGrpc}`,
      '-master.volumeSizeLimitMB=256',
      `-volume.port=${volume}`,
      `-volume.port.grpc=${volumeGrpc}`,
      // 0 = as many 256 MiB volumes as the disk has room for: the S3-backed registry writes each blob twice (upload,
      // then the copy to its final path) and deleted objects are reclaimed only by a later vacuum, so a fixed 50 ran
      // out after four 1 GiB pushes in the registry benchmark (HTTP 500 on every upload after that)
      '-volume.max=0',
      // and reclaim deleted objects within half a minute instead of 14 (the registry benchmark deletes every layer
      // before pushing it again: without this its runs wrote ~60 GB before anything was reclaimed)
      '-master.vacuumIntervalSeconds=30',
      '-master.garbageThreshold=0.1',
      '-filer',
      `-filer.port=${filer}`,
      `-filer.port.grpc=${filerGrpc}`,
      '-s3',
      `-s3.port=${s3}`,
      `-s3.port.grpc=${s3Grpc}`,
      `-s3.config=${configFile}`,
      // these default to fixed ports, which collide when several runs share the machine
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
      '-master.telemetry=false',
    ],
    // anonymous GET / is 403 AccessDenied once the gateway is up with identities configured
    async () => (await httpStatus(`${endpoint}/`)) === 403,
  );
  const client = new S3Client({
    endpoint,
    region: S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
  });
  try {
    // the gateway answers before the filer has a volume to write to; retry bucket creation briefly
    for (const bucket of [REGISTRY_BUCKET, TEST_BUCKET]) {
      const deadline = Date.now() + r.timeoutMs;
      for (;;) {
        try {
          await client.send(new CreateBucketCommand({ Bucket: bucket }));
          break;
        } catch (err) {
          if (err instanceof Error && err.name === 'BucketAlreadyOwnedByYou') break;
          if (Date.now() > deadline) throw new ServiceStartError('s3 (seaweedfs)', `could not create bucket ${bucket}: ${String(err)}`);
          await new Promise((res) => setTimeout(res, 300));
        }
      }
    }
  } finally {
    client.destroy();
  }
  return { endpoint, region: S3_REGION, accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY, bucket: TEST_BUCKET };
}

// ------------------------------------------------------------------------------------------ registries

function registryConfig(port: number, storage: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return stringify({
    version: 0.1,
    log: { level: 'info', formatter: 'text' },
    storage: {
      ...storage,
      delete: { enabled: true },
      redirect: { disable: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: `127.0.0.1:${port}`, secret: 'test-only-secret', ...extra },
  });
}

async function startRegistry(
  r: Runner,
  name: string,
  storage: Record<string, unknown>,
  opts: { tls?: CertFiles & { caFile: string }; htpasswd?: string } = {},
): Promise<RegistryEndpoint> {
  const port = await freePort();
  const cfgFile = join(r.workDir, `${name}.yml`);
  const http: Record<string, unknown> = {};
  if (opts.tls) http.tls = { certificate: opts.tls.certFile, key: opts.tls.keyFile };
  let cfg = registryConfig(port, storage, http);
  if (opts.htpasswd) {
    cfg += stringify({ auth: { htpasswd: { realm: 'ocm-knative-test', path: opts.htpasswd } } });
  }
  await writeFile(cfgFile, cfg);
  const scheme = opts.tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${port}`;
  const dispatcher = opts.tls ? r.agent(opts.tls.caFile) : undefined;
  // with htpasswd the registry is up when it challenges us
  const ready = opts.htpasswd ? 401 : 200;
  await r.start(name, systemTool('docker-registry'), ['serve', cfgFile], async () => (await httpStatus(`${url}/v2/`, { dispatcher })) === ready);
  return { url, host: `127.0.0.1:${port}` };
}

/** zot with the shipped config (tests/infra/zot.ts), stopped with the other services. */
async function startSharedZot(r: Runner, ca: CertFiles, s3: Services['s3']): Promise<ZotEndpoint> {
  const t = Date.now();
  const zot = await startZot({ bin: goTool('zot'), workDir: r.workDir, ca, s3, timeoutMs: r.timeoutMs });
  r.procs.push(zot.proc);
  r.agents.push(zot.agent);
  r.log(`zot ready in ${Date.now() - t} ms (pid ${zot.proc.pid})`);
  return zot.endpoint;
}

// ------------------------------------------------------------------------------------- kube-apiserver

async function startKube(r: Runner, ca: CertFiles): Promise<Services['kube']> {
  const dir = await mkdtemp(join(r.workDir, 'kube-'));
  const [etcdClient, etcdPeer, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const etcdUrl = `http://127.0.0.1:${etcdClient}`;
  const peerUrl = `http://127.0.0.1:${etcdPeer}`;
  const [serving, sa] = await Promise.all([makeCert(dir, 'apiserver', ca), makeRsaKeyPair(dir, 'sa-signer')]);
  const etcdStart = r.start(
    'etcd',
    goTool('etcd'),
    [
      '--name=default',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ],
    async () => (await httpStatus(`${etcdUrl}/health`)) === 200,
  );
  const token = `admin-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const tokenFile = join(dir, 'tokens.csv');
  await writeFile(tokenFile, `${token},admin,admin-uid,"system:masters"\n`);
  await etcdStart;
  const server = `https://127.0.0.1:${apiPort}`;
  const dispatcher = r.agent(ca.certFile);
  await r.start(
    'kube-apiserver',
    goTool('kube-apiserver'),
    [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${dir}`,
      `--tls-cert-file=${serving.certFile}`,
      `--tls-private-key-file=${serving.keyFile}`,
      `--client-ca-file=${ca.certFile}`,
      `--token-auth-file=${tokenFile}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--disable-admission-plugins=ServiceAccount',
      `--service-account-issuer=${server}/`,
      `--service-account-key-file=${sa.publicKeyFile}`,
      `--service-account-signing-key-file=${sa.privateKeyFile}`,
      '--endpoint-reconciler-type=none',
      '--v=1',
    ],
    async () => (await httpStatus(`${server}/readyz`, { dispatcher, headers: { authorization: `Bearer ${token}` } })) === 200,
    childEnv(),
  );
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server, 'certificate-authority': ca.certFile } }],
      users: [{ name: 'admin', user: { token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin', namespace: 'default' } }],
      'current-context': 'test',
    }),
    { mode: 0o600 },
  );
  return { server, kubeconfig, token, caFile: ca.certFile, etcd: etcdUrl };
}

// ------------------------------------------------------------------------------------------- all of it

export interface StartedKube {
  kube: Services['kube'];
  ca: CertFiles;
  workDir: string;
  stop(): Promise<void>;
}

/**
 * A separate etcd + kube-apiserver, for a test that must not see other tests' objects (e.g. something
 * that lists across all namespaces). Costs 3-10 s; prefer the shared one from services() with a fresh
 * namespace (createNamespace) when that is enough.
 */
export async function startKubeControlPlane(opts: StartOptions = {}): Promise<StartedKube> {
  const workDir = await mkdtemp(join(opts.tmpRoot ?? tmpdir(), 'ocm-knative-kube-'));
  await mkdir(join(workDir, 'logs'), { recursive: true });
  const r = new Runner(workDir, opts.timeoutMs ?? 180_000, opts.log ?? (() => undefined));
  const keep = opts.keepWorkDir ?? process.env.OCM_KNATIVE_KEEP_WORKDIR === '1';
  const stop = async (): Promise<void> => {
    await r.stopAll();
    if (!keep) await rm(workDir, { recursive: true, force: true });
  };
  try {
    const ca = await makeCa(join(workDir, 'pki'));
    const kube = await retryOnPortClash(() => startKube(r, ca));
    return { kube, ca, workDir, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

export async function startServices(opts: StartOptions = {}): Promise<StartedServices> {
  const t0 = Date.now();
  const workDir = await mkdtemp(join(opts.tmpRoot ?? tmpdir(), 'ocm-knative-'));
  await mkdir(join(workDir, 'logs'), { recursive: true });
  const log = opts.log ?? (() => undefined);
  const r = new Runner(workDir, opts.timeoutMs ?? 180_000, log);
  const keep = opts.keepWorkDir ?? process.env.OCM_KNATIVE_KEEP_WORKDIR === '1';
  const stop = async (): Promise<void> => {
    await r.stopAll();
    if (!keep) await rm(workDir, { recursive: true, force: true });
  };

  try {
    const ca = await makeCa(join(workDir, 'pki'));
    const tlsCert = makeCert(join(workDir, 'pki'), 'registry-tls', ca);
    const htpasswdFile = join(workDir, 'htpasswd');
    const password = `pw-${Math.random().toString(36).slice(2)}`;
    // bcrypt: docker-registry 2.8 rejects MD5 ($apr1$) entries
    const htpasswd = run(systemTool('htpasswd'), ['-Bbn', TLS_USER, password]).then(({ stdout }) => writeFile(htpasswdFile, stdout));

    const s3 = retryOnPortClash(() => startS3(r));
    const results = await Promise.allSettled([
      s3,
      retryOnPortClash(() => startRegistry(r, 'registry-fs', { filesystem: { rootdirectory: join(workDir, 'registry-fs') } })),
      s3.then((s) =>
        retryOnPortClash(() => startRegistry(r, 'registry-s3', {
          s3: {
            accesskey: s.accessKeyId,
            secretkey: s.secretAccessKey,
            region: s.region,
            regionendpoint: s.endpoint,
            bucket: REGISTRY_BUCKET,
            secure: false,
            v4auth: true,
            chunksize: 5 * 1024 * 1024,
            // one CopyObject for the upload->blob move instead of UploadPartCopy
            multipartcopythresholdsize: 5 * 1024 * 1024 * 1024,
            rootdirectory: REGISTRY_ROOT,
          },
        })),
      ),
      Promise.all([tlsCert, htpasswd]).then(([cert]) =>
        retryOnPortClash(() =>
          startRegistry(r, 'registry-tls', { filesystem: { rootdirectory: join(workDir, 'registry-tls') } }, {
            tls: { ...cert, caFile: ca.certFile },
            htpasswd: htpasswdFile,
          }),
        ),
      ),
      retryOnPortClash(() => startKube(r, ca)),
      s3.then((s) => retryOnPortClash(() => startSharedZot(r, ca, s))),
    ] as const);
    // the S3 registry fails with the S3 store's own error when the store did not start: report it once
    const failures = [...new Set(results.flatMap((res) => (res.status === 'rejected' ? [res.reason as unknown] : [])))];
    if (failures.length > 0) {
      await stop().catch(() => undefined);
      const messages = failures.map((f) => (f instanceof Error ? f.message : String(f)));
      throw new ServiceStartError(`${failures.length} service(s)`, `\n${messages.join('\n\n')}`);
    }
    const [s3Res, fsRes, s3RegRes, tlsRes, kubeRes, zotRes] = results as unknown as [
      PromiseFulfilledResult<Services['s3']>,
      PromiseFulfilledResult<RegistryEndpoint>,
      PromiseFulfilledResult<RegistryEndpoint>,
      PromiseFulfilledResult<RegistryEndpoint>,
      PromiseFulfilledResult<Services['kube']>,
      PromiseFulfilledResult<ZotEndpoint>,
    ];
    const services: Services = {
      workDir,
      registry: {
        fs: fsRes.value,
        s3: { ...s3RegRes.value, bucket: REGISTRY_BUCKET, rootDirectory: REGISTRY_ROOT },
        tls: { ...tlsRes.value, caFile: ca.certFile, username: TLS_USER, password },
        zot: zotRes.value,
      },
      s3: s3Res.value,
      kube: kubeRes.value,
      ca,
      bin: {
        skopeo: systemTool('skopeo'),
        oras: goTool('oras'),
        crane: goTool('crane'),
        kubectl: systemTool('kubectl'),
        ocm: goTool('ocm'),
        helm: findGoTool('helm'),
        apiserverReceiveAdapter: findGoTool('apiserver-receive-adapter'),
      },
    };
    log(`all services ready in ${Date.now() - t0} ms (work dir ${workDir})`);
    return { services, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
