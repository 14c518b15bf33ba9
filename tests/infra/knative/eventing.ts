/**
 * Knative Eventing v0.47.0 as processes against the test kube-apiserver: its control plane (eventing controller,
 * MT channel-based broker controller, in-memory channel controller) and data plane (in-memory channel
 * dispatcher, broker ingress and filter, and on demand the PingSource adapter and ApiServerSource receive
 * adapters), all from the binaries tests/infra/install builds, with no change to Knative's code.
 *
 *   const knative = await startKnativeEventing({ kube, workDir, log });
 *   const url = await knative.net.exposeHost('descriptor.ns.svc.cluster.local', { host: '127.0.0.1', port });
 *   ...apply Brokers/Triggers/sources...
 *   await knative.stop();
 *
 * What is installed comes from the module's own `config/` (Go module cache): the Namespace, CRDs, ConfigMaps,
 * ServiceAccounts, RBAC, Services and the Deployments of the components above. Left out: the eventing webhook and
 * the in-memory channel webhook configurations (there is no webhook here, see `WEBHOOK_DEFAULTS` for what it would
 * set), HPAs, PDBs, Secrets of webhooks, job-sink, request-reply. The Deployments are run by the DeploymentRunner
 * (deployment-runner.ts) in their own network namespaces (network.ts), so a run binds nothing on the host but
 * unix sockets in its own folder and can share the machine with any number of other runs.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { knativeEventingDir, systemTool, toolVersion } from '../binaries.js';
import type { Services } from '../services.js';
import { DeploymentRunner } from './deployment-runner.js';
import { ClusterNetwork } from './network.js';

const run = promisify(execFile);

export const SYSTEM_NAMESPACE = 'knative-eventing';

/** config/ folders installed, relative to the module's config/ */
const CONFIG_DIRS = ['core', 'channels/in-memory-channel', 'brokers/mt-channel-broker'];
const KINDS = new Set(['Namespace', 'CustomResourceDefinition', 'ConfigMap', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Service', 'Deployment']);
/** the Deployments we run (pingsource-mt-adapter starts at 0 replicas; the PingSource reconciler scales it) */
const DEPLOYMENTS = new Set(['eventing-controller', 'mt-broker-controller', 'imc-controller', 'imc-dispatcher', 'mt-broker-ingress', 'mt-broker-filter', 'pingsource-mt-adapter']);
/**
 * knative.dev/pkg's sharedmain and Knative's adapter main take --disable-ha: one replica each, so no leader-election
 * lease (left by a stopped pod of an earlier start in the same run) to wait out
 */
const HA_OFF = new Set(['eventing-controller', 'mt-broker-controller', 'imc-controller', 'imc-dispatcher', 'pingsource-mt-adapter']);

/**
 * What Knative's (absent) defaulting webhook would set on our objects; the tests set it explicitly:
 * - Broker: the class annotation and `spec.config` from config-br-defaults' clusterDefault;
 * - Trigger: the `eventing.knative.dev/broker` label (the broker reconciler finds Triggers by it);
 * - ApiServerSource: `mode` and `serviceAccountName` (the shipped one sets both already).
 * config-br-defaults' default delivery (retry 10, exponential PT0.2S) would also be defaulted into a Broker
 * without `spec.delivery`; ours has its own.
 */
export const WEBHOOK_DEFAULTS = {
  brokerClassAnnotation: { 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' },
  brokerConfig: { apiVersion: 'v1', kind: 'ConfigMap', name: 'config-br-default-channel', namespace: SYSTEM_NAMESPACE },
  triggerBrokerLabel: 'eventing.knative.dev/broker',
} as const;

export interface KnativeEventing {
  net: ClusterNetwork;
  runner: DeploymentRunner;
  /** broker ingress URL path for a Broker, as Knative puts it in the Broker's status.address.url */
  brokerUrl(namespace: string, broker: string): string;
  /** the host-side unix socket of the broker ingress (to post events from a test) */
  ingressSocket(): string;
  stop(): Promise<void>;
}

export interface StartKnativeOptions {
  kube: Services['kube'];
  /** the run's scratch folder; the Knative run gets a short sub-folder (unix socket paths are short) */
  workDir: string;
  log?: (line: string) => void;
}

export class KnativeStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KnativeStartError';
  }
}

/** The module's config/ folder in the Go module cache (tests/infra/install downloaded it when it built the binaries). */
export async function knativeConfigDir(): Promise<string> {
  const version = toolVersion('knative-eventing');
  const { stdout } = await run('go', ['env', 'GOMODCACHE']);
  const dir = join(stdout.trim(), 'knative.dev', `eventing@${version}`, 'config');
  try {
    accessSync(dir, constants.R_OK);
  } catch {
    throw new KnativeStartError(`${dir} is missing: run \`bash tests/infra/install\` (it downloads knative.dev/eventing ${version})`);
  }
  return dir;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((e) => {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) return yamlFiles(p);
      return /\.ya?ml$/.test(e) ? [p] : [];
    });
}

