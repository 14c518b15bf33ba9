/**
 * Event throughput of ONE function instance: no-op `dev.knative.apiserver.resource.update` events (Resource mode,
 * shaped by shared/cloudevents' apiServerSourceEvent) for a Resource that is Ready with an unchanged input digest,
 * POSTed to a dedicated resource-function process (the bundle) that talks to the real kube-apiserver.
 *
 * Also measured, to say where the time goes:
 * - the apiserver alone: GETs/s of that Resource from one Node client (undici) at the same concurrency;
 * - the function without API work: events of a kind the resource stage does not route (Publication) are answered
 *   without any I/O, which is the HTTP + CloudEvents + logging floor of one instance;
 * - apiserver requests per no-op event (apiserver_request_total before/after);
 * - with --profile: a CPU profile of the function (TypeScript source through tsx, so frames keep their names),
 *   summarised by package/module;
 * - with --keepalive: the same function from source without and with keepalive-preload.ts (one keep-alive Agent
 *   for client-node instead of a TLS handshake per API request), interleaved; --only-keepalive skips the rest.
 *
 *   npx tsx functions/build.ts --outdir bench/.tmp/dist
 * - the same events rotating over --objects distinct Ready Resources (no two in flight for one object, so no
 *   coalescing), and that again with the read cache off (KUBE_CACHE=false: every read an API request).
 *
 *   npx tsx bench/pipeline/throughput.ts [--seconds 15] [--concurrency 1,16,64] [--objects 50] [--log-level info] [--profile]
 *   npx tsx bench/pipeline/throughput.ts --keepalive --only-keepalive --concurrency 1,16
 */
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Agent, Pool, request } from 'undici';
import { apiServerSourceEvent, toBinaryMessage, type KubeObjectLike } from '../../shared/cloudevents/index.js';
import type { KubeObject } from '../../shared/ports/index.js';
import { isReadyNow } from '../../tests/support/ready.js';
import {
  GROUP,
  PLURALS,
  REPO,
  TMP,
  VERSION,
  apiRequestCounts,
  arg,
  createObject,
  cpuSecondsOf,
  diffCounts,
  ensureBundles,
  exampleCtf,
  exampleObjects,
  flag,
  loadSampler,
  log,
  machine,
  newNamespace,
  percentile,
  rssOf,
  spawnFunction,
  startBenchServices,
  startProcessPipeline,
  table,
  withSuffix,
  writeResult,
  type FunctionProcess,
} from './harness.js';

const SECONDS = Number(arg('seconds', '15'));
const CONCURRENCY = arg('concurrency', '1,16,64').split(',').map(Number);
const LOG_LEVEL = arg('log-level', 'info');
/** distinct Ready Resources the events rotate over (1 = the example's chart only, where a burst coalesces) */
const OBJECTS = Number(arg('objects', '50'));

interface LoadResult {
  concurrency: number;
  seconds: number;
  requests: number;
  perSecond: number;
  statuses: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
}

/** Closed-loop load: `concurrency` workers, each sending the next request when the previous answered. */
async function load(
  url: string,
  concurrency: number,
  seconds: number,
  make: () => { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string },
  dispatcher?: Agent,
): Promise<LoadResult> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: concurrency });
  const statuses: Record<string, number> = {};
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const r = make();
      const t = performance.now();
      try {
        const res = await (dispatcher ?? pool).request({ origin: u.origin, method: r.method, path: r.path, headers: r.headers, body: r.body });
        await res.body.dump();
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      } catch (err) {
        const k = err instanceof Error ? err.name : 'error';
        statuses[k] = (statuses[k] ?? 0) + 1;
      }
      lat.push(performance.now() - t);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  await pool.close();
  return {
    concurrency,
    seconds: Number(elapsed.toFixed(2)),
    requests: lat.length,
    perSecond: Math.round(lat.length / elapsed),
    statuses,
    p50Ms: Number(percentile(lat, 50).toFixed(1)),
    p99Ms: Number(percentile(lat, 99).toFixed(1)),
  };
}

