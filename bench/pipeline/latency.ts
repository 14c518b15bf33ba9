/**
 * Full-pipeline latency for the example component (examples/): Component creation -> both Publications Ready with
 * their Flux OCIRepositories created, p50/p95 over N runs.
 *
 * 1. Real kube-apiserver + registry: the four functions as processes (bundles in bench/.tmp/dist), events from
 *    EventingDriver (ApiServerSource + Broker stand-in). Per run, the example objects get a suffix; everything but
 *    the Component is created first and the driver is let settle, then the clock starts and the Component is created.
 *    A watch records when each object first turns Ready, which gives a per-stage breakdown.
 * 2. The local runner in-process (functions/runner runPipeline: FileKube + OCI layouts, no services): wall time of
 *    one whole `run` over the example manifests in a fresh out dir, until the bus is quiet.
 *
 *   npx tsx functions/build.ts --outdir bench/.tmp/dist
 *   npx tsx bench/pipeline/latency.ts [--runs 20] [--registry fs|s3] [--runner-runs 20] [--skip-runner] [--skip-cluster]
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Watch } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { loadManifests } from '../../functions/runner/manifests.js';
import { runPipeline } from '../../functions/runner/run.js';
import type { KubeObject } from '../../shared/ports/index.js';
import { isReadyNow } from '../../tests/support/ready.js';
import {
  GROUP,
  TMP,
  VERSION,
  arg,
  createObject,
  ensureBundles,
  exampleCtf,
  exampleObjects,
  flag,
  loadSampler,
  log,
  machine,
  newNamespace,
  percentile,
  startBenchServices,
  startProcessPipeline,
  table,
  withSuffix,
  writeResult,
} from './harness.js';

const RUNS = Number(arg('runs', '20'));
const RUNNER_RUNS = Number(arg('runner-runs', String(RUNS)));
const REGISTRY = arg('registry', 'fs');

const stats = (xs: number[]): { n: number; p50: number; p95: number; min: number; max: number; mean: number } => ({
  n: xs.length,
  p50: percentile(xs, 50),
  p95: percentile(xs, 95),
  min: Math.min(...xs),
  max: Math.max(...xs),
  mean: Math.round(xs.reduce((a, b) => a + b, 0) / xs.length),
});

async function cluster(ctf: string): Promise<Record<string, unknown>> {
  ensureBundles();
  const b = await startBenchServices();
  const load = loadSampler();
  try {
    const ns = await newNamespace(b.kc);
    const registryUrl = REGISTRY === 's3' ? b.services.registry.s3.url : b.services.registry.fs.url;
    const p = await startProcessPipeline(b, ns, { registryUrl });
    // first time each object was seen Ready
    const readyAt = new Map<string, number>();
    const watches: AbortController[] = [];
    for (const plural of ['components', 'resources', 'configurations', 'publications']) {
      const w = new Watch(b.kc);
      watches.push(
        await w.watch(`/apis/${GROUP}/${VERSION}/namespaces/${ns}/${plural}`, {}, (_phase: string, obj: KubeObject) => {
          const key = `${obj.kind}/${obj.metadata.name}`;
          if (!readyAt.has(key) && isReadyNow(obj)) readyAt.set(key, performance.now());
        }, () => undefined),
      );
    }
    const base = exampleObjects(ctf);
    const samples: Array<{ run: number; totalMs: number; componentMs: number; resourcesMs: number; configurationsMs: number; publicationsMs: number }> = [];
    // run 0 is a warm-up (first requests of fresh processes: lazy imports, connection set-up); reported separately
    for (let i = 0; i <= RUNS; i++) {
      const objs = withSuffix(base, `-${i}`);
      for (const o of objs.filter((x) => x.kind !== 'Component')) await createObject(b.api, ns, o);
      await p.driver.settle(300, 60_000);
      const comp = objs.find((x) => x.kind === 'Component')!;
      const t0 = performance.now();
      await createObject(b.api, ns, comp);
      const names = (kind: string): string[] => objs.filter((x) => x.kind === kind).map((x) => `${kind}/${x.metadata.name}`);
      const deadline = Date.now() + 120_000;
      while (!names('Publication').every((n) => readyAt.has(n))) {
        if (Date.now() > deadline) throw new Error(`run ${i}: Publications not Ready after 120 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
      // watch streams of different kinds are independent: a Configuration's event may trail its Publication's
      const all = ['Component', 'Resource', 'Configuration'].flatMap(names);
      for (const until = Date.now() + 5000; !all.every((n) => readyAt.has(n)) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 5));
      const last = (kind: string): number => Math.max(...names(kind).map((n) => readyAt.get(n) ?? NaN)) - t0;
      const sample = {
        run: i,
        totalMs: Math.round(last('Publication')),
        componentMs: Math.round(last('Component')),
        resourcesMs: Math.round(last('Resource')),
        configurationsMs: Math.round(last('Configuration')),
        publicationsMs: Math.round(last('Publication')),
      };
      // the OCIRepositories must be there (publish creates them before it marks the Publication Ready)
      for (const pub of objs.filter((x) => x.kind === 'Publication')) {
        await b.api.getNamespacedCustomObject({ group: 'source.toolkit.fluxcd.io', version: 'v1', namespace: ns, plural: 'ocirepositories', name: pub.metadata.name });
      }
      samples.push(sample);
      log(`cluster run ${i}${i === 0 ? ' (warm-up)' : ''}: ${sample.totalMs} ms (component ${sample.componentMs}, resources ${sample.resourcesMs}, configurations ${sample.configurationsMs})`);
      await p.driver.settle(300, 60_000);
    }
    for (const w of watches) w.abort();
    const measured = samples.slice(1);
    const deadLetters = p.driver.deadLetters.length;
    await p.stop();
    return {
      registry: REGISTRY,
      warmupMs: samples[0]!.totalMs,
      total: stats(measured.map((s) => s.totalMs)),
      component: stats(measured.map((s) => s.componentMs)),
      resources: stats(measured.map((s) => s.resourcesMs)),
      configurations: stats(measured.map((s) => s.configurationsMs)),
      deliveries: p.driver.deliveries.length,
      deadLetters,
      samples,
      load: load.stop(),
    };
  } finally {
    await b.stop();
  }
}

async function runner(ctf: string): Promise<Record<string, unknown>> {
  const dir = join(TMP, 'runner-latency');
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'manifests'), { recursive: true });
  const load = loadSampler();
  await writeFile(join(dir, 'manifests', 'example.yaml'), exampleObjects(ctf).map((o) => stringify({ apiVersion: `${GROUP}/${VERSION}`, ...o })).join('---\n'));
  const input = await loadManifests([join(dir, 'manifests')]);
  if (input.problems.length) throw new Error(`manifest problems: ${JSON.stringify(input.problems)}`);
  const samples: number[] = [];
  let events = 0;
  for (let i = 0; i <= RUNNER_RUNS; i++) {
    const out = join(dir, `out-${i}`);
    const t0 = performance.now();
    const summary = await runPipeline(input, { out });
    const ms = Math.round(performance.now() - t0);
    const notReady = summary.objects.filter((o) => !isReadyNow(o));
    if (notReady.length) throw new Error(`runner run ${i}: not Ready: ${notReady.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
    events = summary.events;
    if (i > 0) samples.push(ms);
    log(`runner run ${i}${i === 0 ? ' (warm-up)' : ''}: ${ms} ms (${summary.deliveries} deliveries)`);
    await rm(out, { recursive: true, force: true });
  }
  return { total: stats(samples), eventsPerRun: events, samples, load: load.stop() };
}

async function main(): Promise<void> {
  const ctf = await exampleCtf();
  const result: Record<string, unknown> = { date: new Date().toISOString(), machine: machine(), runs: RUNS };
  if (!flag('skip-cluster')) result.cluster = await cluster(ctf);
  if (!flag('skip-runner')) result.runner = await runner(ctf);
  result.machineAfter = machine();
  const rows: (string | number)[][] = [];
  const c = result.cluster as { registry: string; total: ReturnType<typeof stats>; component: ReturnType<typeof stats>; resources: ReturnType<typeof stats>; configurations: ReturnType<typeof stats>; warmupMs: number; load: unknown } | undefined;
  if (c) {
    for (const [what, s] of [['Component Ready', c.component], ['Resources Ready', c.resources], ['Configurations Ready', c.configurations], ['Publications Ready + OCIRepositories', c.total]] as const) {
      rows.push([`functions (HTTP) + kube-apiserver + ${c.registry} registry`, what, s.n, s.p50, s.p95, s.min, s.max]);
    }
  }
  const r = result.runner as { total: ReturnType<typeof stats> } | undefined;
  if (r) rows.push(['local runner, in-process (FileKube + layouts)', 'whole `run` until quiet', r.total.n, r.total.p50, r.total.p95, r.total.min, r.total.max]);
  const out = table(['host', 'from Component creation to', 'runs', 'p50 ms', 'p95 ms', 'min ms', 'max ms'], rows);
  result.table = out;
  const file = await writeResult(`latency-${REGISTRY}`, result);
  process.stdout.write(`${out}\n\nwarm-up run (fresh processes): ${c?.warmupMs ?? '-'} ms; load ${JSON.stringify(c?.load)}; results in ${file}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
