/**
 * Bad input (issue 9), from the corpus in tests/fixtures/bad-input: malformed, oversized and foreign CloudEvents
 * are answered 4xx with an error naming the problem; malicious archives (traversal, absolute paths, link
 * escapes, a gzip bomb), YAML alias bombs (in values.yaml and in a descriptor), a descriptor whose reference
 * digest is wrong, a wrong signature and a descriptor above the size limit end as Ready=False with a specific
 * reason and message. The function processes stay up, keep serving good work, and their peak RSS stays bounded.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, digestOf } from '../../../shared/oci/index.js';
import { componentRepositoryPath, descriptorSet, localBlobResource, signComponent, type ComponentDescriptor } from '../../../shared/ocm/index.js';
import { services } from '../../infra/services.js';
import { ARCHIVES, CORPUS_DIR, deeplyNestedEvent, eventCases, hugeDescriptor, oversizedEvent, type EventCase } from '../../fixtures/bad-input/generate.js';
import { rsaKeys } from '../../support/components.js';
import { isReady } from '../../support/ready.js';
import { waitFor } from '../../support/wait.js';
import { ORDERED, type ChaosBroker } from './broker.js';
import { Cluster, STANDARD_COUNT, STANDARD_KINDS, createStandardPipeline } from './cluster.js';
import { startFunctions, type FunctionProcess } from './functions.js';
import { logDir, pushSource, sourceBaseUrl, standardSource, watchNamespace, zotEnv } from './rig.js';
import { pushSingleLayerManifest } from '../../support/oci-artifacts.js';
import { MediaType } from '../../../shared/oci/media-types.js';

/**
 * Bound on how much a function's peak RSS may grow while it works through the corpus, over its peak after
 * start-up and one resync tick (handler and adapters loaded). Measured: the warm peak is 205-230 MiB under tsx
 * (TypeScript compiled in-process; the esbuild bundles are smaller), and the corpus adds 25-65 MiB (the
 * oversized and deeply nested events, archive and descriptor handling). Any bomb of the corpus, if it were
 * expanded, needs more than the bound: the gzip bomb inflates to 64 MiB (plus tar buffers) if held in memory,
 * the alias bombs to 9^9 strings (GiBs), the 6 MiB descriptor to a parsed YAML document of several times its
 * size, the oversized event to 6 MiB plus its JSON copies per function.
 */
const RSS_GROWTH_BOUND = 96 * 1024 * 1024;
const PING: EventCase = {
  file: 'ping',
  why: 'resync tick',
  headers: { 'content-type': 'application/json', 'ce-id': 'warm-up', 'ce-specversion': '1.0', 'ce-source': '/ping', 'ce-type': 'dev.knative.sources.ping' },
  // scoped to a namespace with nothing in it: loads the handler without working on other tests' objects
  body: '{"namespace":"resilience-warm-up"}',
  expect: { status: [200, 202] },
};

interface ArchiveCase {
  file: string;
  mediaType: string;
  /** what the failing object's message must say */
  message: RegExp;
}

const ARCHIVE_CASES: ArchiveCase[] = [
  { file: 'dot-dot.tar.gz', mediaType: MediaType.LayerGzip, message: /\.\.\/evil\.txt|travers/i },
  { file: 'absolute-path.tar.gz', mediaType: MediaType.LayerGzip, message: /absolute/i },
  { file: 'symlink-relative.tar', mediaType: 'application/x-tar', message: /symlink|link/i },
  { file: 'symlink-absolute.tar.gz', mediaType: MediaType.LayerGzip, message: /symlink|link/i },
  { file: 'hardlink-relative.tar.gz', mediaType: MediaType.LayerGzip, message: /hardlink|link/i },
  { file: 'hardlink-absolute.tar.gz', mediaType: MediaType.LayerGzip, message: /hardlink|link/i },
  { file: 'gzip-bomb.tar.gz', mediaType: MediaType.LayerGzip, message: /ratio|compress/i },
];

async function post(url: string, c: EventCase): Promise<{ status: number; body: string }> {
  const res = await request(url, { method: 'POST', headers: c.headers, body: c.body, headersTimeout: 60_000, bodyTimeout: 60_000 });
  return { status: res.statusCode, body: await res.body.text() };
}

