/**
 * Object access for one test namespace (create/get/list/wait on our kinds), the standard component and
 * pipeline the resilience tests run, and the checks they share: every Ready Snapshot's manifest is in the
 * registry and its bytes hash to the recorded digests.
 */
import { createHash } from 'node:crypto';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { Agent, request, type Dispatcher } from 'undici';
import type { KubeObject, SnapshotObject } from '../../../shared/ports/index.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNamespace, installCrds, kubeConfig } from '../../infra/kube.js';
import { upstreamCrdFiles } from '../../infra/upstream-crds.js';
import { sha256 } from '../../support/digest.js';
import { retry429 } from '../../support/eventing-driver.js';
import { REPLICAS_RULE } from '../../support/podinfo.js';
import { isReady, ready } from '../../support/ready.js';
import { waitFor } from '../../support/wait.js';
import { GROUP, VERSION } from '../../../shared/kube/index.js';
import { PLURALS } from '../../../shared/kube/index.js';
import { ManifestAcceptTypes } from '../../../shared/oci/media-types.js';

export const KINDS = Object.keys(PLURALS);
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
let crdsInstalled: Promise<unknown> | undefined;

export class Cluster {
  readonly api: CustomObjectsApi;
  private constructor(
    readonly namespace: string,
    readonly kc: KubeConfig,
  ) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  static async create(): Promise<Cluster> {
    crdsInstalled ??= installCrds([join(REPO, 'knative', 'crds'), ...upstreamCrdFiles('source.toolkit.fluxcd.io')]);
    await crdsInstalled;
    return new Cluster(await createNamespace(), kubeConfig());
  }

