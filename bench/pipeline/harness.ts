/**
 * Shared plumbing for the pipeline, scale and memory benchmarks: the real services (tests/infra/start.ts), our CRDs,
 * the four functions as separate processes (the esbuild bundles, like the images run them) so their memory can be
 * read per process, EventingDriver as the ApiServerSource + Broker stand-in, and measurement helpers (peak RSS from
 * /proc, apiserver request counters from /metrics, percentiles, machine notes).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../shared/ports/index.js';
import { createNamespace, installCrds, kubeConfig, ourCrdsDir } from '../../tests/infra/kube.js';
import { upstreamCrdFiles } from '../../tests/infra/upstream-crds.js';
import { stopChild } from '../../tests/infra/process.js';
import type { Services } from '../../tests/infra/services.js';
import { startServices, type StartedServices } from '../../tests/infra/start.js';
import { GROUP, PLURALS, VERSION } from '../../shared/kube/index.js';
import { EventingDriver, retry429 } from '../../tests/support/eventing-driver.js';
import { freePort } from '../../tests/support/free-port.js';

export { GROUP, PLURALS, VERSION };

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TMP = join(REPO, 'bench', '.tmp');
export const DIST = join(TMP, 'dist');
/** Trigger filters per stage, as in knative/ and tests/e2e/stages/env.ts. */
export const STAGE_KINDS: Record<string, string[]> = {
  descriptor: ['OCMRepository', 'Component', 'Snapshot'],
  resource: ['Resource', 'Snapshot'],
  configure: ['Configuration', 'Snapshot'],
  publish: ['Publication', 'Snapshot'],
};

export const log = (s: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

export function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
}

export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

// ------------------------------------------------------------------------------------------- services

export interface BenchServices extends StartedServices {
  kc: KubeConfig;
  api: CustomObjectsApi;
  apiserverPid?: number;
  etcdPid?: number;
}

export async function startBenchServices(): Promise<BenchServices> {
  await mkdir(TMP, { recursive: true });
  const started = await startServices({ log: (l) => log(l), tmpRoot: TMP });
  const kube = started.services.kube;
  const kc = kubeConfig({ kube });
  await installCrds([ourCrdsDir, ...upstreamCrdFiles('source.toolkit.fluxcd.io')], { kc });
  const workDir = started.services.workDir;
  return {
    ...started,
    kc,
    api: kc.makeApiClient(CustomObjectsApi),
    apiserverPid: findPid((cmd) => cmd[0]?.includes('kube-apiserver') === true && cmd.some((a) => a.includes(workDir))),
    etcdPid: findPid((cmd) => /\/etcd[^/]*$/.test(cmd[0] ?? '') && cmd.some((a) => a.includes(workDir))),
  };
}

export async function newNamespace(kc: KubeConfig): Promise<string> {
  return createNamespace(undefined, { kc });
}

/** The first process whose argv matches. */
export function findPid(match: (argv: string[]) => boolean): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (match(argv)) return Number(entry);
    } catch {
      // gone
    }
  }
  return undefined;
}

/** Peak (VmHWM) and current (VmRSS) resident set of a process, MiB. */
export function rssOf(pid: number | undefined): { peakMiB: number; nowMiB: number } | undefined {
  if (!pid) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 'NaN');
    return { peakMiB: kb('VmHWM') / 1024, nowMiB: kb('VmRSS') / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user+sys) a process has used so far. */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // fields[11], [12] = utime, stime (man 5 proc: fields 14 and 15, counted after "pid (comm)")
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Sum of apiserver_request_total (all verbs/resources/codes) and per verb, from the apiserver's /metrics. */
export async function apiRequestCounts(s: Services): Promise<{ total: number; byVerb: Record<string, number> }> {
  const agent = new Agent({ connect: { ca: readFileSync(s.kube.caFile, 'utf8') } });
  try {
    const res = await request(`${s.kube.server}/metrics`, { headers: { authorization: `Bearer ${s.kube.token}` }, dispatcher: agent });
    const text = await res.body.text();
    let total = 0;
    const byVerb: Record<string, number> = {};
    for (const line of text.split('\n')) {
      if (!line.startsWith('apiserver_request_total{')) continue;
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      total += v;
      const verb = /verb="([A-Z]+)"/.exec(line)?.[1] ?? '?';
      byVerb[verb] = (byVerb[verb] ?? 0) + v;
    }
    return { total, byVerb };
  } finally {
    await agent.close();
  }
}

export function diffCounts(a: { total: number; byVerb: Record<string, number> }, b: { total: number; byVerb: Record<string, number> }): {
  total: number;
  byVerb: Record<string, number>;
} {
  const byVerb: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a.byVerb), ...Object.keys(b.byVerb)])) {
    const d = (b.byVerb[k] ?? 0) - (a.byVerb[k] ?? 0);
    if (d) byVerb[k] = d;
  }
  return { total: b.total - a.total, byVerb };
}

// ------------------------------------------------------------------------------------------- functions

