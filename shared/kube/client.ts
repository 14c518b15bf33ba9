/** KubeApi on @kubernetes/client-node 1.4 (object-parameter API). */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ConflictError, NotFoundError, toKubeError } from './errors.js';
import { KeepAliveKubeConfig } from './keepalive.js';
import { mergePatch } from './merge-patch.js';
import { describe } from './names.js';
import type { Kind, ApiObject, EventInput, KubeApi, ListOptions, SecretData, StatusMutation } from './api.js';
import { GROUP, VERSION } from './schema/common.js';
import { KINDS, type OurKind } from './schema/kinds/index.js';
import type { SchemaObject, ObjectOfKind } from './types.js';

interface Gvr {
  group: string;
  version: string;
  plural: string;
}

export const FLUX_SOURCE_GROUP = 'source.toolkit.fluxcd.io';

export function gvrOf(kind: Kind): Gvr {
  if (kind === 'OCIRepository') return { group: FLUX_SOURCE_GROUP, version: 'v1', plural: 'ocirepositories' };
  return { group: GROUP, version: VERSION, plural: KINDS[kind].plural };
}

export interface KubeClientOptions {
  /** field manager for server-side apply and patches, one per stage, e.g. "ocm-knative-descriptor" */
  fieldManager: string;
  /** events' reportingController; defaults to serverless.ocm.software/<fieldManager> */
  reportingController?: string;
  /** attempts of a guarded status/finalizer update before giving up on conflicts */
  maxConflictRetries?: number;
}

export interface LoadOptions {
  /** path of a kubeconfig file; otherwise $KUBECONFIG, ~/.kube/config, then the in-cluster service account */
  kubeconfig?: string;
  context?: string;
  /**
   * use the in-cluster service account (KUBERNETES_SERVICE_HOST/PORT and the mounted token + CA) even if
   * a kubeconfig exists; pathPrefix is prepended to /var/run/secrets/kubernetes.io/serviceaccount (tests)
   */
  inCluster?: { pathPrefix?: string };
}

/** Kubeconfig file or in-cluster config, as kubectl would find it. */
export function loadKubeConfig(opts: LoadOptions = {}): KubeConfig {
  const kc = new KeepAliveKubeConfig();
  if (opts.kubeconfig !== undefined) kc.loadFromFile(opts.kubeconfig);
  else if (opts.inCluster !== undefined) {
    if (process.env['KUBERNETES_SERVICE_HOST'] === undefined) throw new Error('not running in a cluster: KUBERNETES_SERVICE_HOST is not set');
    kc.loadFromCluster(opts.inCluster.pathPrefix);
  } else kc.loadFromDefault();
  if (opts.context !== undefined) kc.setCurrentContext(opts.context);
  if (kc.getCurrentCluster() === null) throw new Error('no Kubernetes cluster configured: pass a kubeconfig, set $KUBECONFIG, or run in a cluster');
  return kc;
}

const mergePatchHeader = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const applyHeader = () => setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

export class KubeClient implements KubeApi {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  private readonly fieldManager: string;
  private readonly controller: string;
  private readonly maxRetries: number;
  /** guarded writes that hit a 409 and were retried with a fresh read (for metrics and tests) */
  conflictRetries = 0;

