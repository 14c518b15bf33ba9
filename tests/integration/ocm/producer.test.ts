/**
 * OCM library against a real registry (docker-registry 2.8) and a real producer.
 *
 * Producer: the OCM CLI built by tests/infra/install (services().bin.ocm): it creates the component versions
 * (local helm chart blob, plain tar, ociArtifact reference, component reference) into a CTF, signs them with
 * an RSA key and transfers them to the registry. Our library must read, resolve and verify everything, and reject
 * tampered copies.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType, RegistryClient } from '../../../shared/oci/index.js';
import {
  descriptorSet,
  DigestMismatchError,
  fetchWithReferences,
  openRepository,
  openResourceAccess,
  pushComponentVersion,
  registryConnector,
  resolveComponentVersion,
  resolveResource,
  verifyComponent,
  writeCtfDirectory,
  type ClosableConnector,
  type ComponentRepository,
  type ComponentVersionInput,
} from '../../../shared/ocm/index.js';
import { readBounded } from '../../../shared/ocm/streams.js';
import { services, type Services } from '../../infra/services.js';
import { APP, BASE, sampleChart } from '../../fixtures/ocm/sample.js';
import { rsaKeys } from '../../support/components.js';
import { sha256 } from '../../support/digest.js';
import { pushSingleLayerManifest } from '../../support/oci-artifacts.js';

const run = promisify(execFile);

let svc: Services;
let work: string;
let connector: ClosableConnector;
const keys = rsaKeys({ privateKeyEncoding: 'pkcs1' });
let image: { reference: string; digest: string };
/** which producer made the data (named in the tampered copy's path) */
let producer: 'ocm-cli';
let ctfPath: string;
let registryBase: string;

async function pushImage(): Promise<{ reference: string; digest: string }> {
  const client = new RegistryClient({ url: svc.registry.fs.url });
  const desc = await pushSingleLayerManifest(client.repository('ocm-it/images/podinfo'), {
    config: Buffer.from('{}'),
    configMediaType: MediaType.ImageConfig,
    layer: Buffer.from('not really an image, but a real OCI artifact\n'),
    layerMediaType: MediaType.Layer,
    tag: '6.7.1',
  });
  await client.close();
  return { reference: `${svc.registry.fs.host}/ocm-it/images/podinfo:6.7.1`, digest: desc.digest };
}

/** The OCM CLI path: component-constructor -> CTF -> sign -> transfer to the registry. */
async function produceWithOcmCli(ocm: string): Promise<void> {
  const src = join(work, 'src');
  await mkdir(join(src, 'data'), { recursive: true });
  await writeFile(join(src, 'chart.tgz'), await sampleChart('0.1.0'));
  await writeFile(join(src, 'data', 'a.txt'), 'A\n');
  await writeFile(join(src, 'base-config.txt'), 'base: config\n');
  await writeFile(join(src, 'app-config.txt'), 'app: config\n');
  await writeFile(join(src, 'rsa.priv'), keys.privateKey);
  const constructor = `components:
- name: ${BASE}
  version: 1.0.0
  provider: { name: acme.org }
  resources:
  - name: config
    type: plainText
    input: { type: file, path: base-config.txt, mediaType: text/plain }
${['1.0.0', '1.1.0']
  .map(
    (v) => `- name: ${APP}
  version: ${v}
  provider: { name: acme.org }
  componentReferences:
  - name: base
    componentName: ${BASE}
    version: 1.0.0
  resources:
  - name: chart
    type: helmChart
    version: 0.1.0
    input: { type: file, path: chart.tgz, mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip }
  - name: data
    type: directoryTree
    input: { type: dir, path: data }
  - name: config
    type: plainText
    input: { type: file, path: app-config.txt, mediaType: text/plain }
  - name: image
    type: ociImage
    version: 6.7.1
    relation: external
    access: { type: ociArtifact, imageReference: http://${image.reference} }`, // http://: the OCM CLI's way to say plain HTTP
  )
  .join('\n')}