export interface FunctionProcess {
  stage: string;
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function ensureBundles(): void {
  if (!existsSync(join(DIST, 'resource.mjs'))) {
    throw new Error(`no bundles in ${DIST}: run \`npx tsx functions/build.ts --outdir bench/.tmp/dist\` first`);
  }
}

/**
 * Starts one function as its own process: the bundle (dist) by default, or the TypeScript main through tsx
 * (`source: true`, readable CPU profiles). Resolves once /healthz answers.
 */
export async function spawnFunction(
  stage: string,
  s: Services,
  opts: { registryUrl: string; nodeArgs?: string[]; source?: boolean; logLevel?: string; logDir?: string; env?: Record<string, string> },
): Promise<FunctionProcess> {
  const port = await freePort();
  const logDir = opts.logDir ?? join(TMP, 'logs');
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, `${stage}-${port}.log`);
  const out = createWriteStream(logFile);
  const entry = opts.source ? ['--import', 'tsx', join(REPO, 'functions', stage, 'main.ts')] : [join(DIST, `${stage}.mjs`)];
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...entry], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NO_PROXY: '127.0.0.1,localhost',
      KUBECONFIG: s.kube.kubeconfig,
      REGISTRY_URL: opts.registryUrl,
      INSECURE_REGISTRIES: [s.registry.fs.host, s.registry.s3.host].join(','),
      // the benchmark's sources are a CTF directory and registries on loopback, which the egress policy
      // refuses by default: allow them as an operator would
      CTF_ROOT: '/',
      EGRESS_ALLOW: '127.0.0.0/8,::1',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: opts.logLevel ?? 'info',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${stage} exited with ${child.exitCode} (log ${logFile})`);
    try {
      const res = await request(`${url}healthz`);
      await res.body.dump();
      if (res.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${stage} did not become healthy (log ${logFile})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    stage,
    url,
    pid: child.pid!,
    child,
    async stop() {
      await stopChild(child, 15_000);
      out.end();
    },
  };
}

export interface ProcessPipeline {
  functions: Record<string, FunctionProcess>;
  driver: EventingDriver;
  stop(): Promise<void>;
}

/** The four functions as processes plus the eventing stand-in watching `namespace`. */
export async function startProcessPipeline(
  b: BenchServices,
  namespace: string,
  opts: { registryUrl: string; logLevel?: string; env?: Record<string, string>; nodeArgs?: string[] },
): Promise<ProcessPipeline> {
  const stages = Object.keys(STAGE_KINDS);
  const functions = Object.fromEntries(
    await Promise.all(stages.map(async (st) => [st, await spawnFunction(st, b.services, opts)] as const)),
  ) as Record<string, FunctionProcess>;
  const driver = new EventingDriver(
    b.kc,
    stages.map((st) => ({ stage: st, url: functions[st]!.url, kinds: STAGE_KINDS[st]! })),
    // Knative's default Broker delivery (config/core/configmaps/default-broker.yaml): retry 10, exponential, PT0.2S
    { source: b.services.kube.server, retries: 10, backoffMs: 200 },
  );
  await driver.watch(
    namespace,
    Object.values(PLURALS).map((plural) => ({ group: GROUP, version: VERSION, plural })),
  );
  return {
    functions,
    driver,
    async stop() {
      await driver.stop();
      await Promise.all(Object.values(functions).map((f) => f.stop()));
    },
  };
}

// --------------------------------------------------------------------------------------------- objects

export async function createObject(api: CustomObjectsApi, namespace: string, obj: { kind: string; metadata: { name: string }; spec: unknown }): Promise<KubeObject> {
  return (await retry429(() =>
    api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURALS[obj.kind]!,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: obj.kind, metadata: { name: obj.metadata.name, namespace }, spec: obj.spec },
    }),
  )) as KubeObject;
}

export async function listObjects(api: CustomObjectsApi, namespace: string, kind: string): Promise<KubeObject[]> {
  const res = (await api.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS[kind]! })) as { items: KubeObject[] };
  return res.items;
}

export interface ManifestObject {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}

/** examples/manifests as plain objects, with the CTF path made absolute. */
export function exampleObjects(ctfDir: string): ManifestObject[] {
  const dir = join(REPO, 'examples', 'manifests');
  const out: ManifestObject[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const obj = doc.toJS() as ManifestObject | null;
      if (!obj?.kind) continue;
      if (obj.kind === 'OCMRepository') obj.spec = { ...obj.spec, repositorySpec: { type: 'CommonTransportFormat', filePath: ctfDir } };
      out.push(obj);
    }
  }
  return out;
}

/** The example component as a CTF directory (built once into bench/.tmp by examples/build-ctf.ts). */
export async function exampleCtf(): Promise<string> {
  const dir = join(TMP, 'ctf-example');
  if (!existsSync(join(dir, 'artifact-index.json'))) {
    await promisify(execFile)(process.execPath, [join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(REPO, 'examples', 'build-ctf.ts'), dir], { cwd: REPO });
  }
  return dir;
}

/** Renames objects with a suffix and rewrites the references between them. */
export function withSuffix(objs: ManifestObject[], suffix: string): ManifestObject[] {
  const rename = (ref: unknown): void => {
    if (ref && typeof ref === 'object' && typeof (ref as { name?: unknown }).name === 'string') (ref as { name: string }).name += suffix;
  };
  return objs.map((o) => {
    const c = structuredClone(o);
    c.metadata.name += suffix;
    for (const field of ['repositoryRef', 'componentRef', 'target', 'source'] as const) rename(c.spec[field]);
    return c;
  });
}

// --------------------------------------------------------------------------------------------- numbers

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

export function machine(): Record<string, unknown> {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, loadavg: loadavg().map((x) => Number(x.toFixed(2))) };
}

export async function writeResult(name: string, result: unknown): Promise<string> {
  const dir = join(REPO, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** Samples the load average every 10 s; returns min/max/mean at the end. */
export function loadSampler(): { stop(): { min: number; max: number; mean: number } } {
  const xs: number[] = [loadavg()[0]!];
  const t = setInterval(() => xs.push(loadavg()[0]!), 10_000);
  return {
    stop() {
      clearInterval(t);
      xs.push(loadavg()[0]!);
      const r = (x: number): number => Number(x.toFixed(1));
      return { min: r(Math.min(...xs)), max: r(Math.max(...xs)), mean: r(xs.reduce((a, b) => a + b, 0) / xs.length) };
    },
  };
}

export function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
