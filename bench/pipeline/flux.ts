/**
 * Flux in the loop, measured (issue 15). Not a timed test: numbers go to bench/README.md.
 *
 * 1. Component applied -> objects applied by kustomize-controller, p50/p95 over --runs runs (plus a warm-up run 0):
 *    the four functions as processes (bundles, signing on, zot with the shipped config as the pipeline's registry),
 *    the real source- and kustomize-controller (tests/infra/flux.ts) in the tenant namespace, Flux reading as the
 *    tenant's zot user. Per run, Resource, Configuration, Publication and a Kustomization (namePrefix r<i>-) are
 *    created first and the event driver is let settle; then the clock starts and the Component is created. Watches
 *    record when the Publication turns Ready (our last stage), when source-controller reports the OCIRepository
 *    Ready (artifact stored, signature verified) and when kustomize-controller's ConfigMap appears.
 * 2. source-controller's reconcile time for our OCIRepository against one made with `flux push artifact` from the
 *    same content (the files of our configured layer), side by side in one run, alternating, --reconciles
 *    fresh objects each (a new object is a full reconcile: pull, verify, store). Measured by the controller itself
 *    (gotk_reconcile_duration_seconds, summed over the object's reconciles until Ready) and as wall time from
 *    create to Ready. Twice: with `verify` (ours signed by publish, Flux's signed by the same key with the same
 *    cosign code) and without.
 *
 *   npx tsx functions/build.ts --outdir bench/.tmp/dist
 *   npx tsx bench/pipeline/flux.ts [--runs 10] [--reconciles 10]
 *
 * The flux CLI is built on first use (bench/pipeline/flux-cli.ts, cached in ~/.cache/ocm-knative/bin).
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, Watch, type V1Secret } from '@kubernetes/client-node';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { PULL_SECRET, pullSecret } from '../../functions/runner/tenant.js';
import { CosignSigner, pushCosignSignature, RegistryClient } from '../../shared/oci/index.js';
import { registryConnector, pushComponentVersion } from '../../shared/ocm/index.js';
import type { KubeObject, OCIRepositoryObject, SnapshotObject } from '../../shared/ports/index.js';
import { installFluxCrds, startFlux } from '../../tests/infra/flux.js';
import { createNamespace } from '../../tests/infra/kube.js';
import { ZOT_TENANT } from '../../tests/infra/zot.js';
import { COMPONENT, componentVersion } from '../../tests/support/components.js';
import { isReadyNow } from '../../tests/support/ready.js';
import { packed } from '../../tests/support/tar.js';
import { MANIFESTS_RULES } from '../../tests/support/podinfo.js';
import { fluxCli } from './flux-cli.js';
import {
  GROUP,
  TMP,
  VERSION,
  arg,
  createObject,
  ensureBundles,
  loadSampler,
  log,
  machine,
  percentile,
  startBenchServices,
  startProcessPipeline,
  table,
  writeResult,
} from './harness.js';

const run = promisify(execFile);
const RUNS = Number(arg('runs', '10'));
const RECONCILES = Number(arg('reconciles', '10'));
const IMAGE = 'ghcr.io/stefanprodan/podinfo:6.1.0';
const CA_SECRET = 'ocm-knative-registry-ca';
const VERIFY_SECRET = 'ocm-knative-cosign-pub';
const SOURCE = { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'ocirepositories' };
const KUSTOMIZE = { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', plural: 'kustomizations' };

type Stats = { n: number; p50: number; p95: number; min: number; max: number; mean: number };
const stats = (xs: number[]): Stats => ({
  n: xs.length,
  p50: percentile(xs, 50),
  p95: percentile(xs, 95),
  min: Math.min(...xs),
  max: Math.max(...xs),
  mean: Math.round(xs.reduce((a, b) => a + b, 0) / xs.length),
});

/** The manifests of the e2e test: a ConfigMap (one value substituted) and a Deployment (image localized). */
function manifests(): Promise<Buffer> {
  return packed([
    { path: 'kustomization.yaml', type: 'file', content: 'resources:\n  - configmap.yaml\n  - deployment.yaml\n' },
    { path: 'configmap.yaml', type: 'file', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  color: blue\n' },
    {
      path: 'deployment.yaml',
      type: 'file',
      content:
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: app}\n' +
        '  template:\n    metadata:\n      labels: {app: app}\n    spec:\n      containers:\n        - name: app\n          image: example.invalid/placeholder:0\n',
    },
  ]);
}

