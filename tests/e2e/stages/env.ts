/**
 * The e2e pipeline: the four functions as real HTTP servers (the same host and wiring their mains use) against the
 * real kube-apiserver (our CRDs + Flux OCIRepository CRD) and the real S3-backed registry, driven by EventingDriver.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { createDescriptorStage } from '../../../functions/descriptor/handler.js';
import { createResourceStage } from '../../../functions/resource/handler.js';
import { createConfigureStage } from '../../../functions/configure/handler.js';
import { createPublishStage } from '../../../functions/publish/handler.js';
import { realDeps, type Signing, type StageConfig, type StageDeps } from '../../../functions/adapters/wiring.js';
import { createConfigureEngine } from '../../../shared/configure/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { registryConnector, pushComponentVersion, type ComponentVersionInput } from '../../../shared/ocm/index.js';
import type { KubeObject, Stage } from '../../../shared/ports/index.js';
import { createFunctionServer, handlerFromStage, stageErrorClassifier, type FunctionServer } from '../../../shared/server/index.js';
import { createNamespace, installCrds, kubeConfig } from '../../infra/kube.js';
import { services } from '../../infra/services.js';
import { upstreamCrdFiles } from '../../infra/upstream-crds.js';
import { peerToolEnv } from '../../infra/zot.js';
import { GROUP, PLURALS, VERSION } from '../../../shared/kube/index.js';
import { stopChild } from '../../infra/process.js';
import { testEgressConfig, testEgressEnv } from '../../infra/egress.js';
import { EventingDriver, retry429 } from '../../support/eventing-driver.js';
import { answersOk, waitFor } from '../../support/wait.js';


const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

let crdsInstalled: Promise<unknown> | undefined;

export interface Pipeline {
  namespace: string;
  kc: KubeConfig;
  api: CustomObjectsApi;
  driver: EventingDriver;
  servers: Record<string, { server?: FunctionServer; url: string; stop?: () => Promise<void> }>;
  deps: StageDeps;
  /** the pipeline's registry (zot, services().registry.zot): host, and an env for crane/oras/helm as its read user */
  registry: { host: string; url: string; caFile: string; toolEnv: NodeJS.ProcessEnv };
  /** base URL (http://host:port/<path>) for source component versions of this test */
  sourceBaseUrl: string;
  pushSource(cv: ComponentVersionInput): Promise<void>;
  create(kind: string, name: string, spec: Record<string, unknown>): Promise<KubeObject>;
  get(kind: string, name: string): Promise<KubeObject | undefined>;
  del(kind: string, name: string): Promise<void>;
  getOCIRepository(name: string): Promise<KubeObject | undefined>;
  stop(): Promise<void>;
}

export interface PipelineOptions {
  /** the event source: our watch-based stand-in (default) or an external one posting to the driver's ingress */
  source?: 'driver-watch' | 'external';
  /** run each function's real main (functions/<stage>/main.ts) as its own process, configured by env vars */
  processes?: boolean;
  /** settings over the default ones (e.g. the TLS + htpasswd registry and the Flux Secrets); in-process only */
  config?: Partial<StageConfig>;
  /** the publish stage signs what it publishes (as with SIGNING_KEY_FILE); in-process only */
  signing?: Signing;
  /** CTF_ROOT: CTFs under this folder may be read (unset: none, as on a cluster by default) */
  ctfRoot?: string;
  /** the namespace to work in (created when missing); default: a new random one */
  namespace?: string;
}

