/**
 * Wiring shared by the resilience tests: the component source (pushed once to the fs registry, so several
 * namespaces can read the very same bytes), a broker watching one namespace and delivering to function
 * processes, a pipeline over a zot of its own (registry events, GC), and log checks.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  localBlobResource,
  pushComponentVersion,
  registryConnector,
  type ComponentDescriptor,
  type ComponentVersionInput,
} from '../../../shared/ocm/index.js';
import { request, type Dispatcher } from 'undici';
import { goTool } from '../../infra/binaries.js';
import { services } from '../../infra/services.js';
import type { ZotEndpoint } from '../../infra/services.js';
import { startZot, ZOT_USERS, type RunningZot, type StartZotOptions, type ZotConfig } from '../../infra/zot.js';
import { freePort } from '../../support/free-port.js';
import { componentVersion } from '../../support/components.js';
import { GROUP, VERSION } from '../../../shared/kube/index.js';
import { ChaosBroker, type DeliveryMode } from './broker.js';
import { PLURALS } from '../../../shared/kube/index.js';
import { Cluster, createStandardPipeline, registryAccess, STANDARD_COUNT, STANDARD_KINDS, type RegistryAccess } from './cluster.js';
import { startFunctions, STAGE_KINDS, type FunctionProcess, type LogLine } from './functions.js';
import { MediaType } from '../../../shared/oci/media-types.js';

export async function logDir(name: string): Promise<string> {
  const dir = join(services().workDir, 'resilience', `${name}-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** A source location for component versions in the fs registry, unique to the caller. */
export function sourceBaseUrl(prefix: string): string {
  return `http://${services().registry.fs.host}/${prefix}-${randomBytes(4).toString('hex')}`;
}

export async function pushSource(baseUrl: string, cv: ComponentVersionInput): Promise<void> {
  const connector = registryConnector({ insecureHosts: [services().registry.fs.host] });
  try {
    await pushComponentVersion(connector.connect, baseUrl, cv);
  } finally {
    await connector.close();
  }
}

/** The standard test component (a Helm chart and a manifests tarball) at `version`, pushed to a new source. */
export async function standardSource(prefix: string, version = '1.0.0'): Promise<string> {
  const base = sourceBaseUrl(prefix);
  await pushSource(base, await componentVersion({ version }));
  return base;
}

/** The crash tests' workload: `ocm.software/test/big` 1.0.0 with one localBlob `big` of `size` random bytes, pushed to a
 * new source. Returns the source's base URL. */
export async function bigBlobSource(prefix: string, size: number): Promise<string> {
  const base = sourceBaseUrl(prefix);
  const big = await localBlobResource(
    { name: 'big', version: '1.0.0', type: 'blob' },
    { mediaType: MediaType.OctetStream, data: randomBytes(size) },
  );
  const descriptor: ComponentDescriptor = {
    schemaVersion: 'v2',
    name: 'ocm.software/test/big',
    version: '1.0.0',
    provider: { name: 'ocm-knative-tests' },
    repositoryContexts: [],
    sources: [],
    references: [],
    resources: [big.resource],
    signatures: [],
  };
  await pushSource(base, { descriptor, blobs: [big.blob] });
  return base;
}

/** The objects that take `bigBlobSource`'s blob by reference: OCMRepository `source`, Component and Resource `big`. */
export async function createBigBlobPipeline(c: Cluster, base: string): Promise<void> {
  await c.create('OCMRepository', 'source', { repositorySpec: { type: 'OCIRegistry', baseUrl: base } });
  await c.create('Component', 'big', { repositoryRef: { name: 'source' }, component: 'ocm.software/test/big', semver: '1.0.0' });
  await c.create('Resource', 'big', { componentRef: { name: 'big' }, resource: { byReference: { resource: { name: 'big' } } } });
}

/** Fans the namespace's events out to the function processes with the given delivery semantics. */
export async function watchNamespace(c: Cluster, fns: Record<string, FunctionProcess>, mode: DeliveryMode): Promise<ChaosBroker> {
  const subs = Object.entries(fns).map(([stage, fp]) => ({ stage, url: fp.url, kinds: STAGE_KINDS[stage]! }));
  const broker = new ChaosBroker(c.kc, subs, mode, services().kube.server);
  await broker.watch(
    c.namespace,
    Object.values(PLURALS).map((plural) => ({ group: GROUP, version: VERSION, plural })),
  );
  return broker;
}

/** The functions' registry settings for zot (services().registry.zot) as their internal registry, as the push user. */
export function zotEnv(): Record<string, string> {
  const zot = services().registry.zot;
  return {
    REGISTRY_URL: zot.url,
    REGISTRY_CA_FILE: zot.caFile,
    REGISTRY_USERNAME: zot.push.username,
    REGISTRY_PASSWORD: zot.push.password,
  };
}