function eventMaker(obj: KubeObject, source: string): () => { method: 'POST'; path: string; headers: Record<string, string>; body: string } {
  const msg = toBinaryMessage(apiServerSourceEvent({ mode: 'Resource', op: 'update', object: obj as unknown as KubeObjectLike, source }));
  const headers = Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k, String(v)]));
  const body = typeof msg.body === 'string' ? msg.body : Buffer.from(msg.body as Uint8Array).toString('utf8');
  // every delivery is a distinct event (as from the adapter): a fresh id each time
  return () => ({ method: 'POST', path: '/', headers: { ...headers, 'ce-id': randomUUID() }, body });
}

/** Events rotating over several objects, one maker per object. */
function rotating(objs: KubeObject[], source: string): () => { method: 'POST'; path: string; headers: Record<string, string>; body: string } {
  const makers = objs.map((o) => eventMaker(o, source));
  let i = 0;
  return () => makers[i++ % makers.length]!();
}

async function outcomes(fn: FunctionProcess): Promise<Record<string, number>> {
  const res = await request(`${fn.url}metrics`);
  const text = await res.body.text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('ocm_knative_events_total{')) continue;
    const outcome = /outcome="([^"]+)"/.exec(line)?.[1] ?? '?';
    out[outcome] = (out[outcome] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

/** Self time of a .cpuprofile grouped by where the code lives. */
function summariseProfile(file: string): { byArea: Array<[string, number]>; topFunctions: Array<[string, number]>; totalMs: number } {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000));
  const area = (url: string, fn: string): string => {
    if (!url) return fn.startsWith('(') ? fn : '(native/builtin)';
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (nm) return nm[1]!;
    if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:').split('/').slice(0, 2).join('/');
    const m = /\/main\/(.+)$/.exec(url);
    return m ? m[1]!.split('/').slice(0, 2).join('/') : url;
  };
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const a = area(n.callFrame.url, n.callFrame.functionName);
    areas.set(a, (areas.get(a) ?? 0) + ms);
    const f = `${n.callFrame.functionName || '(anonymous)'} ${a}`;
    fns.set(f, (fns.get(f) ?? 0) + ms);
    total += ms;
  }
  const top = (m: Map<string, number>, k: number): Array<[string, number]> =>
    [...m.entries()].sort((x, y) => y[1] - x[1]).slice(0, k).map(([n, v]) => [n, Math.round(v)]);
  return { byArea: top(areas, 18), topFunctions: top(fns, 20), totalMs: Math.round(total) };
}

