import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { buildExampleCtf, EXAMPLES_DIR } from '../../../examples/build-ctf.js';
import { readArchive } from '../../../shared/archive/index.js';
import { compileRules, configureArchive, descriptorImageResolver, type ConfigurationRule } from '../../../shared/configure/index.js';
import { MediaType } from '../../../shared/oci/media-types.js';
import { CtfRepository } from '../../../shared/ocm/ctf.js';
import type { ComponentDescriptor } from '../../../shared/ocm/model.js';
import { loadManifests } from '../../../functions/runner/manifests.js';

const run = promisify(execFile);
const COMPONENT = 'ocm.software/examples/podinfo';

async function tree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(p);
      else out.set(p, await readFile(join(dir, p)));
    }
  };
  await walk('');
  return out;
}

async function bytes(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function files(archive: Buffer): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of readArchive(archive)) {
    const body = await bytes(e.body);
    if (e.type === 'file') out.set(e.path, body.toString('utf8'));
  }
  return out;
}

describe('examples/build-ctf.ts', () => {
  let scratch: string;
  let first: string;
  let repo: CtfRepository;
  let descriptor: ComponentDescriptor;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'example-ctf-'));
    first = join(scratch, 'one');
    await buildExampleCtf(first);
    repo = await CtfRepository.open({ type: 'CommonTransportFormat', filePath: first });
    descriptor = await repo.getDescriptor(COMPONENT, '1.0.0');
  });
  afterAll(async () => {
    await repo?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('builds byte-identical CTFs in two directories and two processes', async () => {
    const second = join(scratch, 'elsewhere', 'two');
    await run(process.execPath, ['--import', 'tsx', join(EXAMPLES_DIR, 'build-ctf.ts'), second], { cwd: resolve('.') });
    const a = await tree(first);
    const b = await tree(second);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [path, content] of a) expect(b.get(path)?.equals(content), path).toBe(true);
    expect(a.has('artifact-index.json')).toBe(true);
  });

  it('holds the component with chart, manifests, image and config resources', async () => {
    expect(await repo.listVersions(COMPONENT)).toEqual(['1.0.0']);
    expect(descriptor.provider.name).toBe('ocm.software');
    expect(descriptor.resources.map((r) => [r.name, r.type, r.access?.type])).toEqual([
      ['chart', 'helmChart', 'localBlob'],
      ['manifests', 'directoryTree', 'localBlob'],
      ['image', 'ociImage', 'ociArtifact'],
      ['config', 'ocm.software/configuration-rules', 'localBlob'],
    ]);
    for (const r of descriptor.resources.filter((x) => x.access?.type === 'localBlob')) {
      expect(r.digest?.normalisationAlgorithm, r.name).toBe('genericBlobDigest/v1');
    }
  });

  it('stores the chart as a chart archive <name>/... and the manifests as a plain tar', async () => {
    const chartRes = descriptor.resources.find((r) => r.name === 'chart')!;
    expect(chartRes.access?.['mediaType']).toBe(MediaType.HelmChart);
    const chart = await bytes(await (await repo.getLocalBlob(COMPONENT, '1.0.0', String(chartRes.access?.['localReference']))).open());
    const chartFiles = await files(chart);
    expect([...chartFiles.keys()].sort()).toEqual([
      'podinfo/Chart.yaml',
      'podinfo/templates/_helpers.tpl',
      'podinfo/templates/deployment.yaml',
      'podinfo/templates/service.yaml',
      'podinfo/values.yaml',
    ]);
    const manifestsRes = descriptor.resources.find((r) => r.name === 'manifests')!;
    expect(manifestsRes.access?.['mediaType']).toBe('application/x-tar');
    const tar = await bytes(await (await repo.getLocalBlob(COMPONENT, '1.0.0', String(manifestsRes.access?.['localReference']))).open());
    expect(tar[0]).not.toBe(0x1f); // not gzip: the resource stage adds it
    expect([...(await files(tar)).keys()]).toEqual(['configmap.yaml', 'deployment.yaml', 'kustomization.yaml', 'service.yaml']);
    // every manifest in the bundle is valid YAML
    for (const [name, text] of await files(tar)) {
      for (const doc of parseAllDocuments(text)) expect(doc.errors, name).toEqual([]);
    }
  });

  it('has manifests the runner accepts, pointing at the CTF relative to their directory', async () => {
    const loaded = await loadManifests([join(EXAMPLES_DIR, 'manifests')]);
    expect(loaded.problems).toEqual([]);
    expect(loaded.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'Component/podinfo',
      'Configuration/podinfo-chart',
      'Configuration/podinfo-manifests',
      'OCMRepository/examples-ctf',
      'Publication/podinfo-chart',
      'Publication/podinfo-manifests',
      'Resource/podinfo-chart',
      'Resource/podinfo-manifests',
    ]);
    const repoObj = loaded.objects.find((o) => o.kind === 'OCMRepository')!;
    expect((repoObj.spec as { repositorySpec: { filePath: string } }).repositorySpec.filePath).toBe(join(EXAMPLES_DIR, 'ctf'));
  });

  it('configures the example chart and manifests as the Configurations say', async () => {
    const loaded = await loadManifests([join(EXAMPLES_DIR, 'manifests')]);
    const rulesOf = (name: string): ConfigurationRule[] =>
      (loaded.objects.find((o) => o.kind === 'Configuration' && o.metadata.name === name)!.spec as { rules: ConfigurationRule[] }).rules;
    const images = descriptorImageResolver(descriptor, [descriptor]);
    const blob = async (name: string): Promise<Buffer> => {
      const r = descriptor.resources.find((x) => x.name === name)!;
      return bytes(await (await repo.getLocalBlob(COMPONENT, '1.0.0', String(r.access?.['localReference']))).open());
    };

    const chart = await configureArchive({ input: await blob('chart'), rules: rulesOf('podinfo-chart'), images, helm: true });
    expect(chart.chart).toMatchObject({ name: 'podinfo', version: '6.7.1' });
    expect(chart.filesChanged).toEqual(['podinfo/values.yaml']);
    const values = (await files(await bytes(chart.output))).get('podinfo/values.yaml')!;
    expect(values).toContain('replicaCount: 2\n');
    expect(values).toContain('  repository: ghcr.io/stefanprodan/podinfo\n');
    expect(values).toContain('  tag: "6.7.1"\n');
    expect(values).toContain('  message: "Hello from ocm-knative"\n');
    expect(values).toContain('# localized from the component\'s "image" resource');

    const manifests = await configureArchive({ input: await blob('manifests'), rules: rulesOf('podinfo-manifests'), images });
    expect(manifests.chart).toBeUndefined();
    const out = await files(await bytes(manifests.output));
    expect(out.get('deployment.yaml')).toContain('image: ghcr.io/stefanprodan/podinfo:6.7.1\n');
    expect(out.get('deployment.yaml')).toContain('command: ["./podinfo", "--port=9898"]\n');
    expect(out.get('configmap.yaml')).toContain('PODINFO_UI_MESSAGE: "Hello from configured manifests"\n');

    // the rules shipped in the component's config resource compile against the same descriptor
    const shipped = parseAllDocuments((await blob('config')).toString('utf8'))[0]!.toJS() as ConfigurationRule[];
    expect(compileRules(shipped, images).map((s) => s.path)).toEqual(['replicaCount', 'image.repository', 'image.tag']);
  });
});