/** Sum and count of gotk_reconcile_duration_seconds per OCIRepository name, from source-controller's /metrics. */
async function reconcileSeconds(metricsUrl: string, namespace: string): Promise<Map<string, { sum: number; count: number }>> {
  const res = await request(metricsUrl);
  const text = await res.body.text();
  const out = new Map<string, { sum: number; count: number }>();
  for (const line of text.split('\n')) {
    const m = /^gotk_reconcile_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (labels.kind !== 'OCIRepository' || labels.namespace !== namespace) continue;
    const e = out.get(labels.name!) ?? { sum: 0, count: 0 };
    e[m[1] as 'sum' | 'count'] = Number(m[3]);
    out.set(labels.name!, e);
  }
  return out;
}

/** First time (performance.now()) something happened, by key; watches fill it. */
class Seen {
  private readonly at = new Map<string, number>();
  mark(key: string): void {
    if (!this.at.has(key)) this.at.set(key, performance.now());
  }
  get(key: string): number | undefined {
    return this.at.get(key);
  }
  async until(keys: string[], timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!keys.every((k) => this.at.has(k))) {
      if (Date.now() > deadline) throw new Error(`${what}: not seen after ${timeoutMs / 1000} s: ${keys.filter((k) => !this.at.has(k)).join(', ')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

async function main(): Promise<void> {
  ensureBundles();
  const flux = await fluxCli(log);
  const b = await startBenchServices();
  const load = loadSampler();
  const result: Record<string, unknown> = { date: new Date().toISOString(), machine: machine(), runs: RUNS, reconciles: RECONCILES };
  const stops: (() => Promise<void>)[] = [];
  try {
    const s = b.services;
    const zot = s.registry.zot;
    const ns = await createNamespace(ZOT_TENANT, { kc: b.kc });
    const core = b.kc.makeApiClient(CoreV1Api);
    const custom = b.kc.makeApiClient(CustomObjectsApi);
    await installFluxCrds(b.kc);

    // the signing key publish uses (SIGNING_KEY_FILE), and the tenant Secrets Flux reads
    const keyPem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const signer = new CosignSigner(keyPem);
    const dir = join(TMP, 'flux');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const keyFile = join(dir, 'cosign.key');
    await writeFile(keyFile, keyPem, { mode: 0o600 });
    const secrets: V1Secret[] = [
      { metadata: { name: CA_SECRET }, type: 'Opaque', stringData: { 'ca.crt': await readFile(zot.caFile, 'utf8') } },
      parseYaml(pullSecret(ns, zot.host, zot.read.username, zot.read.password)) as V1Secret,
      { metadata: { name: VERIFY_SECRET }, type: 'Opaque', stringData: { 'cosign.pub': signer.publicKeyPem } },
    ];
    for (const body of secrets) await core.createNamespacedSecret({ namespace: ns, body });

    const p = await startProcessPipeline(b, ns, {
      registryUrl: zot.url,
      env: {
        REGISTRY_CA_FILE: zot.caFile,
        REGISTRY_USERNAME: zot.push.username,
        REGISTRY_PASSWORD: zot.push.password,
        FLUX_CERT_SECRET: CA_SECRET,
        FLUX_SECRET: PULL_SECRET,
        SIGNING_KEY_FILE: keyFile,
        FLUX_VERIFY_SECRET: VERIFY_SECRET,
      },
    });
    stops.push(() => p.stop());
    const controllers = await startFlux({ namespace: ns, kubeconfig: s.kube.kubeconfig, workDir: s.workDir, controllers: ['source-controller', 'kustomize-controller'], log });
    stops.push(() => controllers.stop());

    // watches: Publication Ready, OCIRepository Ready (current generation), ConfigMaps added
    const seen = new Seen();
    const watches: AbortController[] = [];
    const watch = async (path: string, key: (obj: KubeObject) => string | undefined): Promise<void> => {
      watches.push(
        await new Watch(b.kc).watch(path, {}, (_phase: string, obj: KubeObject) => {
          const k = key(obj);
          if (k) seen.mark(k);
        }, () => undefined),
      );
    };
    await watch(`/apis/${GROUP}/${VERSION}/namespaces/${ns}/publications`, (o) => (isReadyNow(o) ? `pub/${o.metadata.name}` : undefined));
    await watch(`/apis/${SOURCE.group}/${SOURCE.version}/namespaces/${ns}/${SOURCE.plural}`, (o) => (isReadyNow(o) ? `oci/${o.metadata.name}` : undefined));
    await watch(`/api/v1/namespaces/${ns}/configmaps`, (o) => `cm/${o.metadata.name}`);

    const sourceUrl = `http://${s.registry.fs.host}/src-flux-bench`;
    const connector = registryConnector({ insecureHosts: [s.registry.fs.host] });
    await pushComponentVersion(connector.connect, sourceUrl, await componentVersion({ version: '1.0.0', image: { reference: IMAGE }, manifests: await manifests() }));
    await connector.close();
    await createObject(b.api, ns, { kind: 'OCMRepository', metadata: { name: 'source' }, spec: { repositorySpec: { type: 'OCIRegistry', baseUrl: sourceUrl } } });

    // ---------------------------------------------------------------- 1. Component -> objects in the cluster
    const samples: Array<{ run: number; publicationMs: number; sourceMs: number; appliedMs: number }> = [];
    for (let i = 0; i <= RUNS; i++) {
      const n = (base: string): string => `${base}-${i}`;
      await createObject(b.api, ns, { kind: 'Resource', metadata: { name: n('manifests') }, spec: { componentRef: { name: n('app') }, resource: { byReference: { resource: { name: 'manifests' } } } } });
      await createObject(b.api, ns, {
        kind: 'Configuration',
        metadata: { name: n('manifests') },
        spec: {
          target: { kind: 'Resource', name: n('manifests') },
          rules: MANIFESTS_RULES,
        },
      });
      await createObject(b.api, ns, { kind: 'Publication', metadata: { name: n('manifests') }, spec: { source: { kind: 'Configuration', name: n('manifests') } } });
      await custom.createNamespacedCustomObject({
        ...KUSTOMIZE,
        namespace: ns,
        body: {
          apiVersion: `${KUSTOMIZE.group}/${KUSTOMIZE.version}`,
          kind: 'Kustomization',
          metadata: { name: n('manifests') },
          spec: { interval: '10m', sourceRef: { kind: 'OCIRepository', name: n('manifests') }, path: './', prune: true, targetNamespace: ns, namePrefix: `r${i}-` },
        },
      });
      await p.driver.settle(300, 60_000);
      const t0 = performance.now();
      await createObject(b.api, ns, { kind: 'Component', metadata: { name: n('app') }, spec: { repositoryRef: { name: 'source' }, component: COMPONENT, semver: '>=1.0.0' } });
      await seen.until([`pub/${n('manifests')}`, `oci/${n('manifests')}`, `cm/r${i}-app`], 180_000, `run ${i}`);
      const cm = await core.readNamespacedConfigMap({ namespace: ns, name: `r${i}-app` });
      if (cm.data?.color !== 'green') throw new Error(`run ${i}: ConfigMap r${i}-app has color ${cm.data?.color}, not the configured green`);
      const sample = {
        run: i,
        publicationMs: Math.round(seen.get(`pub/${n('manifests')}`)! - t0),
        sourceMs: Math.round(seen.get(`oci/${n('manifests')}`)! - t0),
        appliedMs: Math.round(seen.get(`cm/r${i}-app`)! - t0),
      };
      samples.push(sample);
      log(`run ${i}${i === 0 ? ' (warm-up)' : ''}: applied ${sample.appliedMs} ms (Publication Ready ${sample.publicationMs}, OCIRepository Ready ${sample.sourceMs})`);
    }
    const measured = samples.slice(1);
    result.pipeline = {
      warmup: samples[0],
      publication: stats(measured.map((x) => x.publicationMs)),
      source: stats(measured.map((x) => x.sourceMs)),
      applied: stats(measured.map((x) => x.appliedMs)),
      samples,
    };

    // ---------------------------------------------------------------- 2. our OCIRepository vs flux push artifact
    const ours = (await custom.getNamespacedCustomObject({ ...SOURCE, namespace: ns, name: 'manifests-1' })) as OCIRepositoryObject;
    const snap = (await b.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'snapshots', name: 'configuration-manifests-1' })) as SnapshotObject;
    // the same content: the files of our configured layer, pushed as Flux pushes them
    const client = new RegistryClient({ url: zot.url, caFile: zot.caFile, credentials: zot.push });
    const files = join(dir, 'files');
    await mkdir(files, { recursive: true });
    const chunks: Buffer[] = [];
    for await (const c of await client.repository(snap.spec!.repository).blobs.fetch(snap.spec!.blob)) chunks.push(c as Buffer);
    await writeFile(join(dir, 'layer.tar.gz'), Buffer.concat(chunks));
    await run('tar', ['-xzf', join(dir, 'layer.tar.gz'), '-C', files]);
    const fluxRepo = `${ns}/flux-push/manifests`;
    const pushed = await run(
      flux,
      ['push', 'artifact', `oci://${zot.host}/${fluxRepo}:${snap.spec!.tag}`, '--path', files, '--source', `oci://${zot.host}/${snap.spec!.repository}`, '--revision', `${snap.spec!.tag}@${snap.spec!.digest}`, '--creds', `${zot.push.username}:${zot.push.password}`, '--reproducible', '--output', 'json'],
      { env: { ...process.env, SSL_CERT_FILE: zot.caFile, HOME: dir, KUBECONFIG: s.kube.kubeconfig, NO_PROXY: '127.0.0.1' } },
    );
    const info = JSON.parse(/\{[\s\S]*\}/.exec(`${pushed.stdout}${pushed.stderr}`)![0]) as { digest: string };
    // signed like ours (same key, same code as the publish stage), for the pair with verify
    await pushCosignSignature(client.repository(fluxRepo), `${zot.host}/${fluxRepo}`, info.digest, signer);
    const fluxManifest = JSON.parse((await client.repository(fluxRepo).manifests.fetch(info.digest)).bytes.toString('utf8')) as { layers: { mediaType: string; size: number }[] };
    await client.close();

