/**
 * Scenario 1 (issue 6): a Helm chart as localBlob, Component -> Resource -> Configuration (values substitution +
 * image localization) -> Publication -> Flux OCIRepository pointing at a manifest whose layer is a valid chart.
 * Eventing is EventingDriver (Knative's data plane cannot run here); everything else is real.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OCIRepositoryObject, SnapshotObject } from '../../../shared/ports/index.js';
import { services } from '../../infra/services.js';
import { componentVersion, COMPONENT } from '../../support/components.js';
import { PODINFO_CHART_RULES } from '../../support/podinfo.js';
import { isReadyNow, ready } from '../../support/ready.js';
import { waitFor } from '../../support/wait.js';
import { startPipeline, type Pipeline } from './env.js';
import { startReceiveAdapter, type ReceiveAdapter } from '../../infra/receive-adapter.js';

const run = promisify(execFile);

describe('e2e scenario 1: Helm chart localBlob to a Flux OCIRepository', () => {
  let p: Pipeline;
  let adapter: ReceiveAdapter | undefined;
  /** Knative's real receive adapter when the harness could build it, else our watch-based stand-in */
  const source = (): string => (adapter ? 'apiserver_receive_adapter (knative.dev/eventing)' : 'EventingDriver watch (stand-in)');

  beforeAll(async () => {
    const bin = services().bin.apiserverReceiveAdapter;
    p = await startPipeline({ source: bin ? 'external' : 'driver-watch' });
    if (bin) {
      const sink = await p.driver.listen();
      adapter = startReceiveAdapter(bin, p.namespace, sink);
      // ApiServerSource sends nothing for objects that exist when it starts: wait until its watches are up
      await p.create('OCMRepository', 'probe', { repositorySpec: { type: 'OCIRegistry', baseUrl: p.sourceBaseUrl } });
      let i = 0;
      await waitFor(
        `the receive adapter's first event (log: ${adapter.logFile})`,
        async () => {
          if (adapter!.process.exitCode !== null) throw new Error(`receive adapter exited with ${adapter!.process.exitCode}`);
          if (p.driver.received.length > 0) return true;
          await p.api.patchNamespacedCustomObject(
            { group: 'serverless.ocm.software', version: 'v1alpha1', namespace: p.namespace, plural: 'ocmrepositories', name: 'probe', body: { metadata: { labels: { probe: String(i++) } } } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
          await new Promise((r) => setTimeout(r, 200));
          return undefined;
        },
        60_000,
      );
    }
  });
  afterAll(async () => {
    await adapter?.stop();
    await p?.stop();
  });

  it('publishes a configured, localized chart pinned by digest; tag = chart version', async () => {
    const s = services();
    await p.pushSource(await componentVersion({ version: '1.0.0', image: { reference: 'ghcr.io/stefanprodan/podinfo:6.1.0' } }));
    await p.create('OCMRepository', 'source', { repositorySpec: { type: 'OCIRegistry', baseUrl: p.sourceBaseUrl } });
    await p.create('Resource', 'chart', { componentRef: { name: 'podinfo' }, resource: { byReference: { resource: { name: 'chart' } } } });
    await p.create('Configuration', 'chart', {
      target: { kind: 'Resource', name: 'chart' },
      rules: PODINFO_CHART_RULES,
    });
    await p.create('Publication', 'chart', { source: { kind: 'Configuration', name: 'chart' } });

    const t0 = performance.now();
    await p.create('Component', 'podinfo', { repositoryRef: { name: 'source' }, component: COMPONENT, semver: '>=1.0.0' });
    const ociRepo = await waitFor('the OCIRepository', async () => {
      const pub = await p.get('Publication', 'chart');
      if (!isReadyNow(pub)) return undefined;
      return (await p.getOCIRepository('chart')) as OCIRepositoryObject | undefined;
    });
    const wallMs = performance.now() - t0;
    console.log(`scenario 1 wall time, Component creation -> OCIRepository: ${wallMs.toFixed(0)} ms (event source: ${source()})`);

    const cfgSnap = (await p.get('Snapshot', 'configuration-chart')) as SnapshotObject;
    expect(isReadyNow(cfgSnap)).toBe(true);
    // the literals below on purpose: they assert the wire values Helm and Flux read, not our constants
    expect(cfgSnap.spec).toMatchObject({
      repository: `${p.namespace}/configuration/chart`,
      tag: '1.0.0',
      blob: { mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip' },
    });
    expect(ociRepo.spec).toMatchObject({
      url: `oci://${p.registry.host}/${p.namespace}/configuration/chart`,
      ref: { digest: cfgSnap.spec!.digest },
      layerSelector: { mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', operation: 'copy' },
    });
    // zot speaks TLS: Flux must not be told to skip it
    expect(ociRepo.spec).not.toHaveProperty('insecure');
    expect(ociRepo.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Publication', name: 'chart', controller: true });
    for (const [kind, name] of [
      ['OCMRepository', 'source'],
      ['Component', 'podinfo'],
      ['Resource', 'chart'],
      ['Configuration', 'chart'],
    ] as const) {
      expect(ready(await p.get(kind, name)), `${kind} ${name}`).toMatchObject({ status: 'True', reason: 'Succeeded' });
    }

    // a peer reads what we wrote: the manifest by tag = chart version has Helm media types
    const ref = `${p.registry.host}/${p.namespace}/configuration/chart`;
    const env = p.registry.toolEnv;
    const { stdout: manifestJson } = await run(s.bin.crane, ['manifest', `${ref}:1.0.0`], { env });
    const manifest = JSON.parse(manifestJson) as { config: { mediaType: string }; layers: Array<{ mediaType: string }> };
    // literal on purpose: the wire value crane shows a Helm client
    expect(manifest.config.mediaType).toBe('application/vnd.cncf.helm.config.v1+json');
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0]!.mediaType).toBe('application/vnd.cncf.helm.chart.content.v1.tar+gzip');
    const { stdout: digest } = await run(s.bin.crane, ['digest', `${ref}:1.0.0`], { env });
    expect(digest.trim()).toBe(cfgSnap.spec!.digest);

    // the layer is a valid chart with the configured values
    const dir = await mkdtemp(join(tmpdir(), 'e2e-chart-'));
    try {
      if (s.bin.helm) {
        await run(s.bin.helm, ['pull', `oci://${ref}`, '--version', '1.0.0', '--ca-file', p.registry.caFile, '--untar', '--destination', dir], { env });
        const values = await readFile(join(dir, 'podinfo', 'values.yaml'), 'utf8');
        expect(values).toContain('replicaCount: 3');
        expect(values).toContain('repository: ghcr.io/stefanprodan/podinfo');
        const { stdout } = await run(s.bin.helm, ['template', 'rel', join(dir, 'podinfo')]);
        expect(stdout).toContain('replicas: 3');
      } else {
        const layer = await p.deps.store.fetchLayer(cfgSnap.spec!.repository, cfgSnap.spec!.digest);
        try {
          const { stdout } = await run('tar', ['-xzOf', layer.path, 'podinfo/values.yaml']);
          expect(stdout).toContain('replicaCount: 3');
          expect(stdout).toContain('repository: ghcr.io/stefanprodan/podinfo');
        } finally {
          await layer.dispose();
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await p.driver.settle();
    const byStage = new Map<string, { n: number; ms: number; max: number }>();
    for (const d of p.driver.deliveries) {
      const e = byStage.get(d.stage) ?? { n: 0, ms: 0, max: 0 };
      byStage.set(d.stage, { n: e.n + 1, ms: e.ms + d.ms, max: Math.max(e.max, d.ms) });
    }
    console.log(
      `scenario 1 deliveries: ${[...byStage].map(([st, e]) => `${st} ${e.n} (sum ${e.ms} ms, max ${e.max} ms)`).join('; ')}; source events ${p.driver.sent}`,
    );
    if (adapter) {
      // the events our functions parsed were the real adapter's
      expect(p.driver.received.length).toBeGreaterThan(0);
      expect(p.driver.received.every((e) => e.type.startsWith('dev.knative.apiserver.resource.'))).toBe(true);
      expect(p.driver.received.some((e) => e['kind'] === 'Snapshot')).toBe(true);
    }
    // replies for external subscribers: the configure stage announced the configured snapshot
    type ReplyData = { object?: { kind?: string }; snapshot?: { digest?: string } };
    const readyReply = p.driver.replies.find(
      (e) => e.type === 'software.ocm.serverless.snapshot.ready' && (e.data as ReplyData).object?.kind === 'Configuration',
    );
    expect((readyReply?.data as ReplyData | undefined)?.snapshot?.digest).toBe(cfgSnap.spec!.digest);
    expect(p.driver.deadLetters.map((d) => `${d.stage} ${d.event.type} ${d.status} ${d.body}`)).toEqual([]);
  });
});