/**
 * Access to a zot (default: the run's) as the functions' push user, which reads every test namespace (the tenant
 * read user sees only its own), for verifyReadySnapshots and registryContents.
 */
export async function zotAccess(zot: ZotEndpoint = services().registry.zot): Promise<RegistryAccess> {
  return registryAccess(zot.url, { ca: await readFile(zot.caFile, 'utf8'), ...zot.push });
}

export function errorLogs(fns: Record<string, FunctionProcess>): string[] {
  return Object.values(fns).flatMap((f) => f.errors().map((l) => `${f.stage}: ${l.raw}`));
}

export function allLogLines(fns: Record<string, FunctionProcess>): LogLine[] {
  return Object.values(fns).flatMap((f) => f.logs);
}

/** The standard pipeline, Ready and settled, over function processes whose internal registry is a zot of its own. */
export interface OwnZotPipeline {
  c: Cluster;
  fns: Record<string, FunctionProcess>;
  broker: ChaosBroker;
  /** the running instance (restartZot replaces it) */
  zot: RunningZot;
  /** zot as the functions' push user */
  reg: RegistryAccess;
  /** the push user's Authorization header */
  pushAuth: string;
  /** stops zot and starts it again (same port, bucket, passwords) with `edit` as its test changes */
  restartZot(edit: (cfg: ZotConfig) => void): Promise<void>;
  /** HEAD (or DELETE) a manifest as the push user; the HTTP status */
  manifestStatus(repository: string, ref: string, method?: 'HEAD' | 'DELETE'): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The registry-events and registry-gc rig: the functions as processes with a zot of their own (the shipped config,
 * plus `edit`'s test changes, which may name the functions: zot's event sinks are their URLs, so zot's port is
 * chosen first and the functions start before it), the standard pipeline in a new namespace, Ready.
 */
export async function startOwnZotPipeline(
  name: string,
  opts: { seed: number; edit: (cfg: ZotConfig, fns: Record<string, FunctionProcess>) => void },
): Promise<OwnZotPipeline> {
  const s = services();
  const dir = await logDir(name);
  const id = randomBytes(3).toString('hex');
  const port = await freePort();
  const passwords = { push: `pw-${id}-push`, read: `pw-${id}-read` };
  const fns = await startFunctions(
    {
      KUBECONFIG: s.kube.kubeconfig,
      REGISTRY_URL: `https://127.0.0.1:${port}`,
      REGISTRY_CA_FILE: s.ca.certFile,
      REGISTRY_USERNAME: ZOT_USERS.push,
      REGISTRY_PASSWORD: passwords.push,
      INSECURE_REGISTRIES: s.registry.fs.host,
    },
    dir,
  );
  const zotOptions: StartZotOptions = { bin: goTool('zot'), workDir: dir, ca: s.ca, s3: s.s3, name: `zot-${name}-${id}`, rootDirectory: `/zot-${name}-${id}`, port, passwords };
  let zot: RunningZot | undefined;
  let broker: ChaosBroker | undefined;
  try {
    zot = await startZot({ ...zotOptions, edit: (cfg) => opts.edit(cfg, fns) });
    const reg = await zotAccess(zot.endpoint);
    const pushAuth = `Basic ${Buffer.from(`${zot.endpoint.push.username}:${zot.endpoint.push.password}`).toString('base64')}`;
    const c = await Cluster.create();
    broker = await watchNamespace(c, fns, { copies: 1, concurrency: 4, holdMs: 0, retries: 10, backoffMs: 200, maxBackoffMs: 3000, seed: opts.seed });
    await createStandardPipeline(c, await standardSource(`${name}-src`));
    await c.waitAllReady(STANDARD_KINDS, STANDARD_COUNT, 150_000);
    await broker.settle(500, 60_000);
    const rig: OwnZotPipeline = {
      c,
      fns,
      broker,
      zot,
      reg,
      pushAuth,
      async restartZot(edit) {
        await rig.zot.stop();
        rig.zot = await startZot({ ...zotOptions, edit });
      },
      async manifestStatus(repository, ref, method = 'HEAD') {
        const res = await request(`${reg.url}/v2/${repository}/manifests/${ref}`, {
          method,
          dispatcher: reg.dispatcher as Dispatcher,
          headers: { authorization: pushAuth, accept: MediaType.ImageManifest },
        });
        await res.body.dump();
        return res.statusCode;
      },
      async stop() {
        await broker?.stop();
        await Promise.all(Object.values(fns).map((f) => f.stop()));
        await rig.zot.stop();
      },
    };
    return rig;
  } catch (err) {
    await broker?.stop();
    await Promise.all(Object.values(fns).map((f) => f.stop()));
    await zot?.stop();
    throw err;
  }
}
