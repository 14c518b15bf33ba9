/**
 * The part of a cluster that turns Deployments into running processes, for the Knative images we build:
 * a tiny kubelet + deployment controller + endpoints controller.
 *
 * It watches Deployments in all namespaces. One whose single container's image is a Knative binary we have
 * (`ko://knative.dev/eventing/cmd/<path>`: the shipped manifests' images, and the image the eventing
 * controller puts in the ApiServerSource adapter Deployments it creates) and that wants a replica is run as
 * one pod (pod.ts) from what the API server says: the container's args and env (values, fieldRefs,
 * ConfigMap/Secret keys, resolved like the kubelet does), its ports, and a kubeconfig for its
 * ServiceAccount (a TokenRequest token; Knative's own components in the system namespace use the admin
 * kubeconfig, because their ClusterRoles are aggregated and no kube-controller-manager aggregates them here).
 * A changed pod template restarts the pod; a process that exits is restarted with backoff; replicas 0 or a
 * deleted Deployment stops it. The Deployment's status says Available once the container's HTTP readiness probe
 * passes (through the pod's exported port, with the kubelet's User-Agent), and Services whose selector matches get Endpoints (a placeholder
 * address from 192.0.2.0/24, only counted by Knative, never connected to) and a route in the cluster network.
 * Deleting an ApiServerSource leaves its Deployment (there is no garbage collector): `stop()` ends all pods.
 */
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type KubeConfig,
  type V1Container,
  type V1Deployment,
  type V1Service,
} from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'undici';
import { stringify } from 'yaml';
import type { RunningProcess } from '../process.js';
import { ClusterNetwork, SERVICE_PORTS } from './network.js';
import { startPod } from './pod.js';

export interface DeploymentRunnerOptions {
  kc: KubeConfig;
  net: ClusterNetwork;
  /** folder for pod logs and kubeconfigs */
  dir: string;
  /** image -> binary path, or undefined for images this runner does not run */
  binaryFor(image: string): string | undefined;
  /** namespace whose pods run with the admin kubeconfig (Knative's system namespace) */
  systemNamespace: string;
  kube: { server: string; caFile: string; token: string };
  /** extra args for a Deployment's container (e.g. --disable-ha for the controllers) */
  extraArgs?(d: V1Deployment): string[];
  log(line: string): void;
}

interface Pod {
  name: string;
  key: string;
  template: string;
  process: RunningProcess;
  labels: Record<string, string>;
  ports: Record<string, number>;
  ready: boolean;
  stopping: boolean;
}

const RESTART_MAX_MS = 10_000;
/**
 * What the kubelet sends with an HTTP probe. Knative's data plane (broker ingress and filter, channel dispatcher)
 * answers a probe on its event port only when it sees the kubelet's User-Agent (knative.dev/pkg network.IsKubeletProbe);
 * to anything else a GET is a bad event (405/400).
 */
const KUBELET_PROBE_HEADERS = { 'user-agent': 'kube-probe/1.33', accept: '*/*' };

export class DeploymentRunnerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeploymentRunnerError';
  }
}

export class DeploymentRunner {
  private readonly pods = new Map<string, Pod>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly latest = new Map<string, V1Deployment | undefined>();
  private readonly aborts: AbortController[] = [];
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly failures = new Map<string, number>();
  private stopped = false;
  private endpointIp = 1;

  constructor(private readonly o: DeploymentRunnerOptions) {
    this.apps = o.kc.makeApiClient(AppsV1Api);
    this.core = o.kc.makeApiClient(CoreV1Api);
  }

