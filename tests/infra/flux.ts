/**
 * Real Flux controllers (source-, kustomize-, helm-controller) as processes against the test kube-apiserver.
 * tests/infra/install builds them (tools/flux: source-controller, kustomize-controller and cosign in one `go build`;
 * helm-controller from its release source). Each start watches ONE namespace (RUNTIME_NAMESPACE,
 * --watch-all-namespaces=false), so a test file runs its own controllers on its own namespace while other test
 * runs share the apiserver; ports are free loopback ports, storage is under the caller's work dir.
 *
 * The CRDs are the controllers' own, found where every upstream CRD is found (tests/infra/upstream-crds.ts): the
 * `config/crd/bases` files of source- and kustomize-controller in the Go module cache, helm-controller's committed
 * fixture (the same file as in its v1.5.0 source).
 */
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from '../support/free-port.js';
import { cacheDir, MissingBinaryError, moduleVersion } from './binaries.js';
import { installCrds } from './kube.js';
import { startProcess, waitReady, type RunningProcess } from './process.js';
import { upstreamCrdFiles } from './upstream-crds.js';
import type { KubeConfig } from '@kubernetes/client-node';

const SOURCE = 'github.com/fluxcd/source-controller';
const KUSTOMIZE = 'github.com/fluxcd/kustomize-controller';
const COSIGN = 'github.com/sigstore/cosign/v3';
/** helm-controller is built from its release source (tests/infra/install: vendor_source), not from tools/flux */
const HELM_CONTROLLER = 'helm-controller-v1.5.0';

export type FluxController = 'source-controller' | 'kustomize-controller' | 'helm-controller';

function executable(path: string, what: string): string {
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    throw new MissingBinaryError(what, `${path} is not there`);
  }
}

function required(module: string): string {
  const v = moduleVersion('flux', module);
  if (!v) throw new MissingBinaryError('flux', `tools/flux/go.mod does not require ${module}`);
  return v;
}

/** The folder tests/infra/install builds tools/flux into (named after the three versions it requires). */
export function fluxBinDir(): string {
  return join(cacheDir, 'bin', `flux-sc-${required(SOURCE)}-kc-${required(KUSTOMIZE)}-cosign-${required(COSIGN)}`);
}

/** Absolute path of one controller binary (or cosign), checked to be executable. */
export function fluxBinary(name: FluxController | 'cosign'): string {
  if (name === 'helm-controller') return executable(join(cacheDir, 'bin', HELM_CONTROLLER), name);
  return executable(join(fluxBinDir(), name), name);
}

/** The API groups the three controllers serve; every CRD of these groups is installed. */
export const FLUX_GROUPS = ['source.toolkit.fluxcd.io', 'kustomize.toolkit.fluxcd.io', 'helm.toolkit.fluxcd.io'] as const;

let crdsInstalled: Promise<unknown> | undefined;
/** Installs (once per process) every Flux CRD the three controllers serve. */
export async function installFluxCrds(kc?: KubeConfig): Promise<void> {
  crdsInstalled ??= installCrds(upstreamCrdFiles(...FLUX_GROUPS), kc ? { kc } : {});
  await crdsInstalled;
}

export interface FluxOptions {
  /** the one namespace the controllers watch (their RUNTIME_NAMESPACE) */
  namespace: string;
  /** kubeconfig file of a user allowed to do what the controllers do (the harness's admin) */
  kubeconfig: string;
  /** logs and source-controller's artifact storage go under here */
  workDir: string;
  controllers?: FluxController[];
  /** readiness deadline per controller (default 120 s: these are big binaries on a busy machine) */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface RunningFlux {
  /** http://127.0.0.1:PORT of source-controller's artifact server */
  storageUrl?: string;
  /** http://127.0.0.1:PORT/metrics of each started controller (Prometheus text; gotk_reconcile_duration_seconds) */
  metricsUrls: Partial<Record<FluxController, string>>;
  processes: RunningProcess[];
  stop(): Promise<void>;
}

async function healthy(url: string): Promise<boolean> {
  const res = await request(url, { headersTimeout: 2000, bodyTimeout: 2000 });
  await res.body.dump();
  return res.statusCode === 200;
}

/** Starts the asked-for controllers (default all three) and resolves once each answers its readiness probe. */
export async function startFlux(opts: FluxOptions): Promise<RunningFlux> {
  const controllers = opts.controllers ?? ['source-controller', 'kustomize-controller', 'helm-controller'];
  const root = await mkdtemp(join(opts.workDir, `flux-${opts.namespace}-`));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // the controllers have no --kubeconfig flag: controller-runtime reads KUBECONFIG
    KUBECONFIG: opts.kubeconfig,
    RUNTIME_NAMESPACE: opts.namespace,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
  };
  const processes: RunningProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const p of [...processes].reverse()) await p.stop();
  };
  let storageUrl: string | undefined;
  const metricsUrls: RunningFlux['metricsUrls'] = {};
  try {
    await Promise.all(
      controllers.map(async (name) => {
        const [metrics, health] = await Promise.all([freePort(), freePort()]);
        metricsUrls[name] = `http://127.0.0.1:${metrics}/metrics`;
        const args = [
          `--metrics-addr=127.0.0.1:${metrics}`,
          `--health-addr=127.0.0.1:${health}`,
          '--enable-leader-election=false',
          '--watch-all-namespaces=false',
          '--log-level=debug',
          '--log-encoding=console',
        ];
        if (name === 'source-controller') {
          const storage = await freePort();
          const storagePath = join(root, 'storage');
          await mkdir(storagePath, { recursive: true });
          storageUrl = `http://127.0.0.1:${storage}`;
          args.push(`--storage-path=${storagePath}`, `--storage-addr=127.0.0.1:${storage}`, `--storage-adv-addr=127.0.0.1:${storage}`);
        }
        const t = Date.now();
        const proc = startProcess({ name: `${name} (${opts.namespace})`, command: fluxBinary(name), args, env, logFile: join(root, `${name}.log`) });
        processes.push(proc);
        await waitReady(proc, () => healthy(`http://127.0.0.1:${health}/readyz`), opts.timeoutMs ?? 120_000);
        opts.log?.(`${name} ready in ${Date.now() - t} ms (pid ${proc.pid}, log ${proc.logFile})`);
      }),
    );
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { ...(storageUrl ? { storageUrl } : {}), metricsUrls, processes, stop };
}