`;
  await writeFile(join(src, 'component-constructor.yaml'), constructor);
  const env = { ...process.env, HOME: work };
  const ocmRun = async (args: string[]): Promise<string> => {
    try {
      const { stdout } = await run(ocm, args, { cwd: src, env, maxBuffer: 16 << 20 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(`ocm ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    }
  };
  ctfPath = join(work, 'ctf-cli');
  await ocmRun(['add', 'componentversions', '--create', '--file', ctfPath, 'component-constructor.yaml']);
  for (const v of ['1.0.0', '1.1.0']) {
    await ocmRun(['sign', 'componentversions', '--signature', 'acme', '--private-key', 'rsa.priv', '--repo', ctfPath, `${APP}:${v}`]);
  }
  registryBase = `http://${svc.registry.fs.host}/ocm-cli`;
  await ocmRun(['transfer', 'ctf', ctfPath, registryBase]);
}

beforeAll(async () => {
  svc = services();
  work = await mkdtemp(join(svc.workDir, 'ocm-producer-'));
  connector = registryConnector({ insecureHosts: [svc.registry.fs.host] });
  image = await pushImage();
  producer = 'ocm-cli';
  await produceWithOcmCli(svc.bin.ocm);
});

afterAll(async () => {
  await connector?.close();
});

async function checkRepository(repo: ComponentRepository): Promise<void> {
  const { version, descriptor } = await resolveComponentVersion(repo, APP, { semver: '^1.0.0' });
  expect(version).toBe('1.1.0');
  const set = await fetchWithReferences(repo, descriptor);
  expect(set.all.map((c) => `${c.name}:${c.version}`)).toEqual([`${APP}:1.1.0`, `${BASE}:1.0.0`]);
  const result = await verifyComponent(set, { keys: [{ signature: 'acme', publicKey: keys.publicKey }], access: { repository: repo, oci: connector.connect } });
  expect(result.referencesChecked).toBe(1);
  // chart, data, config, image (manifest digest via HEAD) + base config
  expect(result.resourcesChecked).toBe(5);
  // resource of a referenced component, through the referencePath, from its own descriptor
  const viaRef = resolveResource(set, set.root, { name: 'config' }, [{ name: 'base' }]);
  expect(viaRef.component.name).toBe(BASE);
  const cfg = await openResourceAccess(viaRef.component, viaRef.resource, { repository: repo, oci: connector.connect });
  if (cfg.kind !== 'blob') throw new Error('expected a blob');
  expect((await readBounded(await cfg.open(), 1 << 20, 'config')).toString()).toBe('base: config\n');
  // local helm chart blob
  const chart = resolveResource(set, set.root, { name: 'chart' });
  const chartAccess = await openResourceAccess(chart.component, chart.resource, { repository: repo });
  if (chartAccess.kind !== 'blob') throw new Error('expected a blob');
  expect((await readBounded(await chartAccess.open(), 1 << 24, 'chart')).equals(await sampleChart('0.1.0'))).toBe(true);
  // plain tar (directory) resource: streams to the end with its digest verified
  const data = resolveResource(set, set.root, { name: 'data' });
  const dataAccess = await openResourceAccess(data.component, data.resource, { repository: repo });
  if (dataAccess.kind !== 'blob') throw new Error('expected a blob');
  expect((await readBounded(await dataAccess.open(), 1 << 24, 'data')).length).toBeGreaterThan(0);
  // ociArtifact: a reference to copy whole, checked against the registry's manifest digest
  const img = resolveResource(set, set.root, { name: 'image' });
  const imgAccess = await openResourceAccess(img.component, img.resource, { repository: repo, oci: connector.connect });
  expect(imgAccess.kind).toBe('ociArtifact');
  if (imgAccess.kind === 'ociArtifact') {
    expect(imgAccess.manifestDigest).toBe(image.digest);
    expect(imgAccess.reference.repository).toBe('ocm-it/images/podinfo');
  }
}

