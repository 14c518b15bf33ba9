/**
 * The e2e pipeline through Knative's own eventing: Knative Eventing v0.47.0 as processes
 * (tests/infra/knative/), the shipped `knative/eventing` + `knative/rbac` manifests applied as a user would
 * (`kubectl kustomize` + `kubectl apply`) into a system namespace of this test, and the four functions (the same
 * servers as tests/e2e/stages/env.ts) behind taps that record Knative's deliveries.
 *
 * The test kustomization (see `kustomization()`) changes only what this environment needs:
 * - `namespace:` a fresh system namespace per test file (the API server is shared by the run);
 * - every `serving.knative.dev/v1 Service` ref (subscribers, dead-letter sinks) becomes the URI Knative
 *   Serving would resolve it to, `http://<name>.<namespace>.svc.cluster.local/`; the cluster network routes
 *   that name to the tap in front of the function process (there is no Serving here);
 * - what Knative's absent defaulting webhook would set (WEBHOOK_DEFAULTS): the Broker's class annotation and
 *   `spec.config`, each Trigger's `eventing.knative.dev/broker` label;
 * - the resync Triggers' `source` filter names the PingSource's namespace, which `namespace:` does not rewrite
 *   inside a string: it is set to the test's namespace (a user relocating the manifests must do the same);
 * - the PingSource fires every minute instead of every 5 minutes, so a test sees a tick.
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { parseAllDocuments, stringify } from 'yaml';
import { repoRoot, systemTool } from '../../infra/binaries.js';
import { createNamespace } from '../../infra/kube.js';
import { kubectlApply, startKnativeEventing, WEBHOOK_DEFAULTS, type KnativeEventing } from '../../infra/knative/eventing.js';
import { ClusterNetwork } from '../../infra/knative/network.js';
import { services } from '../../infra/services.js';
import { startPipeline, type Pipeline } from '../stages/env.js';
import { Sink, Tap } from './tap.js';

const run = promisify(execFile);

export const BROKER = 'ocm-knative';
export const STAGES = ['descriptor', 'resource', 'configure', 'publish'] as const;
export type StageName = (typeof STAGES)[number];

interface KubeDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

type JsonPatch = Array<{ op: 'add' | 'replace' | 'remove'; path: string; value?: unknown }>;

/** `ref: serving.knative.dev/v1 Service X` -> what Serving resolves it to (a Knative Service's address URL). */
function servingUri(dest: unknown, namespace: string): string | undefined {
  const ref = (dest as { ref?: { apiVersion?: string; kind?: string; name?: string } } | undefined)?.ref;
  if (ref?.apiVersion !== 'serving.knative.dev/v1' || ref.kind !== 'Service' || !ref.name) return undefined;
  return `http://${ClusterNetwork.fqdn(ref.name, namespace)}/`;
}

/** The JSON patches for one shipped object (see the header). */
function patchesFor(o: KubeDoc, namespace: string): JsonPatch {
  const ops: JsonPatch = [];
  const spec = o.spec ?? {};
  const delivery = spec.delivery as { deadLetterSink?: unknown } | undefined;
  const dls = servingUri(delivery?.deadLetterSink, namespace);
  if (dls) ops.push({ op: 'replace', path: '/spec/delivery/deadLetterSink', value: { uri: dls } });
  if (o.kind === 'Broker') {
    ops.push({ op: 'add', path: '/metadata/annotations', value: { ...(o.metadata.annotations ?? {}), ...WEBHOOK_DEFAULTS.brokerClassAnnotation } });
    if (!spec.config) ops.push({ op: 'add', path: '/spec/config', value: WEBHOOK_DEFAULTS.brokerConfig });
  }
  if (o.kind === 'Trigger') {
    const sub = servingUri(spec.subscriber, namespace);
    if (sub) ops.push({ op: 'replace', path: '/spec/subscriber', value: { uri: sub } });
    ops.push({ op: 'add', path: '/metadata/labels', value: { ...(o.metadata.labels ?? {}), [WEBHOOK_DEFAULTS.triggerBrokerLabel]: spec.broker } });
    const attrs = (spec.filter as { attributes?: Record<string, string> } | undefined)?.attributes;
    const source = attrs?.source;
    if (source?.includes('/pingsources/')) {
      ops.push({ op: 'replace', path: '/spec/filter/attributes/source', value: source.replace(/\/namespaces\/[^/]+\//, `/namespaces/${namespace}/`) });
    }
  }
  if (o.kind === 'PingSource') ops.push({ op: 'replace', path: '/spec/schedule', value: '* * * * *' });
  return ops;
}

/** The test kustomization over the shipped manifests (written to `dir`); returns the rendered YAML. */
export async function kustomization(dir: string, namespace: string, extra: KubeDoc[] = []): Promise<string> {
  mkdirSync(dir, { recursive: true });
  // kustomize takes only relative paths to other kustomizations
  const bases = ['knative/eventing', 'knative/rbac'].map((b) => relative(dir, join(repoRoot, b)));
  const kubectl = systemTool('kubectl');
  const shipped = (await run(kubectl, ['kustomize', join(repoRoot, 'knative', 'eventing')], { maxBuffer: 16 << 20 })).stdout;
  const patches = parseAllDocuments(shipped)
    .map((d) => d.toJS() as KubeDoc)
    .flatMap((o) => {
      const ops = patchesFor(o, namespace);
      return ops.length ? [{ target: { group: o.apiVersion.split('/')[0], kind: o.kind, name: o.metadata.name }, patch: stringify(ops) }] : [];
    });
  if (extra.length) writeFileSync(join(dir, 'extra.yaml'), extra.map((e) => stringify(e)).join('---\n'));
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      namespace,
      resources: [...bases, ...(extra.length ? ['extra.yaml'] : [])],
      patches,
    }),
  );
  return (await run(kubectl, ['kustomize', dir], { maxBuffer: 16 << 20 })).stdout;
}

