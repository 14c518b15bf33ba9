/**
 * Duplicates and disorder (issue 9): every event delivered 3 times, copies held a random 0-400 ms so they
 * overtake each other, 8 deliveries in flight at once. The end state (objects, Snapshots, registry tags and
 * digests) must equal that of the same pipeline fed one event at a time, in order, once; no duplicate
 * Snapshots; no error lines in the functions' logs. Knative's data plane cannot run here: the broker is the
 * test's ChaosBroker over real watches of the real API server; the functions are their real mains.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject, SnapshotObject } from '../../../shared/ports/index.js';
import { services } from '../../infra/services.js';
import { ORDERED, type ChaosBroker } from './broker.js';
import { Cluster, STANDARD_COUNT, STANDARD_KINDS, createStandardPipeline, registryContents, verifyReadySnapshots } from './cluster.js';
import { startFunctions, type FunctionProcess } from './functions.js';
import { errorLogs, logDir, standardSource, watchNamespace, zotEnv, zotAccess } from './rig.js';

const INPUT_DIGEST = 'serverless.ocm.software/input-digest';
const CHAOS = { copies: 3, concurrency: 8, holdMs: 400, retries: 10, backoffMs: 100, maxBackoffMs: 2000, seed: 20261129 };

/** What must not depend on delivery: everything but server-assigned identity and clocks; namespace blanked. */
function normalise(objects: KubeObject[], namespace: string): unknown[] {
  const text = JSON.stringify(
    objects.map((o) => {
      const { uid: _u, resourceVersion: _r, creationTimestamp: _c, managedFields: _m, ownerReferences, ...meta } = o.metadata as Record<string, unknown> &
        KubeObject['metadata'];
      const status = structuredClone(o.status ?? {}) as Record<string, unknown> & { conditions?: Array<Record<string, unknown>> };
      for (const c of status.conditions ?? []) delete c['lastTransitionTime'];
      // a clock reading (when the Component's repository was last asked for versions), present in both
      if (typeof status.lastCheckedAt === 'string') status.lastCheckedAt = '<time>';
      // the publish stage's input digest hashes the artifact URL, which names the namespace: blank it there only
      // (the OCIRepository's spec, compared below, carries the URL and the pinned digest in the clear)
      if (o.kind === 'OCIRepository' && meta.annotations?.[INPUT_DIGEST]) meta.annotations = { ...meta.annotations, [INPUT_DIGEST]: '<hash over namespace>' };
      return {
        kind: o.kind,
        metadata: {
          ...meta,
          ownerReferences: (ownerReferences as Array<{ kind: string; name: string; controller?: boolean }> | undefined)?.map((r) => ({
            kind: r.kind,
            name: r.name,
            controller: r.controller,
          })),
        },
        spec: (o as { spec?: unknown }).spec,
        status,
      };
    }),
  );
  return JSON.parse(text.replaceAll(namespace, '<ns>')) as unknown[];
}

interface RunResult {
  objects: unknown[];
  registry: unknown;
  snapshots: SnapshotObject[];
  broker: ChaosBroker;
  ms: number;
}

describe('resilience: duplicate, shuffled, concurrent delivery', () => {
  let fns: Record<string, FunctionProcess>;
  let source: string;
  const brokers: ChaosBroker[] = [];

  beforeAll(async () => {
    const s = services();
    source = await standardSource('dup-src');
    fns = await startFunctions({ KUBECONFIG: s.kube.kubeconfig, ...zotEnv(), INSECURE_REGISTRIES: s.registry.fs.host }, await logDir('duplicates'));
  });
  afterAll(async () => {
    for (const b of brokers) await b.stop();
    await Promise.all(Object.values(fns ?? {}).map((f) => f.stop()));
  });

  async function run(mode: typeof ORDERED): Promise<RunResult> {
    const c = await Cluster.create();
    const broker = await watchNamespace(c, fns, mode);
    brokers.push(broker);
    const t0 = performance.now();
    await createStandardPipeline(c, source);
    await c.waitAllReady(STANDARD_KINDS, STANDARD_COUNT, 150_000);
    await broker.settle(1000, 150_000);
    const ms = performance.now() - t0;
    const snapshots = (await c.list('Snapshot')) as SnapshotObject[];
    const reg = await zotAccess();
    const verified = await verifyReadySnapshots(c, reg);
    expect(verified.problems).toEqual([]);
    expect(verified.checked).toBe(5);
    const contents = await registryContents(reg, snapshots.map((x) => x.spec!.repository));
    return {
      objects: normalise(await c.all(), c.namespace),
      registry: JSON.parse(JSON.stringify(contents).replaceAll(c.namespace, '<ns>')) as unknown,
      snapshots,
      broker,
      ms,
    };
  }

  it('3 copies of every event, shuffled, 8 at once: same objects, snapshots and registry as one ordered delivery', async () => {
    const ordered = await run(ORDERED);
    const chaos = await run(CHAOS);
    console.log(
      `duplicates: ordered run ${ordered.ms.toFixed(0)} ms, ${ordered.broker.published.length} events, ${ordered.broker.delivered.length} deliveries; ` +
        `chaos run ${chaos.ms.toFixed(0)} ms, ${chaos.broker.published.length} events, ${chaos.broker.delivered.length} deliveries, ` +
        `max in flight ${chaos.broker.maxInFlight}, statuses ${JSON.stringify(countBy(chaos.broker.delivered.map((d) => d.status)))}`,
    );
    // the chaos really happened: copies, overlap
    expect(chaos.broker.maxInFlight).toBeGreaterThan(1);
    expect(chaos.broker.delivered.length).toBeGreaterThanOrEqual(3 * chaos.broker.published.length);
    expect(ordered.broker.maxInFlight).toBe(1);

    expect(chaos.objects).toEqual(ordered.objects);
    expect(chaos.registry).toEqual(ordered.registry);
    // one Snapshot per producer, one tag per Snapshot repository
    const owners = chaos.snapshots.map((x) => {
      const refs = (x.metadata.ownerReferences ?? []).filter((r) => r.controller);
      expect(refs).toHaveLength(1);
      return `${refs[0]!.kind}/${refs[0]!.name}`;
    });
    expect(new Set(owners).size).toBe(owners.length);
    for (const tags of Object.values(chaos.registry as Record<string, Record<string, string>>)) expect(Object.keys(tags)).toHaveLength(1);

    for (const b of [ordered.broker, chaos.broker]) expect(b.dead).toEqual([]);
    expect(errorLogs(fns)).toEqual([]);
    for (const f of Object.values(fns)) expect(f.running, `${f.stage} still running`).toBe(true);
  });
});

function countBy(values: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
