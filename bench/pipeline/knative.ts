/**
 * Knative Eventing's real Broker (issue 17) next to the stand-in (EventingDriver), in one run on one API server:
 *
 * 1. Latency: the example objects (examples/manifests), Component creation -> every Publication Ready, p50/p95 over
 *    --runs runs, once through the stand-in (its own namespace and function processes) and once through Knative
 *    (ApiServerSource receive adapter -> broker ingress -> in-memory channel -> broker filter -> Triggers of the
 *    shipped manifests -> function processes). Per run everything but the Component is created first and let settle.
 * 2. Throughput: events/s that one broker ingress + filter carry to one function instance: `--events` no-op update
 *    events for a Ready Resource posted to the ingress at --concurrency, counted by the function's own metric, next
 *    to the same events posted straight to the function.
 * 3. RSS of every Knative process (and of the pod agents that stand in for the node's network), and the CPU seconds
 *    each spent while the broker carried the throughput run.
 *
 *   npx tsx functions/build.ts --outdir bench/.tmp/dist
 *   npx tsx bench/pipeline/knative.ts [--runs 10] [--events 2000] [--concurrency 16]
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { apiServerSourceEvent, toBinaryMessage, type KubeObjectLike } from '../../shared/cloudevents/index.js';
import type { KubeObject } from '../../shared/ports/index.js';
import { startKnativeEventing, SYSTEM_NAMESPACE } from '../../tests/infra/knative/eventing.js';
import { ClusterNetwork } from '../../tests/infra/knative/network.js';
import { BROKER, installOcmEventing } from '../../tests/infra/knative/ocm-install.js';
import { isReadyNow } from '../../tests/support/ready.js';
import {
  GROUP,
  VERSION,
  arg,
  cpuSecondsOf,
  createObject,
  ensureBundles,
  exampleCtf,
  exampleObjects,
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
  type BenchServices,
  type FunctionProcess,
} from './harness.js';

const RUNS = Number(arg('runs', '10'));
const EVENTS = Number(arg('events', '2000'));
const CONCURRENCY = Number(arg('concurrency', '16'));
const STAGES = ['descriptor', 'resource', 'configure', 'publish'];

const stats = (xs: number[]) => ({ n: xs.length, p50: percentile(xs, 50), p95: percentile(xs, 95), min: Math.min(...xs), max: Math.max(...xs) });

/** Component creation -> every Publication Ready, per run; `quiet` resolves when the eventing has settled. */
async function latencyRuns(b: BenchServices, ns: string, ctf: string, quiet: () => Promise<void>, label: string): Promise<number[]> {
  const readyAt = new Map<string, number>();
  const w = await new Watch(b.kc).watch(`/apis/${GROUP}/${VERSION}/namespaces/${ns}/publications`, {}, (_p: string, o: KubeObject) => {
    if (!readyAt.has(o.metadata.name) && isReadyNow(o)) readyAt.set(o.metadata.name, performance.now());
  }, () => undefined);
  const out: number[] = [];
  try {
    for (let i = 0; i <= RUNS; i++) {
      const objs = withSuffix(exampleObjects(ctf), `-${i}`);
      for (const o of objs.filter((x) => x.kind !== 'Component')) await createObject(b.api, ns, o);
      await quiet();
      const t0 = performance.now();
      await createObject(b.api, ns, objs.find((x) => x.kind === 'Component')!);
      const pubs = objs.filter((x) => x.kind === 'Publication').map((x) => x.metadata.name);
      const deadline = Date.now() + 180_000;
      while (!pubs.every((n) => readyAt.has(n))) {
        if (Date.now() > deadline) throw new Error(`${label} run ${i}: Publications not Ready after 180 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
      const ms = Math.round(Math.max(...pubs.map((n) => readyAt.get(n)!)) - t0);
      log(`${label} run ${i}${i === 0 ? ' (warm-up)' : ''}: ${ms} ms`);
      if (i > 0) out.push(ms);
      await quiet();
    }
  } finally {
    w.abort();
  }
  return out;
}

async function handled(fn: FunctionProcess): Promise<number> {
  const res = await request(`${fn.url}metrics`);
  let n = 0;
  for (const line of (await res.body.text()).split('\n')) if (line.startsWith('ocm_knative_events_total{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

/** Posts `count` events at `concurrency`; returns when the function has handled all of them. */
async function push(fn: FunctionProcess, url: string, dispatcher: Agent, make: () => { headers: Record<string, string>; body: string }, count: number): Promise<{ perSecond: number; statuses: Record<string, number> }> {
  const before = await handled(fn);
  const statuses: Record<string, number> = {};
  let sent = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (sent < count) {
        sent++;
        const e = make();
        const res = await request(url, { method: 'POST', headers: e.headers, body: e.body, dispatcher });
        await res.body.dump();
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      }
    }),
  );
  const deadline = Date.now() + 300_000;
  while ((await handled(fn)) - before < count) {
    if (Date.now() > deadline) throw new Error(`only ${(await handled(fn)) - before} of ${count} events reached the function`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { perSecond: Math.round(count / ((performance.now() - t0) / 1000)), statuses };
}

async function main(): Promise<void> {
  ensureBundles();
  const ctf = await exampleCtf();
  const b = await startBenchServices();
  const load = loadSampler();
  const result: Record<string, unknown> = { machine: machine(), runs: RUNS };
  const knative = await startKnativeEventing({ kube: b.services.kube, workDir: b.services.workDir, log });
  const registryUrl = b.services.registry.fs.url;
  try {
    // the stand-in, with Knative's default Broker delivery (as bench/pipeline/latency.ts)
    const nsStandIn = await newNamespace(b.kc);
    const standIn = await startProcessPipeline(b, nsStandIn, { registryUrl });
    // Knative: its own function processes behind the shipped Triggers, tenant namespace selected by label
    const tenant = await newNamespace(b.kc);
    await b.kc.makeApiClient(CoreV1Api).patchNamespace(
      { name: tenant, body: { metadata: { labels: { 'serverless.ocm.software/enabled': 'true' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const system = await newNamespace(b.kc);
    const fns: Record<string, FunctionProcess> = {};
    for (const stage of STAGES) {
      fns[stage] = await spawnFunction(stage, b.services, { registryUrl, logLevel: 'warn' });
      const port = Number(new URL(fns[stage].url).port);
      await knative.net.exposeHost(ClusterNetwork.fqdn(stage, system), { host: '127.0.0.1', port });
    }
    const install = await installOcmEventing({ kube: b.services.kube, namespace: system, dir: join(b.services.workDir, 'kustomize') });
    // the adapter sends nothing for what precedes its watches: wait for its first event at the descriptor
    const probe = await createObject(b.api, tenant, { kind: 'OCMRepository', metadata: { name: 'probe' }, spec: { repositorySpec: { type: 'CommonTransportFormat', filePath: ctf } } });
    for (const deadline = Date.now() + 90_000; (await handled(fns.descriptor!)) === 0; ) {
      if (Date.now() > deadline) throw new Error('no event from the ApiServerSource adapter');
      await b.api.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace: tenant, plural: 'ocmrepositories', name: probe.metadata.name, body: { metadata: { labels: { t: String(Date.now()) } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await new Promise((r) => setTimeout(r, 500));
    }
    const knativeQuiet = async (): Promise<void> => {
      // settled: no function handled anything for 500 ms
      let last = -1;
      for (;;) {
        const n = (await Promise.all(STAGES.map((s) => handled(fns[s]!)))).reduce((a, c) => a + c, 0);
        if (n === last) return;
        last = n;
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    const viaStandIn = await latencyRuns(b, nsStandIn, ctf, () => standIn.driver.settle(500, 120_000), 'stand-in');
    const viaKnative = await latencyRuns(b, tenant, ctf, knativeQuiet, 'knative');
    result.latency = { standIn: stats(viaStandIn), knative: stats(viaKnative), samples: { standIn: viaStandIn, knative: viaKnative } };
    await standIn.stop();

    // throughput into one resource function instance: a Ready Resource's no-op update events
    const resource = (await b.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: tenant, plural: 'resources', name: `${exampleObjects(ctf).find((o) => o.kind === 'Resource')!.metadata.name}-1` })) as KubeObject;
    const msg = toBinaryMessage(apiServerSourceEvent({ mode: 'Resource', op: 'update', object: resource as unknown as KubeObjectLike, source: b.services.kube.server }));
    const headers = Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k, String(v)]));
    const body = typeof msg.body === 'string' ? msg.body : Buffer.from(msg.body as Uint8Array).toString('utf8');
    const make = () => ({ headers: { ...headers, 'ce-id': randomUUID() }, body });
    const ingress = new Agent({ connect: { socketPath: knative.ingressSocket() }, connections: CONCURRENCY });
    const direct = new Agent({ connections: CONCURRENCY });
    const fn = fns.resource!;
    await push(fn, fn.url, direct, make, 200);
    const directRun = await push(fn, fn.url, direct, make, EVENTS);
    log(`direct to the function: ${directRun.perSecond}/s ${JSON.stringify(directRun.statuses)}`);
    await push(fn, knative.brokerUrl(system, BROKER), ingress, make, 200);
    // where the CPU goes on the broker path: each Knative binary, its pod agent (our stand-in for the node's DNS and
    // kube-proxy), the function, and this process (the host-side relays to the function)
    const cpuNow = (): Record<string, number | undefined> => {
      const out: Record<string, number | undefined> = {};
      for (const { deployment, pid } of knative.runner.running()) {
        out[deployment] = cpuSecondsOf(pid);
        out[`${deployment} (pod agent)`] = cpuSecondsOf(childOf(pid));
      }
      out.functionResource = cpuSecondsOf(fn.pid);
      const self = process.cpuUsage();
      out['bench process (host relays, senders)'] = (self.user + self.system) / 1e6;
      return out;
    };
    const cpuBefore = cpuNow();
    const brokerRun = await push(fn, knative.brokerUrl(system, BROKER), ingress, make, EVENTS);
    const cpuAfter = cpuNow();
    const cpu: Record<string, number> = {};
    for (const [k, v] of Object.entries(cpuAfter)) if (v !== undefined && cpuBefore[k] !== undefined) cpu[k] = Math.round((v - cpuBefore[k]!) * 100) / 100;
    log(`through broker ingress + channel + filter: ${brokerRun.perSecond}/s ${JSON.stringify(brokerRun.statuses)}`);
    result.throughput = { events: EVENTS, concurrency: CONCURRENCY, direct: directRun, broker: brokerRun, brokerCpuSeconds: cpu };
    await Promise.all([ingress.close(), direct.close()]);

    // RSS of every pod (the Knative binary) and of the pod agents
    const rss: Record<string, unknown> = {};
    for (const { deployment, pid } of knative.runner.running()) {
      rss[deployment] = rssOf(pid);
      rss[`${deployment} (pod agent)`] = rssOf(childOf(pid));
    }
    rss.functionResource = rssOf(fn.pid);
    result.rss = rss;
    await install.uninstall();
    await Promise.all(Object.values(fns).map((f) => f.stop()));
  } finally {
    await knative.stop();
    await b.stop();
  }
  result.load = load.stop();
  const file = await writeResult('knative', result);
  const l = result.latency as { standIn: ReturnType<typeof stats>; knative: ReturnType<typeof stats> };
  const t = result.throughput as { direct: { perSecond: number }; broker: { perSecond: number } };
  console.log(
    table(['eventing', 'runs', 'p50 ms', 'p95 ms', 'min ms', 'max ms'], [
      ['stand-in (EventingDriver)', l.standIn.n, l.standIn.p50, l.standIn.p95, l.standIn.min, l.standIn.max],
      ['Knative Eventing v0.47.0 (MT broker, in-memory channel)', l.knative.n, l.knative.p50, l.knative.p95, l.knative.min, l.knative.max],
    ]),
  );
  console.log(table(['path', 'events/s'], [['straight to one resource function', t.direct.perSecond], ['broker ingress -> channel -> filter -> the function', t.broker.perSecond]]));
  const cpu = (result.throughput as { brokerCpuSeconds: Record<string, number> }).brokerCpuSeconds;
  console.log(table(['process (broker run)', 'CPU s'], Object.entries(cpu).filter(([, v]) => v > 0).map(([k, v]) => [k, v])));
  console.log(table(['process', 'RSS MiB (peak/now)'], Object.entries(result.rss as Record<string, { peakMiB: number; nowMiB: number } | undefined>).map(([k, v]) => [k, v ? `${v.peakMiB}/${v.nowMiB}` : '-'])));
  log(`written ${file}; system namespace ${SYSTEM_NAMESPACE}`);
}

/** The child of `pid` (a pod's agent is the child of its Knative binary). */
function childOf(pid: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after the last ')'
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
