/**
 * The e2e pipeline through Knative's own eventing: Knative Eventing v0.47.0 as processes
 * (tests/infra/knative/eventing.ts), the shipped `knative/eventing` + `knative/rbac` manifests installed as a user
 * would (tests/infra/knative/ocm-install.ts: what its kustomization changes and why) into a system namespace of
 * this test, and the four functions (the same servers as tests/e2e/stages/env.ts) behind taps that record
 * Knative's deliveries. The Knative Service names the Triggers refer to (descriptor, ..., dead-letter) are routed
 * to the taps and sinks by the cluster network.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { createNamespace } from '../../infra/kube.js';
import { startKnativeEventing, type KnativeEventing } from '../../infra/knative/eventing.js';
import { ClusterNetwork } from '../../infra/knative/network.js';
import { BROKER, installOcmEventing, sinkTrigger, type KubeDoc, type OcmInstall } from '../../infra/knative/ocm-install.js';
import { services } from '../../infra/services.js';
import { startPipeline, type Pipeline } from '../stages/env.js';
import { Sink, Tap } from './tap.js';

export { BROKER };
export const STAGES = ['descriptor', 'resource', 'configure', 'publish'] as const;
export type StageName = (typeof STAGES)[number];

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
  install: OcmInstall;
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

export async function startKnativeRig(opts: KnativeRigOptions = {}): Promise<KnativeRig> {
  const s = services();
  const log = (line: string): void => {
    if (process.env.KNATIVE_LOG === '1') process.stderr.write(`[knative] ${line}\n`);
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
      extra.push(sinkTrigger(name, filters, uri));
    }

    const install = await installOcmEventing({ kube: s.kube, namespace: system, dir: join(s.workDir, `kustomize-${system}`), extra });
    // before Knative stops (cleanups run in reverse)
    cleanups.splice(1, 0, () => install.uninstall());

    const ingress = new Agent({ connect: { socketPath: knative.ingressSocket() } });
    cleanups.push(() => ingress.close());
    const rig: KnativeRig = {
      knative,
      p,
      system,
      taps,
      deadLetter,
      sinks,
      applied: install.applied,
      install,
      readiness: () => install.readiness(),
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