async function main(): Promise<void> {
  ensureBundles();
  const ctf = await exampleCtf();
  const b = await startBenchServices();
  const loadAvg = loadSampler();
  const result: Record<string, unknown> = { date: new Date().toISOString(), machine: machine(), logLevel: LOG_LEVEL, seconds: SECONDS };
  try {
    const ns = await newNamespace(b.kc);
    // make the example Ready once through the whole pipeline, then stop it: only our load reaches the function
    const p = await startProcessPipeline(b, ns, { registryUrl: b.services.registry.fs.url });
    const objs = withSuffix(exampleObjects(ctf), '-t');
    for (const o of objs) await createObject(b.api, ns, o);
    const name = 'podinfo-chart-t';
    const getResource = async (): Promise<KubeObject> =>
      (await b.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURALS.Resource!, name })) as KubeObject;
    for (const deadline = Date.now() + 120_000; !isReadyNow(await getResource()); ) {
      if (Date.now() > deadline) throw new Error('example Resource not Ready');
      await new Promise((r) => setTimeout(r, 200));
    }
    const chart = objs.find((o) => o.kind === 'Resource' && o.metadata.name === name)!;
    const extra = Array.from({ length: Math.max(0, OBJECTS - 1) }, (_, i) => ({ ...structuredClone(chart), metadata: { name: `${name}-${i}` } }));
    for (const o of extra) await createObject(b.api, ns, o);
    const getNamed = async (n: string): Promise<KubeObject> =>
      (await b.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURALS.Resource!, name: n })) as KubeObject;
    for (const o of extra) {
      for (const deadline = Date.now() + 300_000; !isReadyNow(await getNamed(o.metadata.name)); ) {
        if (Date.now() > deadline) throw new Error(`Resource ${o.metadata.name} not Ready`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await p.driver.settle(500, 60_000);
    await p.stop();
    const resource = await getResource();
    const many = [resource, ...(await Promise.all(extra.map((o) => getNamed(o.metadata.name))))];
    const source = b.services.kube.server;

    if (flag('keepalive')) {
      // the fix for what the profile shows (a TLS handshake per API request): the same function from source, without and
      // with keepalive-preload.ts, interleaved so machine noise hits both alike
      const rowsKa: Array<LoadResult & { variant: string }> = [];
      for (const c of CONCURRENCY) {
        for (const variant of ['client-node as shipped', 'keep-alive agent (preload)']) {
          const nodeArgs = variant.startsWith('keep') ? ['--import', 'tsx', '--import', join(REPO, 'bench', 'pipeline', 'keepalive-preload.ts')] : [];
          const f = await spawnFunction('resource', b.services, { registryUrl: b.services.registry.fs.url, logLevel: LOG_LEVEL, source: true, nodeArgs });
          const noopKa = eventMaker(resource, source);
          await load(f.url, 4, 2, noopKa);
          const r = await load(f.url, c, SECONDS, noopKa);
          await f.stop();
          rowsKa.push({ variant, ...r });
          log(`${variant} c=${c}: ${r.perSecond}/s p50 ${r.p50Ms} ms ${JSON.stringify(r.statuses)}`);
        }
      }
      result.keepalive = rowsKa;
    }
    if (flag('only-keepalive')) {
      result.load = loadAvg.stop();
      const out = table(['variant', 'concurrency', 'events/s', 'p50 ms', 'p99 ms', 'statuses'], (result.keepalive as Array<LoadResult & { variant: string }>).map((r) => [r.variant, r.concurrency, r.perSecond, r.p50Ms, r.p99Ms, JSON.stringify(r.statuses)]));
      result.table = out;
      const file = await writeResult('throughput-keepalive', result);
      process.stdout.write(`${out}\n\nload ${JSON.stringify(result.load)}; results in ${file}\n`);
      return;
    }

    // 1. apiserver alone: GET of the Resource
    const agent = new Agent({ connect: { ca: readFileSync(b.services.kube.caFile, 'utf8') }, connections: 64 });
    const getPath = `/apis/${GROUP}/${VERSION}/namespaces/${ns}/resources/${name}`;
    const apiRows: LoadResult[] = [];
    for (const c of CONCURRENCY) {
      const r = await load(b.services.kube.server, c, Math.min(SECONDS, 10), () => ({
        method: 'GET',
        path: getPath,
        headers: { authorization: `Bearer ${b.services.kube.token}`, accept: 'application/json' },
      }), agent);
      apiRows.push(r);
      log(`apiserver GET c=${c}: ${r.perSecond}/s p50 ${r.p50Ms} ms`);
    }
    await agent.close();
    result.apiserverGet = apiRows;

    // 2. the function: no-op update events, and unrouted events (HTTP floor)
    const fn = await spawnFunction('resource', b.services, { registryUrl: b.services.registry.fs.url, logLevel: LOG_LEVEL });
    const noop = eventMaker(resource, source);
    const pubObj: KubeObject = { apiVersion: `${GROUP}/${VERSION}`, kind: 'Publication', metadata: { name: 'x', namespace: ns, uid: randomUUID(), generation: 1, resourceVersion: '1' } };
    const unrouted = eventMaker(pubObj, source);
    // warm-up: lazy handler import, connections
    await load(fn.url, 4, 2, noop);
    const fnRows: Array<LoadResult & { kind: string; apiRequestsPerEvent?: number; outcomes?: Record<string, number>; cpuSeconds?: number }> = [];
    const measure = async (f: FunctionProcess, kind: string, make: ReturnType<typeof rotating>): Promise<void> => {
      for (const c of CONCURRENCY) {
        const before = await apiRequestCounts(b.services);
        const o0 = await outcomes(f);
        const cpu0 = cpuSecondsOf(f.pid);
        const r = await load(f.url, c, SECONDS, make);
        const cpu1 = cpuSecondsOf(f.pid);
        const o1 = await outcomes(f);
        const api = diffCounts(before, await apiRequestCounts(b.services));
        const oc = Object.fromEntries(Object.entries(o1).map(([k, v]) => [k, v - (o0[k] ?? 0)]).filter(([, v]) => v !== 0));
        fnRows.push({
          kind,
          ...r,
          apiRequestsPerEvent: Number(((api.total - 2) / r.requests).toFixed(2)),
          outcomes: oc,
          ...(cpu0 !== undefined && cpu1 !== undefined ? { cpuSeconds: Number((cpu1 - cpu0).toFixed(1)) } : {}),
        });
        log(`function ${kind} c=${c}: ${r.perSecond}/s p50 ${r.p50Ms} ms, API requests/event ${((api.total - 2) / r.requests).toFixed(2)} ${JSON.stringify(api.byVerb)} outcomes ${JSON.stringify(oc)}`);
      }
    };
    await measure(fn, 'no-op update, one Resource', noop);
    const spread = rotating(many, source);
    await load(fn.url, 4, 2, spread);
    await measure(fn, `no-op update, ${many.length} Resources in turn`, spread);
    for (const c of CONCURRENCY) {
      const r = await load(fn.url, c, Math.min(SECONDS, 10), unrouted);
      fnRows.push({ kind: 'unrouted kind (no I/O)', ...r });
      log(`function unrouted c=${c}: ${r.perSecond}/s p50 ${r.p50Ms} ms`);
    }
    result.functionRss = rssOf(fn.pid);
    await fn.stop();
    // the same, every read an API request (as before the cache)
    const uncached = await spawnFunction('resource', b.services, { registryUrl: b.services.registry.fs.url, logLevel: LOG_LEVEL, env: { KUBE_CACHE: 'false' } });
    await load(uncached.url, 4, 2, spread);
    await measure(uncached, `no-op update, ${many.length} Resources in turn, KUBE_CACHE=false`, spread);
    await uncached.stop();
    result.function = fnRows;

    // 3. CPU profile of the function under no-op load
    if (flag('profile')) {
      const dir = join(TMP, 'prof');
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const pf = await spawnFunction('resource', b.services, {
        registryUrl: b.services.registry.fs.url,
        logLevel: LOG_LEVEL,
        source: true,
        nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
      });
      await load(pf.url, 4, 2, noop);
      const c = CONCURRENCY.includes(16) ? 16 : CONCURRENCY[CONCURRENCY.length - 1]!;
      const r = await load(pf.url, c, SECONDS, noop);
      log(`profiled function no-op c=${c}: ${r.perSecond}/s`);
      await pf.stop();
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (file) {
        const summary = summariseProfile(join(dir, file));
        result.profile = { concurrency: c, perSecond: r.perSecond, file: join(dir, file), ...summary };
        process.stdout.write(`\nCPU profile (self time, ms of ${summary.totalMs}):\n${table(['where', 'ms'], summary.byArea)}\n\n${table(['function', 'ms'], summary.topFunctions)}\n\n`);
      }
    }
  } finally {
    result.load = loadAvg.stop();
    await b.stop();
  }
  const rows: (string | number)[][] = [];
  for (const r of result.apiserverGet as LoadResult[]) rows.push(['kube-apiserver GET Resource (one Node client)', r.concurrency, r.perSecond, r.p50Ms, r.p99Ms, '-', JSON.stringify(r.statuses)]);
  for (const r of result.function as Array<LoadResult & { kind: string; apiRequestsPerEvent?: number }>) {
    rows.push([`resource function: ${r.kind}`, r.concurrency, r.perSecond, r.p50Ms, r.p99Ms, r.apiRequestsPerEvent ?? '-', JSON.stringify(r.statuses)]);
  }
  const out = table(['what', 'concurrency', 'per s', 'p50 ms', 'p99 ms', 'API req/event', 'statuses'], rows);
  result.table = out;
  const file = await writeResult('throughput', result);
  process.stdout.write(`${out}\n\nload ${JSON.stringify(result.load)}; results in ${file}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
