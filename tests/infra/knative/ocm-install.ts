/**
 * Installs the shipped `knative/eventing` + `knative/rbac` manifests as a user would (`kubectl kustomize` +
 * `kubectl apply`) into a system namespace, against Knative Eventing run by eventing.ts, and waits until
 * Knative's own status says every Broker, Trigger and source is Ready. Used by the e2e rig and the benchmark.
 *
 * The kustomization (see `kustomization()`) changes only what this environment needs:
 * - `namespace:` a fresh system namespace per install (the API server is shared by a test run);
 * - every `serving.knative.dev/v1 Service` ref (subscribers, dead-letter sinks) becomes the URI Knative
 *   Serving would resolve it to, `http://<name>.<namespace>.svc.cluster.local/` (a Knative Service's address);
 *   the caller routes those names to the function processes (`net.exposeHost`); there is no Serving here;
 * - what Knative's absent defaulting webhook would set (WEBHOOK_DEFAULTS): the Broker's class annotation and
 *   `spec.config`, each Trigger's `eventing.knative.dev/broker` label;
 * - the PingSource fires every minute instead of every 5 minutes, so a test sees a tick in reasonable time.
 */
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { repoRoot, systemTool } from '../binaries.js';
import type { Services } from '../services.js';
import { kubectlApply, WEBHOOK_DEFAULTS } from './eventing.js';
import { ClusterNetwork } from './network.js';

const run = promisify(execFile);

export const BROKER = 'ocm-knative';

export interface KubeDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

type JsonPatch = Array<{ op: 'add' | 'replace' | 'remove'; path: string; value?: unknown }>;

export const EVENTING_KINDS: Record<string, { group: string; version: string; plural: string }> = {
  Broker: { group: 'eventing.knative.dev', version: 'v1', plural: 'brokers' },
  Trigger: { group: 'eventing.knative.dev', version: 'v1', plural: 'triggers' },
  PingSource: { group: 'sources.knative.dev', version: 'v1', plural: 'pingsources' },
  ApiServerSource: { group: 'sources.knative.dev', version: 'v1', plural: 'apiserversources' },
};

/** `ref: serving.knative.dev/v1 Service X` -> what Serving resolves it to (a Knative Service's address URL). */
export function servingUri(dest: unknown, namespace: string): string | undefined {
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
  }
  if (o.kind === 'PingSource') ops.push({ op: 'replace', path: '/spec/schedule', value: '* * * * *' });
  return ops;
}

/** Writes the kustomization over the shipped manifests to `dir` and returns the rendered YAML. */
export async function kustomization(dir: string, namespace: string, extra: KubeDoc[] = []): Promise<string> {
  mkdirSync(dir, { recursive: true });
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
      // kustomize takes only relative paths to other kustomizations
      resources: [...['knative/eventing', 'knative/rbac'].map((b) => relative(dir, join(repoRoot, b))), ...(extra.length ? ['extra.yaml'] : [])],
      patches,
    }),
  );
  return (await run(kubectl, ['kustomize', dir], { maxBuffer: 16 << 20 })).stdout;
}

/** A test-only Trigger on the shipped Broker (e.g. a recorder for replies). */
export function sinkTrigger(name: string, filters: Array<Record<string, unknown>>, uri: string): KubeDoc {
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name, labels: { [WEBHOOK_DEFAULTS.triggerBrokerLabel]: BROKER } },
    spec: { broker: BROKER, filters, subscriber: { uri } },
  };
}

export interface OcmInstall {
  namespace: string;
  applied: KubeDoc[];
  /** every Broker, Trigger and source of the namespace with its Ready condition */
  readiness(): Promise<Array<{ kind: string; name: string; ready?: string; reason?: string; message?: string }>>;
  /**
   * Deletes the eventing objects while Knative still runs (its reconcilers hold finalizers) and the adapter
   * Deployments Knative made for them (there is no garbage collector), so a later Knative starts clean.
   */
  uninstall(): Promise<void>;
}

export async function installOcmEventing(opts: { kube: Services['kube']; namespace: string; dir: string; extra?: KubeDoc[]; timeoutMs?: number }): Promise<OcmInstall> {
  const { kube, namespace } = opts;
  const yaml = await kustomization(opts.dir, namespace, opts.extra);
  const applied = parseAllDocuments(yaml).map((d) => d.toJS() as KubeDoc);
  const kubectl = (...args: string[]) => run(systemTool('kubectl'), ['--kubeconfig', kube.kubeconfig, '-n', namespace, ...args]);
  const install: OcmInstall = {
    namespace,
    applied,
    async readiness() {
      const kc = new KubeConfig();
      kc.loadFromFile(kube.kubeconfig);
      const api = kc.makeApiClient(CustomObjectsApi);
      const out: Awaited<ReturnType<OcmInstall['readiness']>> = [];
      for (const [kind, g] of Object.entries(EVENTING_KINDS)) {
        const list = (await api.listNamespacedCustomObject({ ...g, namespace })) as { items: KubeDoc[] };
        for (const o of list.items) {
          const c = o.status?.conditions?.find((x) => x.type === 'Ready');
          out.push({ kind, name: o.metadata.name, ready: c?.status, reason: c?.reason, message: c?.message });
        }
      }
      return out;
    },
    async uninstall() {
      for (const kind of ['ApiServerSource', 'PingSource', 'Trigger', 'Broker']) {
        const g = EVENTING_KINDS[kind]!;
        await kubectl('delete', `${g.plural}.${g.group}`, '--all', '--timeout=30s').catch(() => undefined);
      }
      await kubectl('delete', 'deployments', '--all', '--timeout=30s').catch(() => undefined);
    },
  };
  await kubectlApply(kube, yaml, join(opts.dir, 'rendered.yaml'));
  const expected = applied.filter((o) => EVENTING_KINDS[o.kind]).length;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await install.readiness();
    if (r.length === expected && r.every((x) => x.ready === 'True')) break;
    if (Date.now() > deadline) {
      await install.uninstall();
      throw new Error(`Knative objects in ${namespace} not Ready after ${timeoutMs} ms: ${JSON.stringify(r.filter((x) => x.ready !== 'True'))}`);
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  return install;
}