export interface KnativeRig {
  knative: KnativeEventing;
  /** functions, tenant namespace (`p.namespace`), object helpers */
  p: Pipeline;
  /** where the shipped manifests are installed */
  system: string;
  taps: Record<StageName, Tap>;
  deadLetter: Sink;
  /** sinks behind test-only Triggers, by name */
  sinks: Record<string, Sink>;
  /** the objects applied (rendered kustomization) */
  applied: KubeDoc[];
  /** Posts a CloudEvent (binary mode) to the Broker's ingress, as a source in the cluster would. */
  publish(headers: Record<string, string>, body: string): Promise<number>;
  /** Every event-carrying object of the system namespace with its Ready condition. */
  readiness(): Promise<Array<{ kind: string; name: string; ready?: string; reason?: string; message?: string }>>;
  stop(): Promise<void>;
}

export interface KnativeRigOptions {
  /** test-only Triggers: name -> filters (a Sink of that name receives what they match) */
  sinkTriggers?: Record<string, Array<Record<string, unknown>>>;
}

const GROUPS: Record<string, { group: string; version: string; plural: string }> = {
  Broker: { group: 'eventing.knative.dev', version: 'v1', plural: 'brokers' },
  Trigger: { group: 'eventing.knative.dev', version: 'v1', plural: 'triggers' },
  PingSource: { group: 'sources.knative.dev', version: 'v1', plural: 'pingsources' },
  ApiServerSource: { group: 'sources.knative.dev', version: 'v1', plural: 'apiserversources' },
};

