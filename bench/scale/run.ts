/**
 * Scale: N Components x 2 Resources through the pipeline (descriptor + resource stages; configure and publish run
 * too but have nothing to do), on the real kube-apiserver + etcd and the filesystem registry, with the four
 * functions as processes (one instance each) and EventingDriver as ApiServerSource + Broker.
 *
 * All N Components share one OCMRepository (the example CTF) and one component version; every Resource still gets
 * its own repository and Snapshot, so the registry and API work per object is real. For each N (fresh namespace,
 * fresh function processes): wall time from the first create until every object is Ready, events (source events and
 * deliveries), apiserver requests (apiserver_request_total before/after, minus the bench's own requests), peak RSS
 * (VmHWM) and CPU seconds of each function process and of the apiserver and etcd.
 *
 * `--registry zot`: the pipeline's registry is zot with the shipped config on SeaweedFS S3 (services().registry.zot:
 * TLS, htpasswd), and its peak RSS and CPU seconds are reported with the rest; default: the filesystem
 * docker-registry (what earlier results used).
 *
 *   npx tsx functions/build.ts --outdir bench/.tmp/dist
 *   npx tsx bench/scale/run.ts [--counts 50,500] [--timeout-min 12] [--create-concurrency 16] [--registry fs|zot]
 *   # results: bench/results/scale.json (fs) or scale-zot.json (zot)
 */
import type { KubeObject } from '../../shared/ports/index.js';
import { isReadyNow } from '../../tests/support/ready.js';
import type { ManifestObject } from '../pipeline/harness.js';
import {
  apiRequestCounts,
  arg,
  cpuSecondsOf,
  createObject,
  diffCounts,
  ensureBundles,
  exampleCtf,
  findPid,
  listObjects,
  loadSampler,
  log,
  machine,
  newNamespace,
  rssOf,
  startBenchServices,
  startProcessPipeline,
  table,
  writeResult,
  type BenchServices,
} from '../pipeline/harness.js';

const COUNTS = arg('counts', '50,500').split(',').map(Number);
const TIMEOUT_MS = Number(arg('timeout-min', '12')) * 60_000;
const CREATE_CONCURRENCY = Number(arg('create-concurrency', '16'));
/** PingSource stand-in: a resync tick after this many seconds without progress (0 = never, like no PingSource) */
const RESYNC_STALL_S = Number(arg('resync-stall', '0'));
const REGISTRY = arg('registry', 'fs');
if (REGISTRY !== 'fs' && REGISTRY !== 'zot') throw new Error(`--registry must be fs or zot, not ${REGISTRY}`);
/** bench/results/<name>.json: a zot run keeps its own file beside the filesystem registry's scale.json */
const RESULT_NAME = REGISTRY === 'zot' ? 'scale-zot' : 'scale';

function objectsFor(n: number, ctf: string): ManifestObject[] {
  const objs: ManifestObject[] = [
    { kind: 'OCMRepository', metadata: { name: 'examples-ctf' }, spec: { repositorySpec: { type: 'CommonTransportFormat', filePath: ctf }, interval: '10m' } },
  ];
  for (let i = 0; i < n; i++) {
    const c = `podinfo-${i}`;
    objs.push({
      kind: 'Component',
      metadata: { name: c },
      spec: { repositoryRef: { name: 'examples-ctf' }, component: 'ocm.software/examples/podinfo', semver: '>=1.0.0 <2.0.0', interval: '10m' },
    });
    for (const r of ['chart', 'manifests']) {
      objs.push({ kind: 'Resource', metadata: { name: `${c}-${r}` }, spec: { componentRef: { name: c }, resource: { byReference: { resource: { name: r } } } } });
    }
  }
  return objs;
}