    const variants = {
      ours: { url: ours.spec!.url, ref: { digest: ours.spec!.ref.digest }, ...(ours.spec!.layerSelector ? { layerSelector: ours.spec!.layerSelector } : {}) },
      'flux push': { url: `oci://${zot.host}/${fluxRepo}`, ref: { digest: info.digest } },
    } as const;
    const common = { interval: '10m', certSecretRef: { name: CA_SECRET }, secretRef: { name: PULL_SECRET } };
    const reconcile: Record<string, { controllerMs: number[]; wallMs: number[]; reconciles: number[] }> = {};
    let seq = 0;
    for (const verify of [true, false]) {
      for (let k = 0; k < RECONCILES; k++) {
        // alternate which goes first, so drift in the machine's load falls on both
        const order = k % 2 === 0 ? (['ours', 'flux push'] as const) : (['flux push', 'ours'] as const);
        for (const which of order) {
          const name = `bench-${which === 'ours' ? 'ours' : 'flux'}-${seq++}`;
          const t0 = performance.now();
          await custom.createNamespacedCustomObject({
            ...SOURCE,
            namespace: ns,
            body: {
              apiVersion: `${SOURCE.group}/${SOURCE.version}`,
              kind: 'OCIRepository',
              metadata: { name },
              spec: { ...common, ...variants[which], ...(verify ? { verify: { provider: 'cosign', secretRef: { name: VERIFY_SECRET } } } : {}) },
            },
          });
          await seen.until([`oci/${name}`], 120_000, name);
          const wall = seen.get(`oci/${name}`)! - t0;
          // the duration is recorded when Reconcile returns, a moment after the status update the watch saw
          let m: { sum: number; count: number } | undefined;
          for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
            m = (await reconcileSeconds(controllers.metricsUrls['source-controller']!, ns)).get(name);
            if (m && m.count >= 2) break;
          }
          const key = `${which}${verify ? ', verify' : ''}`;
          const r = (reconcile[key] ??= { controllerMs: [], wallMs: [], reconciles: [] });
          r.controllerMs.push(Math.round((m?.sum ?? NaN) * 1000));
          r.wallMs.push(Math.round(wall));
          r.reconciles.push(m?.count ?? 0);
          await custom.deleteNamespacedCustomObject({ ...SOURCE, namespace: ns, name });
        }
      }
      log(`reconciles ${verify ? 'with' : 'without'} verify: done`);
    }
    const summary = Object.fromEntries(Object.entries(reconcile).map(([k, v]) => [k, { controller: stats(v.controllerMs), wall: stats(v.wallMs), reconciles: v.reconciles }]));
    result.reconcile = {
      layers: { ours: snap.spec!.blob, fluxPush: fluxManifest.layers },
      summary,
    };
    for (const w of watches) w.abort();

    const pipe = result.pipeline as { publication: Stats; source: Stats; applied: Stats; warmup: { appliedMs: number } };
    const rows: (string | number)[][] = [
      ['Publication Ready (our four stages)', pipe.publication.n, pipe.publication.p50, pipe.publication.p95, pipe.publication.min, pipe.publication.max],
      ['OCIRepository Ready in source-controller', pipe.source.n, pipe.source.p50, pipe.source.p95, pipe.source.min, pipe.source.max],
      ['objects applied by kustomize-controller', pipe.applied.n, pipe.applied.p50, pipe.applied.p95, pipe.applied.min, pipe.applied.max],
    ];
    const t1 = table(['from Component creation to', 'runs', 'p50 ms', 'p95 ms', 'min ms', 'max ms'], rows);
    const ratio = (a: string, c: string, f: 'controller' | 'wall'): string => (summary[a]![f].p50 / summary[c]![f].p50).toFixed(2);
    const rows2: (string | number)[][] = [];
    for (const v of ['ours, verify', 'flux push, verify', 'ours', 'flux push']) {
      const x = summary[v]!;
      rows2.push([v, x.controller.n, x.controller.p50, x.controller.p95, x.wall.p50, x.wall.p95]);
    }
    const t2 = table(['OCIRepository', 'objects', 'controller p50 ms', 'controller p95 ms', 'create->Ready p50 ms', 'create->Ready p95 ms'], rows2);
    const ratios =
      `ratio ours / flux push (p50, controller time): with verify ${ratio('ours, verify', 'flux push, verify', 'controller')}, ` +
      `without ${ratio('ours', 'flux push', 'controller')}; (p50, create->Ready): with verify ${ratio('ours, verify', 'flux push, verify', 'wall')}, without ${ratio('ours', 'flux push', 'wall')}`;
    result.table = `${t1}\n\n${t2}\n\n${ratios}`;
    result.load = load.stop();
    result.machineAfter = machine();
    const file = await writeResult('flux', result);
    process.stdout.write(`${t1}\n\nwarm-up run: ${pipe.warmup.appliedMs} ms\n\n${t2}\n\n${ratios}\nload ${JSON.stringify(result.load)}; results in ${file}\n`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await b.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