/** The objects of config/ we install (see the header), plus the release-only image ConfigMaps the controller reads. */
export async function knativeConfigObjects(): Promise<Record<string, unknown>[]> {
  const root = await knativeConfigDir();
  const objects: Record<string, unknown>[] = [];
  for (const dir of CONFIG_DIRS) {
    for (const file of yamlFiles(join(root, dir))) {
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
        const o = doc.toJS({ maxAliasCount: -1 }) as { kind?: string; metadata?: { name?: string } } | null;
        if (!o?.kind || !KINDS.has(o.kind)) continue;
        if (o.kind === 'Deployment' && !DEPLOYMENTS.has(o.metadata?.name ?? '')) continue;
        objects.push(o as Record<string, unknown>);
      }
    }
  }
  // The eventing controller's env reads images from ConfigMaps the release YAML adds (not in config/). Only the
  // sources/sinks/transforms we do not use need them, so they name images that do not exist here.
  const present = new Set(objects.filter((o) => o.kind === 'ConfigMap').map((o) => (o.metadata as { name: string }).name));
  const missing = new Map<string, Record<string, string>>();
  for (const o of objects) {
    if (o.kind !== 'Deployment') continue;
    const containers = (o as { spec: { template: { spec: { containers: Array<{ env?: Array<{ valueFrom?: { configMapKeyRef?: { name: string; key: string } } }> }> } } } }).spec.template.spec.containers;
    for (const c of containers) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.configMapKeyRef;
        if (!ref || present.has(ref.name)) continue;
        const data = missing.get(ref.name) ?? {};
        data[ref.key] = `not-built-here/${ref.key}`;
        missing.set(ref.name, data);
      }
    }
  }
  for (const [name, data] of missing) objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: SYSTEM_NAMESPACE }, data });
  return objects;
}

/** `kubectl apply --server-side` of YAML text (CRDs, config, user manifests). */
export async function kubectlApply(kube: Services['kube'], yaml: string, file: string): Promise<void> {
  writeFileSync(file, yaml);
  try {
    await run(systemTool('kubectl'), ['--kubeconfig', kube.kubeconfig, 'apply', '--server-side', '--force-conflicts', '--field-manager=ocm-knative-tests', '-f', file], {
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stderr?: string; message?: string };
    throw new KnativeStartError(`kubectl apply -f ${file} failed: ${e.stderr?.trim() || e.message}`);
  }
}

function kubeConfigOf(kube: Services['kube']): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: kube.server, caFile: kube.caFile, skipTLSVerify: false }],
    users: [{ name: 'admin', token: kube.token }],
    contexts: [{ name: 'test', cluster: 'test', user: 'admin' }],
    currentContext: 'test',
  });
  return kc;
}

export async function startKnativeEventing(opts: StartKnativeOptions): Promise<KnativeEventing> {
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const binDir = knativeEventingDir();
  const dir = join(opts.workDir, `kn-${Math.random().toString(36).slice(2, 7)}`);
  mkdirSync(dir, { recursive: true });
  const objects = await knativeConfigObjects();
  await kubectlApply(opts.kube, objects.map((o) => stringify(o)).join('---\n'), join(dir, 'knative-config.yaml'));
  await run(systemTool('kubectl'), ['--kubeconfig', opts.kube.kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'knative.dev/crd-install=true']);

  const apiPort = Number(new URL(opts.kube.server).port);
  const net = new ClusterNetwork(dir, apiPort);
  await net.start();
  const kc = kubeConfigOf(opts.kube);
  const runner = new DeploymentRunner({
    kc,
    net,
    dir,
    systemNamespace: SYSTEM_NAMESPACE,
    kube: opts.kube,
    log,
    binaryFor(image) {
      const m = /^ko:\/\/knative\.dev\/eventing\/cmd\/(.+)$/.exec(image);
      if (!m) return undefined;
      const bin = join(binDir, basename(m[1]!));
      try {
        accessSync(bin, constants.X_OK);
        return bin;
      } catch {
        return undefined;
      }
    },
    extraArgs: (d) => (d.metadata?.namespace === SYSTEM_NAMESPACE && HA_OFF.has(d.metadata.name ?? '') ? ['--disable-ha'] : []),
  });
  const stop = async (): Promise<void> => {
    await runner.stop();
    await net.stop();
  };
  try {
    await runner.start();
    await Promise.all(['eventing-controller', 'mt-broker-controller', 'imc-controller', 'imc-dispatcher', 'mt-broker-ingress', 'mt-broker-filter'].map((d) => runner.waitAvailable(SYSTEM_NAMESPACE, d)));
  } catch (err) {
    await stop();
    throw err;
  }
  log(`knative eventing up in ${Date.now() - t0} ms (${dir})`);
  return {
    net,
    runner,
    brokerUrl: (namespace, broker) => `http://${ClusterNetwork.fqdn('broker-ingress', SYSTEM_NAMESPACE)}/${namespace}/${broker}`,
    ingressSocket: () => {
      const pod = runner.pod(SYSTEM_NAMESPACE, 'mt-broker-ingress');
      if (!pod) throw new KnativeStartError('the broker ingress is not running');
      return pod.socket(8080);
    },
    stop,
  };
}