/** Starts functions/<stage>/main.ts with tsx on a free port; resolves once /healthz answers. */
async function spawnMain(stage: string, env: Record<string, string>, logDir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await new Promise<number>((resolve) => {
    const srv = createNetServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const log = createWriteStream(join(logDir, `${stage}-main.log`));
  const child = spawn(process.execPath, [join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(REPO, 'functions', stage, 'main.ts')], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_PROXY: '127.0.0.1,localhost', ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const url = `http://127.0.0.1:${port}/`;
  await waitFor(`${stage} main to become healthy`, () => answersOk(`${url}healthz`), {
    timeoutMs: 60_000,
    giveUp: () => (child.exitCode !== null ? `${stage} main exited with ${child.exitCode} (log ${join(logDir, `${stage}-main.log`)})` : undefined),
  });
  return {
    url,
    async stop() {
      await stopChild(child);
      log.end();
    },
  };
}

export async function startPipeline(opts: PipelineOptions = {}): Promise<Pipeline> {
  const s = services();
  crdsInstalled ??= installCrds([join(REPO, 'knative', 'crds'), ...upstreamCrdFiles('source.toolkit.fluxcd.io')]);
  await crdsInstalled;
  const namespace = await createNamespace(opts.namespace);
  const kc = kubeConfig();
  const api = kc.makeApiClient(CustomObjectsApi);
  const config: StageConfig = {
    KUBECONFIG: s.kube.kubeconfig,
    KUBE_CACHE: undefined,
    // zot with the shipped config (TLS, htpasswd, access control), as a cluster has it
    REGISTRY_URL: s.registry.zot.url,
    REGISTRY_CA_FILE: s.registry.zot.caFile,
    REGISTRY_USERNAME: s.registry.zot.push.username,
    REGISTRY_PASSWORD: s.registry.zot.push.password,
    REGISTRY_PUBLIC_HOST: undefined,
    FLUX_INSECURE: undefined,
    FLUX_CERT_SECRET: undefined,
    FLUX_SECRET: undefined,
    INSECURE_REGISTRIES: s.registry.fs.host,
    // the TLS registry's CA (the run's throwaway CA) for sources behind TLS + auth
    SOURCE_CA_FILE: s.registry.tls.caFile,
    ...testEgressConfig,
    ...(opts.ctfRoot ? { CTF_ROOT: opts.ctfRoot } : {}),
    ...opts.config,
  };
  const logger = createLogger({ level: (process.env.E2E_LOG_LEVEL as 'info' | undefined) ?? 'silent' });
  const stages: Record<string, { stage: Stage; deps: StageDeps; kinds: string[] }> = {};
  const depsOf = async (name: string) => realDeps(config, name, undefined, name === 'publish' && opts.signing ? { signing: opts.signing } : {});
  const d1 = await depsOf('descriptor');
  stages.descriptor = { stage: d1.prepare(createDescriptorStage({ ...d1 })), deps: d1, kinds: ['OCMRepository', 'Component', 'Snapshot'] };
  const d2 = await depsOf('resource');
  stages.resource = { stage: d2.prepare(createResourceStage({ ...d2 })), deps: d2, kinds: ['Resource', 'Snapshot'] };
  const d3 = await depsOf('configure');
  stages.configure = { stage: d3.prepare(createConfigureStage({ ...d3, engine: createConfigureEngine() })), deps: d3, kinds: ['Configuration', 'Snapshot'] };
  const d4 = await depsOf('publish');
  stages.publish = { stage: d4.prepare(createPublishStage({ ...d4 })), deps: d4, kinds: ['Publication', 'Snapshot'] };

  const servers: Pipeline['servers'] = {};
  if (opts.processes) {
    const env: Record<string, string> = {
      KUBECONFIG: s.kube.kubeconfig,
      REGISTRY_URL: s.registry.zot.url,
      REGISTRY_CA_FILE: s.registry.zot.caFile,
      REGISTRY_USERNAME: s.registry.zot.push.username,
      REGISTRY_PASSWORD: s.registry.zot.push.password,
      INSECURE_REGISTRIES: s.registry.fs.host,
      SOURCE_CA_FILE: s.registry.tls.caFile,
      ...testEgressEnv,
      ...(opts.ctfRoot ? { CTF_ROOT: opts.ctfRoot } : {}),
    };
    const started = await Promise.all(Object.keys(stages).map(async (name) => [name, await spawnMain(name, env, s.workDir)] as const));
    for (const [name, m] of started) servers[name] = { url: m.url, stop: m.stop };
  } else {
    for (const [name, st] of Object.entries(stages)) {
      const server = createFunctionServer({
        stage: name,
        handle: handlerFromStage(st.stage),
        config: { BODY_LIMIT: 5 * 1024 * 1024, SHUTDOWN_TIMEOUT: 10_000, REPLY_EVENTS: true, PROCESS_METRICS: false },
        logger: logger.child({ stage: name }),
        classifyError: stageErrorClassifier,
      });
      const addr = await server.listen(0, '127.0.0.1');
      servers[name] = { server, url: `http://127.0.0.1:${addr.port}/` };
    }
  }
  const driver = new EventingDriver(
    kc,
    Object.entries(stages).map(([name, st]) => ({ stage: name, url: servers[name]!.url, kinds: st.kinds })),
    { source: s.kube.server },
  );
  if (opts.source !== 'external') {
    await driver.watch(
      namespace,
      Object.values(PLURALS).map((plural) => ({ group: GROUP, version: VERSION, plural })),
    );
  }

  const sourceBaseUrl = `http://${s.registry.fs.host}/src-${namespace}-${randomBytes(3).toString('hex')}`;
  const connector = registryConnector({ insecureHosts: [s.registry.fs.host] });

  const zot = s.registry.zot;
  const p: Pipeline = {
    namespace,
    kc,
    api,
    driver,
    servers,
    deps: d1,
    registry: { host: zot.host, url: zot.url, caFile: zot.caFile, toolEnv: await peerToolEnv(zot, join(s.workDir, `e2e-${namespace}`)) },
    sourceBaseUrl,
    async pushSource(cv) {
      await pushComponentVersion(connector.connect, sourceBaseUrl, cv);
    },
    async create(kind, name, spec) {
      return (await retry429(() => api.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURALS[kind]!,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name, namespace }, spec },
      }))) as KubeObject;
    },
    async get(kind, name) {
      try {
        return (await api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS[kind]!, name })) as KubeObject;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw err;
      }
    },
    async del(kind, name) {
      await api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS[kind]!, name });
    },
    async getOCIRepository(name) {
      try {
        return (await api.getNamespacedCustomObject({
          group: 'source.toolkit.fluxcd.io',
          version: 'v1',
          namespace,
          plural: 'ocirepositories',
          name,
        })) as KubeObject;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw err;
      }
    },
    async stop() {
      await driver.stop();
      for (const { server, stop } of Object.values(servers)) {
        await server?.close();
        await stop?.();
      }
      for (const st of Object.values(stages)) await st.deps.close();
      await connector.close();
    },
  };
  return p;
}
