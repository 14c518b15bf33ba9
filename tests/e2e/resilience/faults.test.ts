/**
 * Faults (issue 9): the functions reach the registry (zot on S3, TLS + htpasswd) and the kube-apiserver only
 * through FaultProxy, which resets connections, answers 503, delays requests and cuts responses short on a
 * seeded fraction of requests.
 * The broker retries like Knative's (10 retries, exponential backoff) and a PingSource tick comes every 3 s.
 * Everything must end Ready, and every Ready Snapshot's manifest and layer must be in the registry (read
 * directly, not through the proxy) with bytes that hash to the recorded digests.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert } from '../../infra/pki.js';
import { services } from '../../infra/services.js';
import type { ChaosBroker } from './broker.js';
import { Cluster, STANDARD_COUNT, STANDARD_KINDS, createStandardPipeline, verifyReadySnapshots } from './cluster.js';
import { FaultProxy, type FaultRates } from './fault-proxy.js';
import { startFunctions, type FunctionProcess } from './functions.js';
import { logDir, standardSource, watchNamespace, zotAccess } from './rig.js';

/** per request; about 1 in 6 requests to each service is hit by something */
const REGISTRY_FAULTS: FaultRates = { reset: 0.04, http503: 0.05, latency: 0.05, truncate: 0.02 };
const API_FAULTS: FaultRates = { reset: 0.04, http503: 0.05, latency: 0.05, truncate: 0.02 };

describe('resilience: faults between the functions and the registry / API server', () => {
  let fns: Record<string, FunctionProcess>;
  let registryProxy: FaultProxy;
  let apiProxy: FaultProxy;
  let broker: ChaosBroker | undefined;
  let ticker: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    const s = services();
    const dir = await logDir('faults');
    const zot = s.registry.zot;
    const reg = new URL(zot.url);
    const cert = await makeCert(dir, 'fault-proxy', s.ca);
    // zot speaks TLS: the proxy terminates it (a cert of the run's CA) so HTTP-level faults reach it too
    registryProxy = await FaultProxy.start({
      target: { host: reg.hostname, port: Number(reg.port) },
      faults: REGISTRY_FAULTS,
      latencyMs: [50, 400],
      truncateAfterBytes: 200,
      seed: 9001,
      tls: { cert: await readFile(cert.certFile), key: await readFile(cert.keyFile), upstreamCa: await readFile(zot.caFile) },
    });
    const api = new URL(s.kube.server);
    apiProxy = await FaultProxy.start({
      target: { host: api.hostname, port: Number(api.port) },
      faults: API_FAULTS,
      latencyMs: [50, 400],
      truncateAfterBytes: 200,
      seed: 4242,
      tls: { cert: await readFile(cert.certFile), key: await readFile(cert.keyFile), upstreamCa: await readFile(s.kube.caFile) },
    });
    const kubeconfig = parse(await readFile(s.kube.kubeconfig, 'utf8')) as { clusters: Array<{ cluster: { server: string } }> };
    for (const c of kubeconfig.clusters) c.cluster.server = apiProxy.url;
    const proxiedKubeconfig = join(dir, 'kubeconfig-via-fault-proxy');
    await writeFile(proxiedKubeconfig, stringify(kubeconfig), { mode: 0o600 });
    fns = await startFunctions(
      {
        KUBECONFIG: proxiedKubeconfig,
        REGISTRY_URL: registryProxy.url,
        REGISTRY_CA_FILE: s.ca.certFile,
        REGISTRY_USERNAME: zot.push.username,
        REGISTRY_PASSWORD: zot.push.password,
        // what Flux and the Snapshots name: the registry itself
        REGISTRY_PUBLIC_HOST: zot.host,
        INSECURE_REGISTRIES: s.registry.fs.host,
      },
      dir,
    );
  });
  afterAll(async () => {
    if (ticker) clearInterval(ticker);
    await broker?.stop();
    await Promise.all(Object.values(fns ?? {}).map((f) => f.stop()));
    await registryProxy?.close();
    await apiProxy?.close();
  });

  it('resets, 503s, latency and cut responses: everything ends Ready, every Ready Snapshot verifies', async () => {
    const s = services();
    const source = await standardSource('faults-src');
    const c = await Cluster.create();
    broker = await watchNamespace(c, fns, { copies: 1, concurrency: 4, holdMs: 0, retries: 10, backoffMs: 200, maxBackoffMs: 5000, seed: 3 });
    // the PingSource resync: what ApiServerSource missed or the broker gave up on is picked up again
    ticker = setInterval(() => broker?.ping(), 3000);
    const t0 = performance.now();
    await createStandardPipeline(c, source);
    await c.waitAllReady(STANDARD_KINDS, STANDARD_COUNT, 150_000);
    const ms = performance.now() - t0;
    clearInterval(ticker);
    ticker = undefined;
    // what is still queued are retries of status echoes; let them through without faults to keep the test short
    const injected = { registry: { ...registryProxy.stats }, api: { ...apiProxy.stats } };
    registryProxy.setFaults({});
    apiProxy.setFaults({});
    await broker.settle(500, 120_000);

    console.log(
      `faults: all Ready in ${ms.toFixed(0)} ms; until then registry proxy ${JSON.stringify(injected.registry)}; api proxy ${JSON.stringify(injected.api)}; ` +
        `deliveries ${broker.delivered.length}, retried attempts ${broker.delivered.reduce((n, d) => n + d.attempts - 1, 0)}, dead ${broker.dead.length}`,
    );
    // the faults really were injected, on both paths
    for (const p of [injected.registry, injected.api]) {
      expect(p.requests).toBeGreaterThan(20);
      expect(p.resets).toBeGreaterThan(0);
      expect(p.http503).toBeGreaterThan(0);
      expect(p.delayed).toBeGreaterThan(0);
    }
    expect(injected.registry.truncated + injected.api.truncated).toBeGreaterThan(0);

    const zot = s.registry.zot;
    const verified = await verifyReadySnapshots(c, await zotAccess(zot));
    expect(verified.problems).toEqual([]);
    expect(verified.checked).toBe(5);
    for (const repo of await c.listOCIRepositories()) {
      expect((repo.spec as { url?: string }).url).toContain(zot.host);
    }
    for (const f of Object.values(fns)) expect(f.running, `${f.stage} still running`).toBe(true);
  });
});
