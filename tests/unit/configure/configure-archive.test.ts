import { describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { packEntries, readArchive, type PackEntry } from '../../../shared/archive/index.js';
import {
  ChartError,
  LocalizationError,
  RuleError,
  UnsupportedRuleError,
  compileRules,
  configureArchive,
  createConfigureEngine,
  descriptorImageResolver,
  type ConfigurationRule,
} from '../../../shared/configure/index.js';
import type { ComponentDescriptor } from '../../../shared/ocm/model.js';
import { ObjectFailure } from '../../../shared/ports/errors.js';
import { sha256 } from '../../support/digest.js';
import { PODINFO_CHART_RULES } from '../../support/podinfo.js';

async function bytes(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function files(tgz: Buffer): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of readArchive(tgz)) {
    const body = await bytes(e.body);
    if (e.type === 'file') out.set(e.path, body.toString('utf8'));
  }
  return out;
}

const CHART: PackEntry[] = [
  { path: 'podinfo/Chart.yaml', type: 'file', content: 'apiVersion: v2\nname: podinfo\nversion: 6.7.1\nappVersion: 6.7.1\n' },
  {
    path: 'podinfo/values.yaml',
    type: 'file',
    content: '# values\nimage:\n  repository: ghcr.io/stefanprodan/podinfo # upstream\n  tag: 6.7.1\nreplicaCount: 1\n',
  },
  { path: 'podinfo/templates/deployment.yaml', type: 'file', content: 'kind: Deployment\n' },
];

function cd(name: string, resources: ComponentDescriptor['resources'], references: ComponentDescriptor['references'] = []): ComponentDescriptor {
  return {
    schemaVersion: 'v2',
    name,
    version: '1.0.0',
    provider: { name: 'acme' },
    repositoryContexts: [{ type: 'OCIRegistry', baseUrl: 'registry.example.com', subPath: 'mirror' }],
    sources: [],
    references,
    resources,
    signatures: [],
  };
}

const ROOT = cd(
  'ocm.software/examples/root',
  [
    {
      name: 'image',
      version: '6.7.1',
      type: 'ociImage',
      relation: 'external',
      access: { type: 'ociArtifact', imageReference: 'registry.example.com/mirror/podinfo:6.7.1@sha256:' + 'b'.repeat(64) },
    },
    { name: 'chart', version: '6.7.1', type: 'helmChart', relation: 'local', access: { type: 'localBlob', localReference: 'sha256:x', mediaType: 'application/x-tgz' } },
  ],
  [{ name: 'dep', componentName: 'ocm.software/examples/dep', version: '2.0.0' }],
);
const DEP = {
  ...cd('ocm.software/examples/dep', [
    { name: 'sidecar', version: '2.0.0', type: 'ociImage', relation: 'external', access: { type: 'relativeOciReference', reference: 'sidecar:2.0.0' } },
  ]),
  version: '2.0.0',
};
const images = descriptorImageResolver(ROOT, [ROOT, DEP]);

const RULES: ConfigurationRule[] = [
  ...PODINFO_CHART_RULES,
  {
    yamlsubst: {
      source: { resource: { name: 'sidecar' }, referencePath: [{ name: 'dep' }] },
      target: { file: { path: 'values.yaml', value: 'sidecar.image' } },
    },
  },
];