async function runOne(b: BenchServices, n: number, ctf: string): Promise<Record<string, unknown>> {
  const ns = await newNamespace(b.kc);
  const zot = b.services.registry.zot;
  const p =
    REGISTRY === 'zot'
      ? await startProcessPipeline(b, ns, {
          registryUrl: zot.url,
          env: { REGISTRY_CA_FILE: zot.caFile, REGISTRY_USERNAME: zot.push.username, REGISTRY_PASSWORD: zot.push.password },
        })
      : await startProcessPipeline(b, ns, { registryUrl: b.services.registry.fs.url });
  const zotPid = REGISTRY === 'zot' ? findPid((cmd) => cmd[1] === 'serve' && cmd[2] === zot.configFile) : undefined;
  const pids = {
    ...Object.fromEntries(Object.entries(p.functions).map(([k, f]) => [k, f.pid])),
    apiserver: b.apiserverPid,
    etcd: b.etcdPid,
    ...(zotPid ? { zot: zotPid } : {}),
  };
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSecondsOf(pid) ?? 0]));
  const load = loadSampler();
  let own = 0;
  const before = await apiRequestCounts(b.services);
  own++;
  const objs = objectsFor(n, ctf);
  const t0 = performance.now();
  // create like `kubectl apply` of a big file would, a few at a time
  let next = 0;
  await Promise.all(
    Array.from({ length: CREATE_CONCURRENCY }, async () => {
      while (next < objs.length) {
        const o = objs[next++]!;
        await createObject(b.api, ns, o);
        own++;
      }
    }),
  );
  const createdMs = performance.now() - t0;
  log(`N=${n}: created ${objs.length} objects in ${(createdMs / 1000).toFixed(1)} s`);
  let readyMs = NaN;
  let progress = '';
  let pollErrors = 0;
  let lastProgress = performance.now();
  const resyncs: number[] = [];
  let reasons: Record<string, number> = {};
  for (;;) {
    let comps: KubeObject[];
    let ress: KubeObject[];
    try {
      own += 2;
      [comps, ress] = await Promise.all([listObjects(b.api, ns, 'Component'), listObjects(b.api, ns, 'Resource')]);
    } catch (err) {
      // an overloaded apiserver answers 504 to a big LIST now and then; the functions see the same, so note and poll on
      pollErrors++;
      log(`N=${n}: poll failed: ${String(err).split('\n')[0]}`);
      if (performance.now() - t0 > TIMEOUT_MS) break;
      await new Promise((r) => setTimeout(r, 2000));
      continue;
    }
    reasons = {};
    for (const o of [...comps, ...ress].filter((x) => !isReadyNow(x))) {
      const c = o.status?.conditions?.find((x) => x.type === 'Ready');
      const k = `${o.kind} ${c ? `${c.status} ${c.reason}` : 'no status'}`;
      reasons[k] = (reasons[k] ?? 0) + 1;
    }
    const rc = comps.filter(isReadyNow).length;
    const rr = ress.filter(isReadyNow).length;
    const line = `${rc}/${n} Components, ${rr}/${2 * n} Resources Ready`;
    if (line !== progress) lastProgress = performance.now();
    else if (RESYNC_STALL_S > 0 && performance.now() - lastProgress > RESYNC_STALL_S * 1000) {
      resyncs.push(Number(((performance.now() - t0) / 1000).toFixed(1)));
      log(`N=${n}: no progress for ${RESYNC_STALL_S} s at ${line}: resync tick`);
      p.driver.ping();
      lastProgress = performance.now();
    }
    if (line !== progress) log(`N=${n} +${((performance.now() - t0) / 1000).toFixed(0)} s: ${line}, ${p.driver.deliveries.length} deliveries`);
    progress = line;
    if (rc === n && rr === 2 * n) {
      readyMs = performance.now() - t0;
      break;
    }
    if (performance.now() - t0 > TIMEOUT_MS) break;
    await new Promise((r) => setTimeout(r, 3000));
  }
  // let the status-update echoes drain, so events and requests are the whole cost of the change
  await p.driver.settle(2000, 120_000).catch(() => undefined);
  const settledMs = performance.now() - t0;
  const after = await apiRequestCounts(b.services);
  const api = diffCounts(before, after);
  const rss = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, rssOf(pid)]));
  const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, Number(((cpuSecondsOf(pid) ?? 0) - cpu0[k]!).toFixed(1))]));
  const byStage: Record<string, number> = {};
  for (const d of p.driver.deliveries) byStage[d.stage] = (byStage[d.stage] ?? 0) + 1;
  const result = {
    n,
    registry: REGISTRY === 'zot' ? 'zot v2.1.20 on SeaweedFS S3 (TLS, htpasswd)' : 'docker-registry 2.8 (filesystem)',
    objects: objs.length,
    complete: Number.isFinite(readyMs),
    progress,
    pollErrors,
    resyncTicksAt: resyncs,
    notReadyAtEnd: reasons,
    createSeconds: Number((createdMs / 1000).toFixed(1)),
    readySeconds: Number((readyMs / 1000).toFixed(1)),
    settledSeconds: Number((settledMs / 1000).toFixed(1)),
    sourceEvents: p.driver.sent,
    deliveries: p.driver.deliveries.length,
    deliveriesByStage: byStage,
    retriedDeliveries: p.driver.deliveries.filter((d) => d.attempts > 1).length,
    // why the first attempt of a retried delivery failed, by stage and cause (messages cut to their first words)
    retriedBecause: p.driver.deliveries
      .filter((d) => d.firstFailure !== undefined)
      .reduce<Record<string, number>>((acc, d) => {
        const k = `${d.stage}: ${d.firstFailure!.slice(0, 60)}`;
        acc[k] = (acc[k] ?? 0) + 1;
        return acc;
      }, {}),
    deadLetters: p.driver.deadLetters.length,
    deadLettersByStatus: p.driver.deadLetters.reduce<Record<string, number>>((acc, d) => {
      const k = `${d.stage} ${d.status} ${d.body.slice(0, 80)}`;
      acc[k] = (acc[k] ?? 0) + 1;
      return acc;
    }, {}),
    apiRequests: { total: api.total, benchOwn: own, functionsAndDriver: api.total - own, byVerb: api.byVerb },
    peakRssMiB: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, v ? Math.round(v.peakMiB) : null])),
    cpuSeconds: cpu,
    load: load.stop(),
  };
  await p.stop();
  return result;
}