  /** Starts watching Deployments and Services (ExternalName aliases) cluster-wide. */
  async start(): Promise<void> {
    await this.watch('/apis/apps/v1/deployments', (phase, d: V1Deployment) => {
      const key = `${d.metadata?.namespace}/${d.metadata?.name}`;
      this.latest.set(key, phase === 'DELETED' ? undefined : d);
      this.enqueue(key);
    });
    await this.watch('/api/v1/services', (phase, s: V1Service) => {
      if (phase === 'DELETED') return;
      const ns = s.metadata?.namespace ?? '';
      const name = s.metadata?.name ?? '';
      if (s.spec?.type === 'ExternalName' && s.spec.externalName?.endsWith('.svc.cluster.local')) {
        this.o.net.alias(ClusterNetwork.fqdn(name, ns), s.spec.externalName);
      }
      for (const pod of this.pods.values()) if (pod.ready && pod.key.startsWith(`${ns}/`)) void this.publish(pod).catch((e) => this.o.log(`endpoints: ${String(e)}`));
    });
  }

  /** Waits until the Deployment `namespace/name` has a ready pod. */
  async waitAvailable(namespace: string, name: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.pods.get(`${namespace}/${name}`)?.ready) {
      if (Date.now() > deadline) throw new DeploymentRunnerError(`Deployment ${namespace}/${name} not available after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The running pod of a Deployment (for tests: its exported sockets, its pid for RSS). */
  pod(namespace: string, name: string): { name: string; pid: number; socket(port: number): string } | undefined {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) return undefined;
    return { name: pod.name, pid: pod.process.pid, socket: (port) => this.o.net.podSocket(pod.name, port) };
  }

  /** Every running pod (name, pid). */
  running(): Array<{ deployment: string; pid: number }> {
    return [...this.pods.values()].map((p) => ({ deployment: p.key, pid: p.process.pid }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const ac of this.aborts) ac.abort();
    await Promise.allSettled([...this.queues.values()]);
    await Promise.all([...this.pods.values()].map((p) => this.kill(p)));
    this.pods.clear();
  }

  // ------------------------------------------------------------------------------------------- internals

  private async watch<T>(path: string, on: (phase: string, obj: T) => void): Promise<void> {
    const begin = async (): Promise<void> => {
      const ac = await new Watch(this.o.kc).watch(path, {}, on, () => {
        if (!this.stopped) setTimeout(() => void begin().catch((e) => this.o.log(`watch ${path}: ${String(e)}`)), 500);
      });
      this.aborts.push(ac);
    };
    await begin();
  }

  /** Reconciles one Deployment at a time per key, always against its latest state. */
  private enqueue(key: string): void {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev
      .then(() => (this.stopped ? undefined : this.reconcile(key)))
      .catch((err) => this.o.log(`${key}: ${err instanceof Error ? err.message : String(err)}`));
    this.queues.set(key, next);
  }

  private async reconcile(key: string): Promise<void> {
    const d = this.latest.get(key);
    const current = this.pods.get(key);
    const container = d?.spec?.template?.spec?.containers?.[0];
    const binary = container?.image ? this.o.binaryFor(container.image) : undefined;
    const wanted = d && binary && !d.metadata?.deletionTimestamp && (d.spec?.replicas ?? 1) > 0;
    const template = d ? JSON.stringify(d.spec?.template) : '';
    if (current && (!wanted || current.template !== template)) {
      this.pods.delete(key);
      await this.kill(current);
      await this.unpublish(current);
    }
    if (!d || !binary || !container) return;
    if (!wanted) {
      // only when it differs: our own status write comes back as a watch event
      const available = d.status?.conditions?.find((c) => c.type === 'Available')?.status === 'True';
      if (!available || (d.status?.replicas ?? 0) !== 0) await this.patchStatus(d, 0, 'MinimumReplicasAvailable', 'no replicas wanted');
      return;
    }
    if (this.pods.has(key)) return;
    await this.run(key, d, container, binary, template);
  }

  private async run(key: string, d: V1Deployment, container: V1Container, binary: string, template: string): Promise<void> {
    const namespace = d.metadata?.namespace ?? 'default';
    const name = `${d.metadata?.name}-${randomBytes(3).toString('hex')}`;
    const spec = d.spec?.template?.spec;
    const serviceAccount = spec?.serviceAccountName ?? 'default';
    let env: Record<string, string>;
    try {
      env = await this.resolveEnv(container, { namespace, pod: name, serviceAccount });
      env.KUBECONFIG = await this.kubeconfig(name, namespace, serviceAccount);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.o.log(`${key}: cannot start: ${message}`);
      await this.patchStatus(d, 0, 'CreateContainerConfigError', message);
      this.retryLater(key);
      return;
    }
    const ports: Record<string, number> = {};
    for (const p of container.ports ?? []) ports[p.name ?? String(p.containerPort)] = p.containerPort;
    const args = [...(container.command?.slice(1) ?? []), ...(container.args ?? []), ...(this.o.extraArgs?.(d) ?? [])];
    const process = startPod(this.o.net, { name, namespace, binary, args, env, ports: [...new Set(Object.values(ports))], logDir: this.o.dir });
    const pod: Pod = { name, key, template, process, labels: d.spec?.template?.metadata?.labels ?? {}, ports, ready: false, stopping: false };
    this.pods.set(key, pod);
    this.o.log(`${key}: started pod ${name} (pid ${process.pid})`);
    void process.exited.then(() => {
      if (pod.stopping || this.stopped) return;
      this.o.log(`${key}: pod ${name} exited; restarting (log ${process.logFile})`);
      if (this.pods.get(key) === pod) this.pods.delete(key);
      void this.unpublish(pod).catch(() => undefined);
      this.retryLater(key);
    });
    await this.awaitReady(pod, container);
    if (pod.stopping || process.hasExited()) return;
    pod.ready = true;
    this.failures.delete(key);
    await this.patchStatus(d, 1, 'MinimumReplicasAvailable', 'Deployment has minimum availability.');
    await this.publish(pod);
  }

  private retryLater(key: string): void {
    if (this.stopped) return;
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    setTimeout(() => this.enqueue(key), Math.min(500 * 2 ** n, RESTART_MAX_MS)).unref();
  }

  /**
   * The container's HTTP readiness probe through the pod's exported port; other probes: the process is up. Like the
   * kubelet it probes until the pod passes or ends, never marking a pod ready that did not pass; the last failure is
   * logged every 30 s.
   */
  private async awaitReady(pod: Pod, container: V1Container): Promise<void> {
    const probe = container.readinessProbe?.httpGet;
    const port = typeof probe?.port === 'number' ? probe.port : probe?.port !== undefined ? pod.ports[probe.port] : undefined;
    const t0 = Date.now();
    let lastReport = t0;
    let failure = 'not probed yet';
    while (!pod.process.hasExited() && !pod.stopping) {
      if (!probe || (probe.scheme ?? 'HTTP') !== 'HTTP' || port === undefined) {
        // no HTTP probe (or HTTPS): ready when the process has stayed up for a moment
        await new Promise((r) => setTimeout(r, 1000));
        if (!pod.process.hasExited()) return;
        continue;
      }
      const path = probePath(probe.path);
      const client = new Client('http://pod', { socketPath: this.o.net.podSocket(pod.name, port), headersTimeout: 2000, bodyTimeout: 2000 });
      try {
        const res = await client.request({ method: 'GET', path, headers: { ...KUBELET_PROBE_HEADERS, ...Object.fromEntries((probe.httpHeaders ?? []).map((h) => [h.name, h.value])) } });
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 400) {
          this.o.log(`${pod.key}: ready after ${Date.now() - t0} ms (GET ${path} on port ${port}: ${res.statusCode})`);
          return;
        }
        failure = `GET ${path} on port ${port} answered ${res.statusCode}`;
      } catch (err) {
        failure = `GET ${path} on port ${port}: ${err instanceof Error ? err.message : String(err)}`;
      } finally {
        await client.close();
      }
      if (Date.now() - lastReport > 30_000) {
        lastReport = Date.now();
        this.o.log(`${pod.key}: not ready after ${Date.now() - t0} ms: ${failure}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async kill(pod: Pod): Promise<void> {
    pod.stopping = true;
    await pod.process.stop();
  }

  /** Endpoints and cluster-network routes for the Services in the pod's namespace that select it. */
  private async publish(pod: Pod): Promise<void> {
    for (const svc of await this.selecting(pod)) {
      const ns = svc.metadata!.namespace!;
      const name = svc.metadata!.name!;
      const ports = (svc.spec?.ports ?? []).map((p) => ({ name: p.name, protocol: p.protocol ?? 'TCP', port: this.targetPort(pod, p.targetPort ?? p.port) }));
      const routes: Record<number, string> = {};
      for (const p of svc.spec?.ports ?? []) {
        const target = this.targetPort(pod, p.targetPort ?? p.port);
        if (SERVICE_PORTS.includes(p.port) && Object.values(pod.ports).includes(target)) routes[p.port] = this.o.net.podSocket(pod.name, target);
      }
      this.o.net.route(ClusterNetwork.fqdn(name, ns), routes);
      const body = {
        metadata: { name, namespace: ns },
        subsets: [{ addresses: [{ ip: `192.0.2.${(this.endpointIp++ % 250) + 1}`, targetRef: { kind: 'Pod', name: pod.name, namespace: ns } }], ports }],
      };
      await this.upsertEndpoints(ns, name, body);
    }
  }

  private async unpublish(pod: Pod): Promise<void> {
    for (const svc of await this.selecting(pod)) {
      const ns = svc.metadata!.namespace!;
      const name = svc.metadata!.name!;
      this.o.net.unroute(ClusterNetwork.fqdn(name, ns));
      await this.upsertEndpoints(ns, name, { metadata: { name, namespace: ns }, subsets: [] });
    }
  }

  /** Create or replace; two publishes of one Service can race (a Service event and a pod start): retry on 409. */
  private async upsertEndpoints(namespace: string, name: string, body: { metadata: { name: string; namespace: string }; subsets: unknown[] }): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const cur = await this.core.readNamespacedEndpoints({ namespace, name }).catch((err: unknown) => {
          if ((err as { code?: number }).code === 404) return undefined;
          throw err;
        });
        if (cur) {
          await this.core.replaceNamespacedEndpoints({ namespace, name, body: { ...body, metadata: { ...body.metadata, resourceVersion: cur.metadata?.resourceVersion } } as never });
        } else {
          await this.core.createNamespacedEndpoints({ namespace, body: body as never });
        }
        return;
      } catch (err) {
        if ((err as { code?: number }).code !== 409 || attempt >= 5) throw err;
      }
    }
  }

  private async selecting(pod: Pod): Promise<V1Service[]> {
    const namespace = pod.key.split('/')[0]!;
    const list = await this.core.listNamespacedService({ namespace });
    return list.items.filter((s) => {
      const sel = s.spec?.selector;
      return sel && Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => pod.labels[k] === v);
    });
  }

  private targetPort(pod: Pod, port: number | string): number {
    return typeof port === 'number' ? port : (pod.ports[port] ?? Number(port));
  }

  private async patchStatus(d: V1Deployment, ready: number, reason: string, message: string): Promise<void> {
    const now = new Date().toISOString();
    const available = ready > 0 || (d.spec?.replicas ?? 1) === 0;
    const status = {
      observedGeneration: d.metadata?.generation,
      replicas: ready,
      updatedReplicas: ready,
      readyReplicas: ready,
      availableReplicas: ready,
      ...(ready === 0 ? { unavailableReplicas: d.spec?.replicas ?? 1 } : {}),
      conditions: [
        { type: 'Available', status: available ? 'True' : 'False', reason, message, lastUpdateTime: now, lastTransitionTime: now },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: 'ReplicaSet has successfully progressed.', lastUpdateTime: now, lastTransitionTime: now },
      ],
    };
    try {
      await this.apps.patchNamespacedDeploymentStatus(
        { namespace: d.metadata!.namespace!, name: d.metadata!.name!, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  }

  /** The kubelet's env resolution: values, fieldRefs, ConfigMap and Secret keys (missing and not optional: an error). */
  private async resolveEnv(c: V1Container, pod: { namespace: string; pod: string; serviceAccount: string }): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) {
      const from = e.valueFrom;
      if (!from) {
        // $(VAR) references to earlier variables, as the kubelet expands them
        env[e.name] = (e.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => env[v] ?? m);
      } else if (from.fieldRef) {
        const fields: Record<string, string> = {
          'metadata.namespace': pod.namespace,
          'metadata.name': pod.pod,
          'spec.serviceAccountName': pod.serviceAccount,
          'status.podIP': '127.0.0.1',
          'spec.nodeName': 'node',
        };
        const v = fields[from.fieldRef.fieldPath];
        if (v === undefined) throw new DeploymentRunnerError(`env ${e.name}: fieldRef ${from.fieldRef.fieldPath} is not supported here`);
        env[e.name] = v;
      } else if (from.configMapKeyRef) {
        const ref = from.configMapKeyRef;
        const v = await this.core.readNamespacedConfigMap({ namespace: pod.namespace, name: ref.name! }).then((cm) => cm.data?.[ref.key], () => undefined);
        if (v === undefined && !ref.optional) throw new DeploymentRunnerError(`env ${e.name}: key ${ref.key} of ConfigMap ${pod.namespace}/${ref.name} not found`);
        if (v !== undefined) env[e.name] = v;
      } else if (from.secretKeyRef) {
        const ref = from.secretKeyRef;
        const v = await this.core.readNamespacedSecret({ namespace: pod.namespace, name: ref.name! }).then((s) => s.data?.[ref.key], () => undefined);
        if (v === undefined && !ref.optional) throw new DeploymentRunnerError(`env ${e.name}: key ${ref.key} of Secret ${pod.namespace}/${ref.name} not found`);
        if (v !== undefined) env[e.name] = Buffer.from(v, 'base64').toString('utf8');
      } else {
        throw new DeploymentRunnerError(`env ${e.name}: this kind of valueFrom is not supported here`);
      }
    }
    return env;
  }

  /** A kubeconfig for the pod's ServiceAccount (admin in the system namespace; see the header). */
  private async kubeconfig(pod: string, namespace: string, serviceAccount: string): Promise<string> {
    let token = this.o.kube.token;
    if (namespace !== this.o.systemNamespace) {
      const tr = await this.core.createNamespacedServiceAccountToken({
        namespace,
        name: serviceAccount,
        body: { spec: { expirationSeconds: 3600, audiences: [] } },
      });
      token = tr.status?.token ?? '';
      if (!token) throw new DeploymentRunnerError(`no token for ServiceAccount ${namespace}/${serviceAccount}`);
    }
    const file = join(this.o.dir, `${pod}.kubeconfig`);
    writeFileSync(
      file,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        // the same https://127.0.0.1:PORT as on the host: the pod agent relays that port to the API server
        clusters: [{ name: 'cluster', cluster: { server: this.o.kube.server, 'certificate-authority': this.o.kube.caFile } }],
        users: [{ name: serviceAccount, user: { token } }],
        contexts: [{ name: 'pod', context: { cluster: 'cluster', user: serviceAccount, namespace } }],
        'current-context': 'pod',
      }),
      { mode: 0o600 },
    );
    return file;
  }
}

/**
 * The request path of an HTTP probe as the kubelet sends it: it builds a URL from host, port and path, and Go's
 * URL adds the leading slash a relative path lacks (the ApiServerSource adapter's probe path is `readiness`).
 */
export function probePath(path: string | undefined): string {
  if (!path) return '/';
  return path.startsWith('/') ? path : `/${path}`;
}