/** Pushes a component version whose descriptor layer is `yaml` as given (not re-serialised). */
async function pushRawDescriptor(baseUrl: string, component: string, version: string, yaml: string): Promise<void> {
  const url = new URL(baseUrl);
  const client = new RegistryClient({ url: `${url.protocol}//${url.host}` });
  try {
    const repo = client.repository(componentRepositoryPath(url.pathname.replace(/^\//, ''), undefined, component));
    const layer = Buffer.from(yaml);
    const layerDesc = { mediaType: MediaType.ComponentDescriptorYaml, digest: digestOf(layer), size: layer.length };
    const config = Buffer.from(JSON.stringify({ componentDescriptorLayer: layerDesc }));
    await pushSingleLayerManifest(repo, { config, configMediaType: MediaType.ComponentConfig, layer, layerMediaType: layerDesc.mediaType, tag: version });
  } finally {
    await client.close();
  }
}

const mib = (n: number): string => (n / 1048576).toFixed(0);

function plainDescriptor(name: string, extra: Partial<ComponentDescriptor> = {}): ComponentDescriptor {
  return {
    schemaVersion: 'v2',
    name,
    version: '1.0.0',
    provider: { name: 'ocm-knative-tests' },
    repositoryContexts: [],
    sources: [],
    references: [],
    resources: [],
    signatures: [],
    ...extra,
  };
}

describe('resilience: the bad input corpus', () => {
  let fns: Record<string, FunctionProcess>;
  let c: Cluster;
  let broker: ChaosBroker;
  let source: string;
  const warm: Record<string, number> = {};
  const brokers: ChaosBroker[] = [];

  beforeAll(async () => {
    const s = services();
    // the cluster first: it installs the CRDs, without which the warm-up resync cannot list anything
    c = await Cluster.create();
    fns = await startFunctions({ KUBECONFIG: s.kube.kubeconfig, ...zotEnv(), INSECURE_REGISTRIES: s.registry.fs.host }, await logDir('bad-input'));
    // a resync tick loads each handler and its adapters: the baseline the bound is measured from
    // a 503 right after the CRDs were installed ("storage is (re)initializing") is retried, as the broker would
    const warmUp = async (f: FunctionProcess) => {
      for (let i = 0; ; i++) {
        const res = await post(f.url, PING);
        if (res.status !== 503 || i >= 40) return res;
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    for (const res of await Promise.all(Object.values(fns).map(warmUp))) expect(PING.expect.status, res.body).toContain(res.status);
    for (const f of Object.values(fns)) warm[f.stage] = f.memory().peak;
    console.log(`memory after start-up and one resync tick (peak MiB): ${Object.entries(warm).map(([k, v]) => `${k} ${mib(v)}`).join(', ')}`);
    broker = await watchNamespace(c, fns, { ...ORDERED, concurrency: 4 });
    brokers.push(broker);
    source = sourceBaseUrl('bad-src');
    await c.create('OCMRepository', 'source', { repositorySpec: { type: 'OCIRegistry', baseUrl: source } });
  });
  afterEach((ctx) => {
    const mem = Object.values(fns).map((f) => (f.running ? `${f.stage} ${mib(f.memory().rss)}/${mib(f.memory().peak)}` : `${f.stage} down`));
    console.log(`memory (rss/peak MiB) after "${ctx.task.name.slice(0, 40)}": ${mem.join(', ')}`);
  });
  afterAll(async () => {
    for (const b of brokers) await b.stop();
    await Promise.all(Object.values(fns ?? {}).map((f) => f.stop()));
  });

  it('malformed, oversized and foreign CloudEvents: 4xx naming the problem, at every function', async () => {
    const cases = [...(await eventCases()), oversizedEvent(), deeplyNestedEvent()];
    expect(cases.length).toBeGreaterThanOrEqual(14);
    const got: string[] = [];
    for (const f of Object.values(fns)) {
      for (const ev of cases) {
        const res = await post(f.url, ev);
        got.push(`${f.stage} ${ev.file}: ${res.status} ${res.body.slice(0, 160)} [rss ${mib(f.memory().rss)}/${mib(f.memory().peak)}]`);
        expect.soft(ev.expect.status, `${f.stage} ${ev.file} (${ev.why}) answered ${res.status}: ${res.body.slice(0, 300)}`).toContain(res.status);
        if (ev.expect.error) expect.soft(res.body, `${f.stage} ${ev.file}`).toContain(ev.expect.error);
      }
    }
    console.log(`bad events:\n  ${got.join('\n  ')}`);
  });

  it('malicious archives and a values.yaml alias bomb: Ready=False with a specific reason', async () => {
    const resources = [];
    const blobs = [];
    for (const a of ARCHIVE_CASES) {
      const name = a.file.replace(/\..*$/, '');
      const r = await localBlobResource({ name, version: '1.0.0', type: 'blob' }, { mediaType: a.mediaType, data: await readFile(join(CORPUS_DIR, 'archives', a.file)) });
      resources.push(r.resource);
      blobs.push(r.blob);
    }
    const chart = await localBlobResource(
      { name: 'alias-bomb-chart', version: '1.0.0', type: 'helmChart' },
      { mediaType: MediaType.HelmChart, data: await readFile(join(CORPUS_DIR, 'archives', 'alias-bomb-chart.tgz')) },
    );
    resources.push(chart.resource);
    blobs.push(chart.blob);
    expect(Object.values(ARCHIVES).sort()).toEqual(ARCHIVE_CASES.map((a) => a.file).sort());
    await pushSource(source, { descriptor: plainDescriptor('ocm.software/test/evil-archives', { resources }), blobs });
    await c.create('Component', 'evil', { repositoryRef: { name: 'source' }, component: 'ocm.software/test/evil-archives', semver: '1.0.0' });
    for (const r of resources) {
      await c.create('Resource', r.name, { componentRef: { name: 'evil' }, resource: { byReference: { resource: { name: r.name } } } });
      const path = r.name === 'alias-bomb-chart' ? 'values.yaml' : 'config.yaml';
      await c.create('Configuration', r.name, {
        target: { kind: 'Resource', name: r.name },
        rules: [{ yamlsubst: { source: { value: 2 }, target: { file: { path, value: 'replicaCount' } } } }],
      });
    }
    const cases = [...ARCHIVE_CASES.map((a) => ({ name: a.file.replace(/\..*$/, ''), message: a.message })), { name: 'alias-bomb-chart', message: /alias/i }];
    const outcome: string[] = [];
    for (const k of cases) {
      // the archive is read where it is first unpacked: the resource stage may pass it on unread (then configure fails)
      const failed = await waitFor(`Resource or Configuration ${k.name} to fail`, async () => {
        for (const kind of ['Resource', 'Configuration']) {
          const o = await c.get(kind, k.name);
          const ready = o?.status?.conditions?.find((x) => x.type === 'Ready');
          if (ready?.status === 'False' && !/NotReady$/.test(ready.reason ?? '')) return { kind, reason: ready.reason, message: ready.message ?? '' };
        }
        return undefined;
      });
      outcome.push(`${k.name}: ${failed.kind} ${failed.reason}: ${failed.message}`);
      expect(['ConfigurationFailed', 'GetResourceFailed', 'VerifyResourceFailed', 'PushSnapshotFailed'], `${k.name}: ${failed.reason}`).toContain(failed.reason);
      expect(failed.message, k.name).toMatch(k.message);
      expect(isReady(await c.get('Snapshot', `configuration-${k.name}`)), `no Ready Snapshot for ${k.name}`).toBe(false);
    }
    console.log(`bad archives:\n  ${outcome.join('\n  ')}`);
  });

  it('alias bomb, wrong reference digest, wrong signature, huge descriptor: Component Ready=False', async () => {
    const keys = rsaKeys();
    const otherKeys = rsaKeys();
    // a descriptor that is a YAML alias bomb, and one above the 4 MiB limit, exactly as written
    await pushRawDescriptor(source, 'ocm.software/test/alias-bomb', '1.0.0', await readFile(join(CORPUS_DIR, 'descriptors', 'alias-bomb.yaml'), 'utf8'));
    await pushRawDescriptor(source, 'ocm.software/test/huge', '1.0.0', hugeDescriptor('ocm.software/test/huge'));
    // signed with one key, verified with another
    const signed = await signComponent(descriptorSet(plainDescriptor('ocm.software/test/wrong-signature')), { signatureName: 'acme', privateKey: otherKeys.privateKey });
    await pushSource(source, { descriptor: signed.root, blobs: [] });
    // the parent records the child's digest and is signed correctly; the child in the registry is another one
    const child = plainDescriptor('ocm.software/test/child');
    const parent = plainDescriptor('ocm.software/test/parent', {
      references: [{ name: 'child', componentName: 'ocm.software/test/child', version: '1.0.0' }],
    });
    const signedParent = await signComponent(descriptorSet(parent, [child]), { signatureName: 'acme', privateKey: keys.privateKey });
    await pushSource(source, { descriptor: signedParent.root, blobs: [] });
    await pushSource(source, { descriptor: { ...child, provider: { name: 'someone-else' } }, blobs: [] });

    const verify = [{ signature: 'acme', value: keys.publicKey }];
    await c.create('Component', 'alias-bomb', { repositoryRef: { name: 'source' }, component: 'ocm.software/test/alias-bomb', semver: '1.0.0' });
    await c.create('Component', 'huge', { repositoryRef: { name: 'source' }, component: 'ocm.software/test/huge', semver: '1.0.0' });
    await c.create('Component', 'wrong-signature', { repositoryRef: { name: 'source' }, component: 'ocm.software/test/wrong-signature', semver: '1.0.0', verify });
    await c.create('Component', 'wrong-digest', { repositoryRef: { name: 'source' }, component: 'ocm.software/test/parent', semver: '1.0.0', verify });

    // the descriptor is first read while choosing the version (CheckVersionFailed) or when fetching the set
    const READ = ['CheckVersionFailed', 'GetComponentDescriptorsFailed'];
    const expectations: Array<[string, string[], RegExp]> = [
      ['alias-bomb', ['DescriptorInvalid'], /alias/i],
      ['huge', [...READ, 'DescriptorInvalid'], /limit|large|size/i],
      ['wrong-signature', ['ComponentVerificationFailed'], /signature/i],
      ['wrong-digest', ['ComponentVerificationFailed'], /digest/i],
    ];
    const outcome: string[] = [];
    for (const [name, reasons, message] of expectations) {
      const got = await waitFor(`Component ${name} to fail`, async () => {
        const o = await c.get('Component', name);
        const ready = o?.status?.conditions?.find((x) => x.type === 'Ready');
        return ready?.status === 'False' ? ready : undefined;
      });
      outcome.push(`${name}: ${got.reason}: ${got.message}`);
      expect.soft(reasons, `${name}: ${got.reason}: ${got.message}`).toContain(got.reason);
      expect.soft(got.message, name).toMatch(message);
      expect(await c.get('Snapshot', `component-${name}`), `no Snapshot for ${name}`).toBeUndefined();
    }
    console.log(`bad descriptors:\n  ${outcome.join('\n  ').slice(0, 3000)}`);
  });

  it('the functions stay up, still do good work, and their peak RSS grows by less than 96 MiB', async () => {
    const good = await Cluster.create();
    brokers.push(await watchNamespace(good, fns, { ...ORDERED, concurrency: 4 }));
    await createStandardPipeline(good, await standardSource('bad-good-src'));
    await good.waitAllReady(STANDARD_KINDS, STANDARD_COUNT, 120_000);
    const mem: string[] = [];
    for (const f of Object.values(fns)) {
      expect(f.running, `${f.stage} running`).toBe(true);
      expect(f.restarts).toBe(0);
      const res = await request(`${f.url}healthz`);
      await res.body.dump();
      expect(res.statusCode).toBe(200);
      const m = f.memory();
      mem.push(`${f.stage} rss ${mib(m.rss)} MiB, peak ${mib(m.peak)} MiB (warm ${mib(warm[f.stage]!)} MiB, +${mib(m.peak - warm[f.stage]!)})`);
      expect(m.peak - warm[f.stage]!, `${f.stage} peak RSS growth over ${mib(warm[f.stage]!)} MiB`).toBeLessThan(RSS_GROWTH_BOUND);
    }
    console.log(`bad input memory: ${mem.join('; ')}`);
  });
});