describe('configureArchive on a Helm chart', () => {
  it('applies rules relative to the chart directory, localizes images, reports chart and changes', async () => {
    const input = await bytes(packEntries(CHART));
    const result = await configureArchive({ input, rules: RULES, images });
    const out = await bytes(result.output);
    expect(result.chart).toMatchObject({ name: 'podinfo', version: '6.7.1', directory: 'podinfo' });
    expect(result.filesChanged).toEqual(['podinfo/values.yaml']);
    const tree = await files(out);
    expect([...tree.keys()]).toEqual(['podinfo/Chart.yaml', 'podinfo/templates/deployment.yaml', 'podinfo/values.yaml']);
    expect(tree.get('podinfo/values.yaml')).toBe(
      '# values\nimage:\n  repository: registry.example.com/mirror/podinfo # upstream\n' +
        `  tag: sha256:${'b'.repeat(64)}\nreplicaCount: 3\nsidecar:\n  image: registry.example.com/mirror/sidecar:2.0.0\n`,
    );
  });

  it('is deterministic: same input and rules give the same bytes', async () => {
    const input = await bytes(packEntries(CHART));
    const a = await bytes((await configureArchive({ input, rules: RULES, images })).output);
    // the second run reads the input as a chunked stream and works in another temp directory
    const scratch = await mkdtemp(join(tmpdir(), 'configure-det-'));
    try {
      const chunked = Readable.from([input.subarray(0, 100), input.subarray(100, 333), input.subarray(333)]);
      const b = await bytes((await configureArchive({ input: chunked, rules: RULES, images, workDir: scratch })).output);
      expect(sha256(b)).toBe(sha256(a));
      // the temporary tree is gone once the output has been read
      expect(await readdir(scratch)).toEqual([]);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('follows edits of Chart.yaml', async () => {
    const input = await bytes(packEntries(CHART));
    const result = await configureArchive({
      input,
      rules: [{ yamlsubst: { source: { value: '6.7.2-configured' }, target: { file: { path: 'Chart.yaml', value: 'version' } } } }],
    });
    await result.dispose();
    expect(result.chart?.version).toBe('6.7.2-configured');
  });

  it('refuses a non-chart when helm is required, and treats it as plain files otherwise', async () => {
    const plain = await bytes(packEntries([{ path: 'a.yaml', type: 'file', content: 'x: 1\n' }, { path: 'b.yaml', type: 'file', content: 'y: 1\n' }]));
    await expect(configureArchive({ input: plain, helm: true, substitutions: [] })).rejects.toBeInstanceOf(ChartError);
    const r = await configureArchive({ input: plain, substitutions: [{ file: 'b.yaml', path: 'y', value: 2 }] });
    expect((await files(await bytes(r.output))).get('b.yaml')).toBe('y: 2\n');
    expect(r.chart).toBeUndefined();
  });

  it('names the rule index and path for bad rules', async () => {
    const input = await bytes(packEntries(CHART));
    const run = (substitutions: { file: string; path: string; value: unknown }[]) =>
      configureArchive({ input, substitutions }).then(
        () => undefined,
        (e: unknown) => e,
      );
    const missing = await run([{ file: 'values.yaml', path: 'a', value: 1 }, { file: 'nope.yaml', path: 'a', value: 1 }]);
    expect(missing).toBeInstanceOf(RuleError);
    expect((missing as RuleError).rule).toBe(1);
    expect((missing as Error).message).toBe(
      'rule 1: file "nope.yaml": file not found in the archive (paths are relative to the chart directory podinfo/); it holds Chart.yaml, templates/deployment.yaml, values.yaml',
    );
    const escape = await run([{ file: '../etc/passwd', path: 'a', value: 1 }]);
    expect(escape).toBeInstanceOf(RuleError);
    expect((escape as Error).message).toMatch(/^rule 0: file "..\/etc\/passwd": not a safe relative path/);
    const badPath = await run([{ file: 'values.yaml', path: 'image.tag.deeper', value: 1 }]);
    expect((badPath as Error).message).toBe(
      'rule 0: path "image.tag.deeper" in file "values.yaml": expected a mapping at image.tag, found the scalar "6.7.1"',
    );
    const syntax = await run([{ file: 'values.yaml', path: 'a..b', value: 1 }]);
    expect((syntax as RuleError).path).toBe('a..b');
  });

  it('rejects unsafe archives before any rule runs', async () => {
    const { maliciousCorpus } = await import('../../fixtures/archive/corpus.js');
    const evil = (await maliciousCorpus()).find((c) => c.name === 'dot-dot traversal');
    await expect(configureArchive({ input: evil!.archive, substitutions: [] })).rejects.toThrow(/path-traversal/);
  });
});

describe('compileRules', () => {
  it('keeps values and resolves localization', () => {
    expect(compileRules(RULES, images)).toEqual([
      { file: 'values.yaml', path: 'replicaCount', value: 3 },
      { file: 'values.yaml', path: 'image.repository', image: expect.stringContaining('podinfo:6.7.1@sha256:') as unknown, transformation: 'ImageNoTag' },
      { file: 'values.yaml', path: 'image.tag', image: expect.any(String) as unknown, transformation: 'Tag' },
      { file: 'values.yaml', path: 'sidecar.image', image: 'registry.example.com/mirror/sidecar:2.0.0', transformation: 'Image' },
    ]);
  });

  it('reports missing resources, non-image accesses and goTemplate clearly', () => {
    const rule = (name: string): ConfigurationRule => ({
      yamlsubst: { source: { resource: { name } }, target: { file: { path: 'v.yaml', value: 'x' } } },
    });
    expect(() => compileRules([rule('image'), rule('missing')], images)).toThrow(LocalizationError);
    expect(() => compileRules([rule('missing')], images)).toThrow(/^rule 0: cannot localize from resource \{"name":"missing"\}/);
    expect(() => compileRules([rule('chart')], images)).toThrow(/localBlob without an OCI globalAccess/);
    expect(() => compileRules([rule('image')])).toThrow(/needs the component descriptors/);
    expect(() => compileRules([{ goTemplate: { file: { path: 'x' } } }])).toThrow(UnsupportedRuleError);
  });
});

describe('ConfigureEngine port', () => {
  it('writes a digested layer and maps content errors to ObjectFailure(ConfigurationFailed)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'engine-'));
    try {
      const path = join(dir, 'in.tgz');
      await writeFile(path, await bytes(packEntries(CHART)));
      const input = { path, size: 0, digest: 'sha256:x', mediaType: 'application/x-tgz', dispose: async () => undefined };
      const engine = createConfigureEngine({ workDir: dir });
      const out = await engine.apply(input, [{ file: 'values.yaml', path: 'image.tag', value: '7.0.0' }], { helm: true });
      const content = await readFile(out.path);
      expect(out.digest).toBe(sha256(content));
      expect(out.size).toBe(content.length);
      // literal on purpose: the wire value of a Helm chart layer
      expect(out.mediaType).toBe('application/vnd.cncf.helm.chart.content.v1.tar+gzip');
      expect((await files(content)).get('podinfo/values.yaml')).toContain('tag: 7.0.0');
      await out.dispose();
      const failure = await engine.apply(input, [{ file: 'missing.yaml', path: 'a', value: 1 }], { helm: true }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ObjectFailure);
      expect((failure as ObjectFailure).reason).toBe('ConfigurationFailed');
      expect((failure as Error).message).toMatch(/^rule 0: file "missing.yaml": file not found/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