describe('OCM producer -> our library', () => {
  it('reads, resolves and verifies the CTF', async () => {
    const repo = await openRepository({ type: 'CommonTransportFormat', filePath: ctfPath });
    try {
      await checkRepository(repo);
    } finally {
      await repo.close();
    }
  });

  it('reads, resolves and verifies the registry copy', async () => {
    const repo = await openRepository({ type: 'OCIRegistry', baseUrl: registryBase }, { oci: connector.connect });
    await checkRepository(repo);
    expect((await repo.listVersions(APP)).sort()).toEqual(['1.0.0', '1.1.0']);
  });

  it('a peer (crane) reads our/the producer registry layout', async () => {
    const path = registryBase.replace(/^http:\/\//, '');
    const { stdout } = await run(svc.bin.crane, ['manifest', '--insecure', `${path}/component-descriptors/${APP}:1.1.0`]);
    const m = JSON.parse(stdout) as { config: { mediaType: string }; layers: { mediaType: string }[] };
    // literal on purpose: the wire value the OCM CLI writes
    expect(m.config.mediaType).toBe('application/vnd.ocm.software.component.config.v1+json');
    expect(m.layers[0]!.mediaType).toMatch(/component-descriptor\.v2\+(yaml\+tar|json|yaml)/);
  });

  it('rejects a tampered copy (changed local blob; changed signed descriptor)', async () => {
    // changed blob: unpack the CTF to a directory, overwrite base's config blob
    const src = await openRepository({ type: 'CommonTransportFormat', filePath: ctfPath });
    const set = await fetchWithReferences(src, { name: APP, version: '1.1.0' });
    const cvs: ComponentVersionInput[] = [];
    for (const cd of set.all) {
      const blobs = [];
      for (const r of cd.resources.filter((x) => x.access?.type === 'localBlob')) {
        const a = await openResourceAccess(cd, r, { repository: src, skipDigestVerification: true });
        if (a.kind !== 'blob') continue;
        let bytes = await readBounded(await a.open(), 1 << 26, r.name);
        if (cd.name === BASE) bytes = Buffer.from('base: tampered\n');
        blobs.push({ mediaType: a.mediaType, data: bytes });
      }
      const copy = structuredClone(cd);
      for (const r of copy.resources.filter((x) => x.access?.type === 'localBlob')) {
        const b = blobs[copy.resources.filter((x) => x.access?.type === 'localBlob').indexOf(r)]!;
        r.access!['localReference'] = sha256(b.data);
      }
      cvs.push({ descriptor: copy, blobs });
    }
    await src.close();
    const tampered = `http://${svc.registry.fs.host}/ocm-tampered-${producer}`;
    for (const cv of cvs) await pushComponentVersion(connector.connect, tampered, cv);
    const repo = await openRepository({ type: 'OCIRegistry', baseUrl: tampered }, { oci: connector.connect });
    const tset = await fetchWithReferences(repo, { name: APP, version: '1.1.0' });
    // signature still fine (metadata unchanged except localReference, which is not signed) ...
    await expect(verifyComponent(tset, { keys: [{ signature: 'acme', publicKey: keys.publicKey }], skipResourceDigests: true })).resolves.toBeTruthy();
    // ... but the resource digest catches the changed bytes
    await expect(verifyComponent(tset, { keys: [{ signature: 'acme', publicKey: keys.publicKey }], access: { repository: repo, oci: connector.connect } })).rejects.toBeInstanceOf(
      DigestMismatchError,
    );
    // changed signed metadata in the root: the normalised digest no longer matches the signature
    const root = structuredClone(tset.root);
    root.resources.find((r) => r.name === 'config')!.version = '6.6.6';
    await expect(verifyComponent(descriptorSet(root, tset.all.slice(1)), { keys: [{ signature: 'acme', publicKey: keys.publicKey }], skipResourceDigests: true })).rejects.toBeInstanceOf(
      DigestMismatchError,
    );
  });

  it('CTF directory produced by our writer from the registry copy is readable by the library again', async () => {
    const repo = await openRepository({ type: 'OCIRegistry', baseUrl: registryBase }, { oci: connector.connect });
    const set = await fetchWithReferences(repo, { name: APP, version: '1.1.0' });
    const cvs: ComponentVersionInput[] = [];
    for (const cd of set.all) {
      const blobs = [];
      for (const r of cd.resources.filter((x) => x.access?.type === 'localBlob')) {
        const a = await openResourceAccess(cd, r, { repository: repo });
        if (a.kind === 'blob') blobs.push({ mediaType: a.mediaType, data: await readBounded(await a.open(), 1 << 26, r.name), digest: String(r.access!['localReference']) });
      }
      cvs.push({ descriptor: cd, blobs });
    }
    const dir = join(work, 'roundtrip');
    await writeCtfDirectory(dir, cvs);
    const back = await openRepository({ type: 'CommonTransportFormat', filePath: dir });
    await checkRepository(back);
    await back.close();
    expect((await readdir(join(dir, 'blobs'))).length).toBeGreaterThan(5);
  });
});
