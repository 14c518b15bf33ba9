/** Wires the four stages over MemoryKube + LayoutStore + a CTF, the way the local runner does. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactStoreAdapter, type ArtifactStoreAdapterOptions } from '../../functions/adapters/artifact-store.js';
import { MemoryKube, crdValidation } from '../../functions/adapters/memory-kube.js';
import { ocmSourceAdapter } from '../../functions/adapters/ocm-source.js';
import { createStages } from '../../functions/stages.js';
import { createConfigureEngine } from '../../shared/configure/index.js';
import { writeCtfDirectory, type ComponentVersionInput } from '../../shared/ocm/index.js';
import { API_VERSION, type Hint, type KubeObject, type StageResult } from '../../shared/ports/index.js';
import { DEFAULT_INTERVAL_MS } from '../../shared/stagekit/interval.js';
import { LayoutStore } from '../../shared/snapshot/index.js';
import { InProcessBus, type BusOptions } from '../../functions/runner/bus.js';

export const NS = 'team-a';

/** What each delivery gave: a stage's result, or the error of a failed attempt. */
export interface DeliveryRecord {
  stage: string;
  hint: Hint;
  result?: StageResult;
  error?: string;
}

/** The runner's bus, with what tests add: no backoff, and a delivery that fails for good fails the test. */
type HarnessBusOptions = Pick<BusOptions, 'mode' | 'duplicate' | 'shuffleSeed'>;

export async function harness(busOptions: HarnessBusOptions = {}, opts: { signing?: ArtifactStoreAdapterOptions['signing'] } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'ocmk-stages-'));
  const ctf = join(dir, 'ctf');
  // the CRD schemas (strict: unknown fields are errors) stand in for the API server's validation
  const kube = new MemoryKube({ validate: crdValidation });
  const snapshotStore = new LayoutStore(join(dir, 'registry'));
  const store = artifactStoreAdapter(snapshotStore, {
    publicHost: 'registry.local:5000',
    flux: { insecure: true },
    ...(opts.signing ? { signing: opts.signing } : {}),
  });
  const ocm = ocmSourceAdapter();
  const engine = createConfigureEngine();
  // the stages' clock: tests move it on to let a Component's spec.interval pass before a resync tick, or let it move
  // on every reading (`step`), as a real one does, to show that status written from it settles
  let nowMs = Date.now();
  const clock = {
    step: 0,
    now: (): number => (nowMs += clock.step),
    advance: (ms: number) => void (nowMs += ms),
  };
  const stages = createStages({ kube, store, ocm, engine, now: clock.now });
  const results: DeliveryRecord[] = [];
  const bus = new InProcessBus(stages, {
    ...busOptions,
    backoffMs: 0,
    failFast: true,
    observer: {
      delivered: (d, result) => void results.push({ stage: d.stage.name, hint: d.hint, result }),
      failed: (d, err) => void results.push({ stage: d.stage.name, hint: d.hint, error: String(err) }),
    },
  });
  kube.watch((op, obj) => bus.publishChange(op, obj));
  return {
    dir,
    ctf,
    kube,
    store,
    /** the registry folder (OCI layouts), for tests that change it behind the stages' back */
    layout: snapshotStore,
    bus,
    /** every delivery the bus made, in order */
    results,
    stages,
    clock,
    /** lets the default spec.interval (10m) pass, so the next resync tick asks the repository for versions */
    intervalPassed() {
      clock.advance(DEFAULT_INTERVAL_MS);
    },
    async addVersions(cvs: ComponentVersionInput[]) {
      await writeCtfDirectory(ctf, cvs);
    },
    async apply(kind: string, name: string, spec: Record<string, unknown>) {
      const obj: KubeObject = { apiVersion: API_VERSION, kind, metadata: { name, namespace: NS }, spec };
      return kube.apply(obj);
    },
    async get<T extends KubeObject>(kind: string, name: string) {
      return kube.get<T>({ kind: kind as 'Component', namespace: NS, name });
    },
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
