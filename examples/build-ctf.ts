/**
 * Build the example component (examples/component) into a Common Transport Format directory,
 * deterministically: the same sources give the same bytes in every file, on every run.
 *
 *   npx tsx examples/build-ctf.ts [OUT_DIR]      (default: examples/ctf)
 *
 * Reads a component-constructor file (component.yaml) and supports the inputs the example needs:
 *   helm: a chart directory, packed as `<chart name>/...` tar+gzip (what `helm package` lays out)
 *   dir:  a directory as tar (`compress: true` for tar+gzip)
 *   file: one file with a given media type
 * Resources with `access` are external references and are written as given.
 */
import { readFile, rm, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { listDirectory, packDirectory, packEntries } from '../shared/archive/index.js';
import { parseChartYaml } from '../shared/configure/index.js';
import { MediaType } from '../shared/oci/media-types.js';
import { localBlobResource, writeCtfDirectory, type ComponentVersionInput, type LocalBlobInput } from '../shared/ocm/ctf-write.js';
import { parseComponentDescriptor, serializeComponentDescriptor } from '../shared/ocm/descriptor.js';
import type { ComponentDescriptor, Label, Resource, TypedSpec } from '../shared/ocm/model.js';

export const EXAMPLES_DIR = dirname(fileURLToPath(import.meta.url));

interface ResourceSpec {
  name: string;
  type: string;
  version: string;
  relation?: 'local' | 'external';
  labels?: Label[];
  input?: { type: 'helm' | 'dir' | 'file'; path: string; compress?: boolean; mediaType?: string };
  access?: TypedSpec;
}

interface ComponentSpec {
  name: string;
  version: string;
  provider: { name: string } | string;
  labels?: Label[];
  resources?: ResourceSpec[];
}

async function bytes(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** A chart directory as a chart archive: one top-level directory named after the chart. */
export async function packChart(dir: string): Promise<{ name: string; version: string; tgz: Buffer }> {
  const chart = parseChartYaml(await readFile(join(dir, 'Chart.yaml'), 'utf8'), `${dir}/Chart.yaml`);
  const entries = (await listDirectory(dir)).map((e) => ({ ...e, path: `${chart.name}/${e.path}` }));
  entries.push({ path: chart.name, type: 'directory' });
  return { name: chart.name, version: chart.version, tgz: await bytes(packEntries(entries)) };
}

async function blobFor(base: string, input: NonNullable<ResourceSpec['input']>): Promise<LocalBlobInput> {
  const path = resolve(base, input.path);
  switch (input.type) {
    case 'helm':
      return { mediaType: MediaType.HelmChart, data: (await packChart(path)).tgz };
    case 'dir':
      return {
        mediaType: input.compress ? 'application/x-tgz' : 'application/x-tar',
        data: await bytes(packDirectory(path, { gzip: input.compress === true })),
      };
    case 'file':
      return { mediaType: input.mediaType ?? 'application/octet-stream', data: await readFile(path) };
  }
}

async function buildComponent(base: string, spec: ComponentSpec): Promise<ComponentVersionInput> {
  const resources: Resource[] = [];
  const blobs: LocalBlobInput[] = [];
  for (const r of spec.resources ?? []) {
    const meta = { name: r.name, version: r.version, type: r.type, ...(r.labels ? { labels: r.labels } : {}) };
    if (r.input) {
      const local = await localBlobResource({ ...meta, relation: r.relation ?? 'local' }, await blobFor(base, r.input));
      resources.push(local.resource);
      blobs.push(local.blob);
    } else if (r.access) {
      resources.push({ ...meta, relation: r.relation ?? 'external', access: r.access });
    } else {
      throw new Error(`${spec.name}: resource ${r.name} needs input or access`);
    }
  }
  const draft: ComponentDescriptor = {
    schemaVersion: 'v2',
    name: spec.name,
    version: spec.version,
    provider: typeof spec.provider === 'string' ? { name: spec.provider } : spec.provider,
    ...(spec.labels ? { labels: spec.labels } : {}),
    repositoryContexts: [],
    sources: [],
    references: [],
    resources,
    signatures: [],
  };
  // round-trip through the schema-validating parser: a bad component.yaml fails here, not in the pipeline
  const descriptor = parseComponentDescriptor(serializeComponentDescriptor(draft, 'yaml'));
  return { descriptor, blobs };
}

/** Build every component of `constructorFile` into a fresh CTF directory at `outDir`. */
export async function buildExampleCtf(
  outDir: string = join(EXAMPLES_DIR, 'ctf'),
  constructorFile: string = join(EXAMPLES_DIR, 'component', 'component.yaml'),
): Promise<{ outDir: string; components: string[] }> {
  const parsed = parse(await readFile(constructorFile, 'utf8'), { maxAliasCount: 100 }) as { components?: ComponentSpec[] };
  const specs = parsed.components ?? [];
  if (specs.length === 0) throw new Error(`${constructorFile}: no components`);
  const cvs: ComponentVersionInput[] = [];
  for (const spec of specs) cvs.push(await buildComponent(dirname(constructorFile), spec));
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await writeCtfDirectory(outDir, cvs);
  return { outDir, components: cvs.map((cv) => `${cv.descriptor.name}:${cv.descriptor.version}`) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ? resolve(process.argv[2]) : undefined;
  buildExampleCtf(out).then(
    (r) => console.log(`built ${r.components.join(', ')} into ${r.outDir}`),
    (err: unknown) => {
      console.error(`build-ctf: ${(err as Error).message}`);
      process.exitCode = 1;
    },
  );
}