export async function startKnativeRig(opts: KnativeRigOptions = {}): Promise<KnativeRig> {
  const s = services();
  const log = (line: string): void => {
    if (process.env.E2E_LOG_LEVEL) process.stderr.write(`[knative] ${line}\n`);
  };
  const knative = await startKnativeEventing({ kube: s.kube, workDir: s.workDir, log });
  const cleanups: Array<() => Promise<unknown>> = [() => knative.stop()];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch((e) => log(`cleanup: ${String(e)}`));
  };
  try {
    const p = await startPipeline({ source: 'external' });
    cleanups.push(() => p.stop());
    const core = p.kc.makeApiClient(CoreV1Api);
    const api = p.kc.makeApiClient(CustomObjectsApi);
    // the tenant namespace: the shipped ApiServerSource selects namespaces by this label
    await core.patchNamespace(
      { name: p.namespace, body: { metadata: { labels: { 'serverless.ocm.software/enabled': 'true' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const system = await createNamespace(`oks-${p.namespace.slice(2)}`);

    const taps = {} as Record<StageName, Tap>;
    for (const stage of STAGES) {
      const tap = new Tap(stage, p.servers[stage]!.url);
      taps[stage] = tap;
      cleanups.push(() => tap.close());
      await knative.net.exposeHost(ClusterNetwork.fqdn(stage, system), await tap.listen());
    }
    const deadLetter = new Sink('dead-letter');
    cleanups.push(() => deadLetter.close());
    await knative.net.exposeHost(ClusterNetwork.fqdn('dead-letter', system), await deadLetter.listen());
    const sinks: Record<string, Sink> = {};
    const extra: KubeDoc[] = [];
    for (const [name, filters] of Object.entries(opts.sinkTriggers ?? {})) {
      const sink = new Sink(name);
      sinks[name] = sink;
      cleanups.push(() => sink.close());
      const uri = await knative.net.exposeHost(ClusterNetwork.fqdn(name, system), await sink.listen());
      extra.push({
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Trigger',
        metadata: { name, labels: { [WEBHOOK_DEFAULTS.triggerBrokerLabel]: BROKER } },
        spec: { broker: BROKER, filters, subscriber: { uri } },
      });
    }

    const dir = join(s.workDir, `kustomize-${system}`);
    const yaml = await kustomization(dir, system, extra);
    const applied = parseAllDocuments(yaml).map((d) => d.toJS() as KubeDoc);
    // delete our eventing objects before Knative stops (its reconcilers hold finalizers), and the adapter
    // Deployments Knative made for them (no garbage collector here), so the next file's Knative starts clean
    cleanups.splice(1, 0, async () => {
      for (const kind of ['ApiServerSource', 'PingSource', 'Trigger', 'Broker']) {
        await run(systemTool('kubectl'), ['--kubeconfig', s.kube.kubeconfig, '-n', system, 'delete', kind.toLowerCase() + 's.' + GROUPS[kind]!.group, '--all', '--timeout=30s']).catch(() => undefined);
      }
      await run(systemTool('kubectl'), ['--kubeconfig', s.kube.kubeconfig, '-n', system, 'delete', 'deployments', '--all', '--timeout=30s']).catch(() => undefined);
    });
    await kubectlApply(s.kube, yaml, join(dir, 'rendered.yaml'));

    const readiness: KnativeRig['readiness'] = async () => {
      const out: Awaited<ReturnType<KnativeRig['readiness']>> = [];
      for (const [kind, g] of Object.entries(GROUPS)) {
        const list = (await api.listNamespacedCustomObject({ ...g, namespace: system })) as { items: KubeDoc[] };
        for (const o of list.items) {
          const c = o.status?.conditions?.find((x) => x.type === 'Ready');
          out.push({ kind, name: o.metadata.name, ready: c?.status, reason: c?.reason, message: c?.message });
        }
      }
      return out;
    };
    const expected = applied.filter((o) => GROUPS[o.kind]).length;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const r = await readiness();
      if (r.length === expected && r.every((x) => x.ready === 'True')) break;
      if (Date.now() > deadline) {
        throw new Error(`Knative objects not Ready after 120 s: ${JSON.stringify(r.filter((x) => x.ready !== 'True'))}`);
      }
      await new Promise((res) => setTimeout(res, 250));
    }

    const ingress = new Agent({ connect: { socketPath: knative.ingressSocket() } });
    cleanups.push(() => ingress.close());
    const rig: KnativeRig = {
      knative,
      p,
      system,
      taps,
      deadLetter,
      sinks,
      applied,
      readiness,
      async publish(headers, body) {
        const res = await request(knative.brokerUrl(system, BROKER), { method: 'POST', headers, body, dispatcher: ingress });
        await res.body.dump();
        return res.statusCode;
      },
      stop,
    };
    await waitForAdapter(rig);
    return rig;
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The ApiServerSource adapter sends nothing for what exists before its watches are up (and Ready only says its
 * Deployment is available): touch a probe object until the descriptor sees an event for it.
 */
async function waitForAdapter(rig: KnativeRig): Promise<void> {
  const { p } = rig;
  await p.create('OCMRepository', 'probe', { repositorySpec: { type: 'OCIRegistry', baseUrl: p.sourceBaseUrl } });
  const deadline = Date.now() + 90_000;
  for (let i = 0; ; i++) {
    if (rig.taps.descriptor.deliveries.some((d) => d.kind === 'OCMRepository' && d.subject?.endsWith('/probe'))) break;
    if (Date.now() > deadline) throw new Error('no event from the ApiServerSource adapter within 90 s');
    await p.api.patchNamespacedCustomObject(
      { group: 'serverless.ocm.software', version: 'v1alpha1', namespace: p.namespace, plural: 'ocmrepositories', name: 'probe', body: { metadata: { labels: { probe: String(i) } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await new Promise((r) => setTimeout(r, 500));
  }
  await p.del('OCMRepository', 'probe');
}

/** Waits until `check` holds, polling. */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
