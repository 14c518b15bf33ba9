/**
 * `ocm-knative run`: the four stage handlers, in process, over the in-process bus, until the pipeline is quiet.
 * Storage is pluggable the same way a function's main wires it: objects in files (default) or a real API server
 * (--kubeconfig); artifacts in OCI layouts under DIR/registry (default) or a real registry (--registry).
 */
import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { createConfigureEngine } from '../../shared/configure/index.js';
import type { KubeObject } from '../../shared/ports/kinds.js';
import { OUR_KINDS } from '../../shared/ports/kinds.js';
import type { KubePort } from '../../shared/ports/kube.js';
import { isTransient } from '../../shared/ports/errors.js';
import type { Stage, StageResult } from '../../shared/ports/stage.js';
import { LayoutStore, RegistryStore } from '../../shared/snapshot/index.js';
import { artifactStoreAdapter } from '../adapters/artifact-store.js';
import { ocmSourceAdapter } from '../adapters/ocm-source.js';
import { createStages } from '../stages.js';
import { InProcessBus, type Delivery } from './bus.js';
import { FileKube } from './file-kube.js';
import { notifyingKube } from './notifying-kube.js';
import type { LoadedManifests } from './manifests.js';

export interface RunOptions {
  out: string;
  /** push artifacts to this registry instead of DIR/registry */
  registry?: string;
  /** PEM CA bundle for an https `registry` */
  registryCaFile?: string;
  /** basic/token auth for `registry` */
  registryCredentials?: { username: string; password: string };
  /** use this API server instead of DIR/objects */
  kubeconfig?: string;
  /** where progress lines go */
  progress?: (line: ProgressLine) => void;
}

export interface ProgressLine {
  stage: string;
  kind: string;
  namespace: string;
  name: string;
  outcome: string;
  reason?: string;
  message?: string;
  ms: number;
}

export interface RunSummary {
  objects: KubeObject[];
  /** true when any stage did work (pushed, patched or deleted something) */
  changed: boolean;
  deliveries: number;
  events: number;
  deadLetters: Array<{ stage: string; object: string; error: string }>;
  registry: string;
}

export async function runPipeline(input: LoadedManifests, opts: RunOptions): Promise<RunSummary> {
  await mkdir(opts.out, { recursive: true });
  const snapshotStore = opts.registry
    ? new RegistryStore({
        url: opts.registry,
        ...(opts.registryCaFile ? { caFile: opts.registryCaFile } : {}),
        ...(opts.registryCredentials ? { credentials: opts.registryCredentials } : {}),
      })
    : new LayoutStore(path.join(opts.out, 'registry'));
  // a plain-HTTP registry needs `insecure: true` on the OCIRepositories: Flux only lets it pass without for loopback
  const store = artifactStoreAdapter(snapshotStore, opts.registry?.startsWith('http:') ? { flux: { insecure: true } } : {});
  const ocm = ocmSourceAdapter();
  const engine = createConfigureEngine();

  let kube: KubePort;
  let listen: (publish: (op: 'add' | 'update' | 'delete', obj: KubeObject) => void) => void;
  let fileKube: FileKube | undefined;
  if (opts.kubeconfig) {
    const { kubePortFromKubeconfig } = await import('./real-kube.js');
    const inner = await kubePortFromKubeconfig(opts.kubeconfig);
    const wrapped = notifyingKube(inner);
    kube = wrapped.kube;
    listen = wrapped.onChange;
  } else {
    fileKube = new FileKube(opts.out);
    await fileKube.load();
    const fk = fileKube;
    kube = fk;
    listen = (publish) => fk.watch(publish);
    for (const s of input.secrets) fk.setSecret(s.namespace, s.name, s.data);
    for (const c of input.configMaps) fk.setConfigMap(c.namespace, c.name, c.data);
  }

  const stages: Stage[] = createStages({ kube, store, ocm, engine });
  let changed = false;
  const bus = new InProcessBus(stages, {
    observer: {
      delivered(d: Delivery, result: StageResult, ms: number) {
        for (const o of result.objects) {
          if (o.outcome === 'applied' || o.outcome === 'deleted') changed = true;
          if (o.outcome === 'unchanged' || o.outcome === 'skipped') continue;
          opts.progress?.({ stage: d.stage.name, ...o, ms });
        }
      },
      failed(d: Delivery, err: unknown, final: boolean) {
        const ref = d.hint.type === 'object' ? d.hint.ref : { kind: 'resync', namespace: '', name: '' };
        opts.progress?.({
          stage: d.stage.name,
          kind: ref.kind,
          namespace: ref.namespace,
          name: ref.name,
          outcome: final ? 'gave up' : 'retrying',
          message: err instanceof Error ? err.message : String(err),
          ms: 0,
        });
      },
    },
  });

  try {
    // Apply the manifests the way `kubectl apply` would; the store's change events become the first CloudEvents.
    listen((op, obj) => bus.publishChange(op, obj));
    for (const obj of input.objects) await withRetry(() => kube.upsert(obj));
    // ApiServerSource starts with a list: every existing object arrives as an `add` (objects an earlier run left
    // behind included), then a resync tick, as the PingSource would send.
    const namespaces = [...new Set(input.objects.map((o) => o.metadata.namespace))];
    const existing = await allOurObjects(kube, namespaces);
    for (const obj of existing) bus.publishChange('add', obj);
    // Scoped to the namespaces we were given: on a shared API server other namespaces are not ours to touch.
    for (const ns of namespaces) bus.resync({ namespace: ns });
    await bus.drain();
    await fileKube?.flush();

    return {
      objects: await allOurObjects(kube, namespaces),
      changed,
      deliveries: bus.deliveries,
      events: bus.published,
      deadLetters: bus.deadLetters.map((dl) => ({
        stage: dl.delivery.stage.name,
        object: dl.delivery.hint.type === 'object' ? `${dl.delivery.hint.ref.kind} ${dl.delivery.hint.ref.namespace}/${dl.delivery.hint.ref.name}` : 'resync',
        error: dl.error,
      })),
      registry: opts.registry ?? path.join(opts.out, 'registry'),
    };
  } finally {
    await store.close();
  }
}

/**
 * Applying the manifests happens outside the bus, so it needs its own retry: an API server answers 503 for a
 * kind whose CRD was installed moments ago ("storage is (re)initializing").
 */
async function withRetry<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isTransient(err)) throw err;
      await sleep(250 * 2 ** (i - 1));
    }
  }
}

async function allOurObjects(kube: KubePort, namespaces: string[]): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const kind of OUR_KINDS) {
    for (const ns of namespaces) out.push(...(await withRetry(() => kube.list(kind, ns))));
  }
  return out;
}