  constructor(
    readonly kubeConfig: KubeConfig,
    opts: KubeClientOptions,
  ) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.fieldManager = opts.fieldManager;
    this.controller = opts.reportingController ?? `${GROUP}/${opts.fieldManager}`;
    this.maxRetries = opts.maxConflictRetries ?? 10;
  }

  private async call<T>(what: string, fn: () => Promise<unknown>): Promise<T> {
    try {
      return (await fn()) as T;
    } catch (e) {
      throw toKubeError(e, what);
    }
  }

  /** throws NotFoundError */
  private async get<K extends Kind>(kind: K, namespace: string, name: string): Promise<ApiObject<K>> {
    return this.call(describe(kind, namespace, name), () => this.custom.getNamespacedCustomObject({ ...gvrOf(kind), namespace, name }));
  }

  async find<K extends Kind>(kind: K, namespace: string, name: string): Promise<ApiObject<K> | undefined> {
    try {
      return await this.get(kind, namespace, name);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  async list<K extends Kind>(kind: K, namespace: string | undefined, opts: ListOptions = {}): Promise<ApiObject<K>[]> {
    const gvr = gvrOf(kind);
    const res = await this.call<{ items: ApiObject<K>[] }>(describe(`${kind} list`, namespace, '*'), () =>
      namespace === undefined
        ? this.custom.listCustomObjectForAllNamespaces({ ...gvr, labelSelector: opts.labelSelector })
        : this.custom.listNamespacedCustomObject({ ...gvr, namespace, labelSelector: opts.labelSelector }),
    );
    return res.items;
  }

  async apply<K extends Kind>(obj: ApiObject<K>): Promise<ApiObject<K>> {
    const { namespace, name } = this.key(obj);
    const { status: _ignored, ...body } = obj as SchemaObject;
    const metadata = { ...body.metadata };
    delete metadata.resourceVersion;
    delete metadata.managedFields;
    return this.call(describe(obj.kind, namespace, name), () =>
      this.custom.patchNamespacedCustomObject(
        { ...gvrOf(obj.kind as K), namespace, name, body: { ...body, metadata }, fieldManager: this.fieldManager, force: true },
        applyHeader(),
      ),
    );
  }

  async delete(kind: Kind, namespace: string, name: string, opts: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' } = {}): Promise<boolean> {
    try {
      await this.call(describe(kind, namespace, name), () =>
        this.custom.deleteNamespacedCustomObject({ ...gvrOf(kind), namespace, name, propagationPolicy: opts.propagationPolicy }),
      );
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }

  /** Runs a read-modify-write step until it succeeds without a conflict. */
  private async guarded<T>(step: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (e) {
        if (!(e instanceof ConflictError) || attempt >= this.maxRetries) throw e;
        this.conflictRetries++;
        // jittered backoff so two writers that collided do not collide again in lockstep
        await sleep(Math.min(500, 5 * 2 ** attempt) * (0.5 + Math.random()));
      }
    }
  }

  async updateStatus<K extends OurKind>(kind: K, namespace: string, name: string, mutate: StatusMutation<K>): Promise<ObjectOfKind<K>> {
    const what = describe(kind, namespace, name);
    return this.guarded(async () => {
      const current = (await this.get(kind, namespace, name)) as ObjectOfKind<K>;
      const next = mutate(current);
      if (next === undefined || isDeepStrictEqual(next, current.status)) return current;
      const body = { metadata: { resourceVersion: current.metadata.resourceVersion }, status: mergePatch(current.status ?? {}, next) };
      return this.call<ObjectOfKind<K>>(what, () =>
        this.custom.patchNamespacedCustomObjectStatus({ ...gvrOf(kind), namespace, name, body, fieldManager: this.fieldManager }, mergePatchHeader()),
      );
    });
  }

  removeFinalizer(kind: Kind, namespace: string, name: string, finalizer: string): Promise<boolean> {
    const what = describe(kind, namespace, name);
    return this.guarded(async () => {
      const current = (await this.get(kind, namespace, name)) as SchemaObject;
      const before = current.metadata.finalizers ?? [];
      const after = before.filter((x) => x !== finalizer);
      if (after.length === before.length) return false;
      const body = { metadata: { resourceVersion: current.metadata.resourceVersion, finalizers: after } };
      await this.call(what, () => this.custom.patchNamespacedCustomObject({ ...gvrOf(kind), namespace, name, body, fieldManager: this.fieldManager }, mergePatchHeader()));
      return true;
    });
  }

  async recordEvent(regarding: SchemaObject, event: EventInput): Promise<void> {
    const { namespace, name } = this.key(regarding);
    const now = new Date().toISOString().replace(/Z$/, '000Z'); // MicroTime needs 6 fractional digits
    const note = Buffer.byteLength(event.note) > 1024 ? `${Buffer.from(event.note).subarray(0, 1000).toString('utf8')}...` : event.note;
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      // client-go style: <object>.<hex time><random>; generateName would end in '.' and be rejected
      metadata: { name: `${name.slice(0, 200)}.${Date.now().toString(16)}${randomBytes(4).toString('hex')}`, namespace },
      eventTime: now,
      reportingController: this.controller.slice(0, 128),
      reportingInstance: `${this.fieldManager}-${hostname()}`.slice(0, 128),
      action: event.action.slice(0, 128),
      reason: event.reason.slice(0, 128),
      note,
      type: event.type,
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name,
        namespace,
        uid: regarding.metadata.uid,
        resourceVersion: regarding.metadata.resourceVersion,
      },
    };
    await this.call(`Event for ${describe(regarding.kind, namespace, name)}`, () =>
      this.custom.createNamespacedCustomObject({ group: 'events.k8s.io', version: 'v1', plural: 'events', namespace, body }),
    );
  }

  async getSecret(namespace: string, name: string): Promise<SecretData> {
    const s = await this.call<{ type?: string; data?: Record<string, string> }>(describe('Secret', namespace, name), () =>
      this.core.readNamespacedSecret({ namespace, name }),
    );
    const data: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(s.data ?? {})) data[k] = Buffer.from(v, 'base64');
    return { type: s.type ?? 'Opaque', data };
  }

  async getConfigMap(namespace: string, name: string): Promise<Record<string, string>> {
    const cm = await this.call<{ data?: Record<string, string> }>(describe('ConfigMap', namespace, name), () =>
      this.core.readNamespacedConfigMap({ namespace, name }),
    );
    return cm.data ?? {};
  }

  private key(obj: SchemaObject): { namespace: string; name: string } {
    const { namespace, name } = obj.metadata;
    if (namespace === undefined || name === undefined) throw new TypeError(`${obj.kind} needs metadata.namespace and metadata.name`);
    return { namespace, name };
  }
}