async function main(): Promise<void> {
  ensureBundles();
  const ctf = await exampleCtf();
  const b = await startBenchServices();
  const results: Array<Awaited<ReturnType<typeof runOne>>> = [];
  try {
    for (const n of COUNTS) {
      const r = await runOne(b, n, ctf);
      results.push(r);
      await writeResult(RESULT_NAME, { date: new Date().toISOString(), machine: machine(), partial: true, results });
      log(`N=${n}: ${JSON.stringify(r)}`);
    }
  } finally {
    await b.stop();
  }
  type R = { n: number; complete: boolean; readySeconds: number; settledSeconds: number; deliveries: number; sourceEvents: number; apiRequests: { functionsAndDriver: number }; peakRssMiB: Record<string, number | null>; cpuSeconds: Record<string, number> };
  const rs = results as unknown as R[];
  const fnPeak = (r: R): number => Math.max(...['descriptor', 'resource', 'configure', 'publish'].map((k) => r.peakRssMiB[k] ?? 0));
  const fnCpu = (r: R): number => ['descriptor', 'resource', 'configure', 'publish'].reduce((a, k) => a + (r.cpuSeconds[k] ?? 0), 0);
  const rows = rs.map((r) => [
    r.n,
    r.complete ? 'yes' : 'NO',
    r.readySeconds,
    r.settledSeconds,
    r.sourceEvents,
    r.deliveries,
    r.apiRequests.functionsAndDriver,
    `${r.peakRssMiB.descriptor}/${r.peakRssMiB.resource}/${r.peakRssMiB.configure}/${r.peakRssMiB.publish}`,
    r.peakRssMiB.apiserver ?? '-',
    r.peakRssMiB.etcd ?? '-',
    Number(fnCpu(r).toFixed(1)),
    r.cpuSeconds.apiserver ?? '-',
  ]);
  let ratios = '';
  if (rs.length >= 2) {
    const [a, z] = [rs[0]!, rs[rs.length - 1]!];
    const f = (x: number, y: number): string => (y / x).toFixed(1);
    ratios = `\ncost growth ${a.n} -> ${z.n} (x${z.n / a.n} objects): wall ${f(a.readySeconds, z.readySeconds)}x, deliveries ${f(a.deliveries, z.deliveries)}x, API requests ${f(a.apiRequests.functionsAndDriver, z.apiRequests.functionsAndDriver)}x, function CPU ${f(fnCpu(a), fnCpu(z))}x, apiserver CPU ${f(a.cpuSeconds.apiserver ?? 1, z.cpuSeconds.apiserver ?? 1)}x, function peak RSS ${f(fnPeak(a), fnPeak(z))}x\n`;
  }
  const out = table(
    ['Components', 'all Ready', 'wall s (all Ready)', 'wall s (events drained)', 'source events', 'deliveries', 'API requests', 'peak RSS MiB desc/res/conf/pub', 'apiserver peak RSS MiB', 'etcd peak RSS MiB', 'function CPU s', 'apiserver CPU s'],
    rows,
  );
  const file = await writeResult(RESULT_NAME, { date: new Date().toISOString(), machine: machine(), results, table: out, ratios });
  process.stdout.write(`${out}\n${ratios}\nresults in ${file}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