  async create(kind: string, name: string, spec: Record<string, unknown>): Promise<KubeObject> {
    return (await retry429(() =>
      this.api.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: this.namespace,
        plural: PLURALS[kind]!,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name, namespace: this.namespace }, spec },
      }),
    )) as KubeObject;
  }

  async get(kind: string, name: string): Promise<KubeObject | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURALS[kind]!, name })) as KubeObject;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  async list(kind: string): Promise<KubeObject[]> {
    const res = (await retry429(() =>
      this.api.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURALS[kind]! }),
    )) as { items: KubeObject[] };
    return res.items;
  }

  async listOCIRepositories(): Promise<KubeObject[]> {
    const res = (await this.api.listNamespacedCustomObject({
      group: 'source.toolkit.fluxcd.io',
      version: 'v1',
      namespace: this.namespace,
      plural: 'ocirepositories',
    })) as { items: KubeObject[] };
    return res.items;
  }

  /** Every object of ours (and the OCIRepositories we create), in a stable order. */
  async all(): Promise<KubeObject[]> {
    const lists = await Promise.all([...KINDS.map((k) => this.list(k)), this.listOCIRepositories()]);
    return lists.flat().sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
  }

  /** Waits until every object of the given kinds is Ready=True for its current generation. */
  async waitAllReady(kinds: string[], expected: number, timeoutMs = 90_000): Promise<KubeObject[]> {
    let last: KubeObject[] = [];
    try {
      return await waitFor(
        `${expected} objects Ready`,
        async () => {
          last = (await Promise.all(kinds.map((k) => this.list(k)))).flat();
          return last.length === expected && last.every(isReady) ? last : undefined;
        },
        timeoutMs,
      );
    } catch (err) {
      const state = last.map((o) => `${o.kind}/${o.metadata.name}: ${JSON.stringify(ready(o))}`).join('\n  ');
      throw new Error(`${(err as Error).message}\n  ${state}`);
    }
  }

  /** Waits for Ready=False with `reason` on one object. */
  async waitFailed(kind: string, name: string, reason: string, timeoutMs = 90_000): Promise<{ reason?: string; message?: string }> {
    let last: KubeObject | undefined;
    try {
      return await waitFor(
        `${kind} ${name} Ready=False ${reason}`,
        async () => {
          last = await this.get(kind, name);
          const r = ready(last);
          return r.status === 'False' && r.reason === reason ? r : undefined;
        },
        timeoutMs,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last: ${JSON.stringify(ready(last))}`);
    }
  }
}

/** The objects of the standard pipeline: one component, two resources, two configurations, two publications. */
export async function createStandardPipeline(c: Cluster, sourceBaseUrl: string, opts: { version?: string; secretName?: string } = {}): Promise<void> {
  const version = opts.version ?? '1.0.0';
  await c.create('OCMRepository', 'source', {
    repositorySpec: { type: 'OCIRegistry', baseUrl: sourceBaseUrl },
    ...(opts.secretName ? { secretRef: { name: opts.secretName } } : {}),
  });
  await c.create('Component', 'app', { repositoryRef: { name: 'source' }, component: 'ocm.software/test/podinfo', semver: `^${version}` });
  for (const name of ['chart', 'manifests']) {
    await c.create('Resource', name, { componentRef: { name: 'app' }, resource: { byReference: { resource: { name } } } });
  }
  await c.create('Configuration', 'manifests', {
    target: { kind: 'Resource', name: 'manifests' },
    rules: [{ yamlsubst: { source: { value: 'green' }, target: { file: { path: 'deploy.yaml', value: 'data.color' } } } }],
  });
  await c.create('Configuration', 'chart', {
    target: { kind: 'Resource', name: 'chart' },
    rules: [REPLICAS_RULE],
  });
  for (const name of ['chart', 'manifests']) await c.create('Publication', name, { source: { kind: 'Configuration', name } });
}

/** OCMRepository, Component, 2 Resources, 2 Configurations, 2 Publications, and a Snapshot for each producer. */
export const STANDARD_KINDS = ['OCMRepository', 'Component', 'Resource', 'Configuration', 'Publication', 'Snapshot'];
export const STANDARD_COUNT = 8 + 5;

export interface RegistryAccess {
  /** e.g. http://127.0.0.1:5000 */
  url: string;
  dispatcher?: Dispatcher;
  /** value of the Authorization header */
  authorization?: string;
}

export function registryAccess(url: string, opts: { ca?: string; username?: string; password?: string } = {}): RegistryAccess {
  return {
    url,
    ...(opts.ca ? { dispatcher: new Agent({ connect: { ca: opts.ca } }) } : {}),
    ...(opts.username ? { authorization: `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}` } : {}),
  };
}

async function registryGet(reg: RegistryAccess, path: string, accept?: string): Promise<{ status: number; bytes: Buffer }> {
  const res = await request(`${reg.url}${path}`, {
    ...(reg.dispatcher ? { dispatcher: reg.dispatcher } : {}),
    headers: {
      ...(reg.authorization ? { authorization: reg.authorization } : {}),
      ...(accept ? { accept } : {}),
    },
  });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, bytes };
}

/** sha256 of a blob, streamed from the registry (never held whole). */
async function blobDigest(reg: RegistryAccess, repository: string, digest: string): Promise<{ status: number; digest: string; size: number }> {
  const res = await request(`${reg.url}/v2/${repository}/blobs/${digest}`, {
    ...(reg.dispatcher ? { dispatcher: reg.dispatcher } : {}),
    headers: reg.authorization ? { authorization: reg.authorization } : {},
    maxRedirections: 0,
  } as Parameters<typeof request>[1]);
  if (res.statusCode !== 200) {
    await res.body.dump();
    return { status: res.statusCode, digest: '', size: 0 };
  }
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of res.body) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { status: 200, digest: `sha256:${h.digest('hex')}`, size };
}

const MANIFEST_TYPES = ManifestAcceptTypes.join(', ');

/**
 * For every Ready Snapshot: its manifest is in the registry and hashes to spec.digest, and its layer is there
 * and hashes to spec.blob.digest with spec.blob.size bytes. Returns the problems found (empty = all good).
 */
export async function verifyReadySnapshots(c: Cluster, reg: RegistryAccess): Promise<{ checked: number; problems: string[] }> {
  const problems: string[] = [];
  let checked = 0;
  for (const snap of (await c.list('Snapshot')) as SnapshotObject[]) {
    if (!isReady(snap)) continue;
    checked++;
    const { repository, digest, blob } = snap.spec!;
    const where = `Snapshot ${snap.metadata.name} (${repository}@${digest})`;
    const m = await registryGet(reg, `/v2/${repository}/manifests/${digest}`, MANIFEST_TYPES);
    if (m.status !== 200) {
      problems.push(`${where}: manifest GET answered ${m.status}`);
      continue;
    }
    const md = sha256(m.bytes);
    if (md !== digest) problems.push(`${where}: manifest bytes hash to ${md}`);
    const manifest = JSON.parse(m.bytes.toString('utf8')) as { layers?: Array<{ digest: string; size: number }>; manifests?: unknown[] };
    if (manifest.manifests) continue; // an image index copied whole: its children were checked by the copy
    const layer = manifest.layers?.[0];
    if (!layer || layer.digest !== blob.digest) {
      problems.push(`${where}: manifest layer ${layer?.digest} is not spec.blob.digest ${blob.digest}`);
      continue;
    }
    const b = await blobDigest(reg, repository, blob.digest);
    if (b.status !== 200) problems.push(`${where}: blob ${blob.digest} GET answered ${b.status}`);
    else if (b.digest !== blob.digest || b.size !== blob.size) {
      problems.push(`${where}: blob bytes hash to ${b.digest} (${b.size} bytes), expected ${blob.digest} (${blob.size} bytes)`);
    }
  }
  return { checked, problems };
}

/** Tags of a repository and the manifest digest behind each (registry contents, comparable across runs). */
export async function registryContents(reg: RegistryAccess, repositories: string[]): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const repo of [...repositories].sort()) {
    const t = await registryGet(reg, `/v2/${repo}/tags/list`);
    const tags = t.status === 200 ? ((JSON.parse(t.bytes.toString('utf8')) as { tags?: string[] | null }).tags ?? []) : [];
    out[repo] = {};
    for (const tag of [...tags].sort()) {
      const m = await registryGet(reg, `/v2/${repo}/manifests/${tag}`, MANIFEST_TYPES);
      out[repo][tag] = sha256(m.bytes);
    }
  }
  return out;
}
