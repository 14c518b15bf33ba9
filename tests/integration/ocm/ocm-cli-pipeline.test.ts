/**
 * The OCM CLI (v0.48.0, built by tests/infra/install) as users run it, feeding the pipeline, and reading back what
 * we write. Fixtures are made here at run time, not committed:
 * - a constructor file with a helm input (a chart directory: the CLI stores it as an artifact set,
 *   `application/vnd.oci.image.manifest.v1+tar+gzip`), a dir input, a file input, an OCI image by reference (pushed to
 *   the test registry with crane) and a reference to a second component; `ocm add componentversions` into a CTF,
 *   `ocm sign componentversions` with RSASSA-PKCS1-V1_5 and RSASSA-PSS;
 * - `ocm transfer --copy-resources` into a second CTF (the chart stays an OCI artifact set, the crane image becomes a
 *   Docker one, `application/vnd.docker.distribution.manifest.v2+tar+gzip`) and into the test registry (by value:
 *   the CLI uploads both as OCI artifacts, so they come back as `ociArtifact` accesses), and `ocm transfer` without
 *   copying (by reference: the chart is uploaded anyway, the image keeps its `http://` reference);
 * - `ocm-knative run --registry` takes each of them to Ready (the Component verifies both signatures): the chart
 *   renders with `helm template`, the image snapshot has the image's digest (crane), dir and file contents arrive;
 * - the other way round: `ocm get cv`, `ocm verify cv` and `ocm download resources` on a CTF our writer made and on
 *   component versions our registry layout pushed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { descriptorSet, pushComponentVersion, registryConnector, RSA_PSS, signComponent, writeCtfDirectory } from '../../../shared/ocm/index.js';
import { services, type Services } from '../../infra/services.js';
import { APP, BASE, sampleGraph, type SampleGraph } from '../../fixtures/ocm/sample.js';
import { APP_CLI, CHART_GREETING, FILE_CONTENTS, makeWithOcmCli, type CliMade } from '../../fixtures/ocm/cli-made.js';
import { runCli } from '../../support/runner-cli.js';

const run = promisify(execFile);
let svc: Services;
let work: string;
let host: string;
let made: CliMade;
const ocm = (args: string[]): Promise<string> => made.ocm(args);

interface Report {
  ready: boolean;
  objects: { kind: string; name: string; ready: string; reason: string; message?: string; snapshot?: { repository: string; tag: string; digest: string; mediaType: string } }[];
}

/** Manifests for one source repository: the component (verified with both signatures) and its resources. */
function manifests(repositorySpec: Record<string, unknown>): string {
  const doc = (kind: string, name: string, spec: Record<string, unknown>): string =>
    YAML.stringify({ apiVersion: 'serverless.ocm.software/v1alpha1', kind, metadata: { name }, spec });
  const resource = (name: string, extra: Record<string, unknown> = {}): string =>
    doc('Resource', name, { componentRef: { name: 'app' }, resource: { byReference: { resource: { name }, ...extra } } });
  return [
    doc('OCMRepository', 'source', { repositorySpec, interval: '10m' }),
    doc('Component', 'app', {
      repositoryRef: { name: 'source' },
      component: APP_CLI,
      semver: '>=1.0.0',
      interval: '10m',
      verify: [
        { signature: 'acme', value: made.keys.publicKey },
        { signature: 'acme-pss', value: made.keys.publicKey },
      ],
    }),
    resource('chart'),
    resource('data'),
    resource('config'),
    resource('image'),
    // chart paths are relative to the chart directory, whether the chart came as an artifact set or an OCI artifact
    doc('Configuration', 'chart', {
      target: { kind: 'Resource', name: 'chart' },
      rules: [{ yamlsubst: { source: { value: 'configured' }, target: { file: { path: 'values.yaml', value: 'greeting' } } } }],
    }),
    doc('Resource', 'base-config', {
      componentRef: { name: 'app' },
      resource: { byReference: { resource: { name: 'config' }, referencePath: [{ name: 'base' }] } },
    }),
  ].join('---\n');
}

async function runPipeline(label: string, repositorySpec: Record<string, unknown>): Promise<Report> {
  const dir = await mkdtemp(join(work, `run-${label}-`));
  await writeFile(join(dir, 'manifests.yaml'), manifests(repositorySpec));
  const r = await runCli(['run', '-f', join(dir, 'manifests.yaml'), '--out', join(dir, 'out'), '--registry', `http://${host}`, '-o', 'json']);
  expect(r.stderr).not.toMatch(/gave up|dead letter/);
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`${label}: the runner printed no report (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  const notReady = report.objects.filter((o) => o.ready !== 'True').map((o) => `${o.kind}/${o.name}: ${o.reason} ${o.message ?? ''}`);
  expect(notReady, `${label}: ${r.stderr}`).toEqual([]);
  expect(r.code).toBe(0);
  return report;
}

/** The manifest at `repository@digest` in the test registry, read by crane. */
async function manifestOf(repository: string, digest: string): Promise<{ config: { mediaType: string }; layers: { mediaType: string; digest: string }[] }> {
  const { stdout } = await run(svc.bin.crane, ['manifest', '--insecure', `${host}/${repository}@${digest}`]);
  return JSON.parse(stdout) as { config: { mediaType: string }; layers: { mediaType: string; digest: string }[] };
}

/** One layer's bytes, fetched by crane into a file; returns the path. */
async function layerFile(repository: string, digest: string, name: string): Promise<string> {
  const dir = await mkdtemp(join(work, 'pull-'));
  const path = join(dir, name);
  const { stdout } = await run(svc.bin.crane, ['blob', '--insecure', `${host}/${repository}@${digest}`], { encoding: 'buffer', maxBuffer: 64 << 20 });
  await writeFile(path, stdout);
  return path;
}

/** `helm template` of the chart layer of a Helm OCI artifact in the test registry. */
async function renderChart(repository: string, digest: string): Promise<string> {
  const manifest = await manifestOf(repository, digest);
  // literals on purpose: the wire values a Helm client reads
  expect(manifest.config.mediaType).toBe('application/vnd.cncf.helm.config.v1+json');
  const layer = manifest.layers.find((l) => l.mediaType === 'application/vnd.cncf.helm.chart.content.v1.tar+gzip');
  expect(layer, JSON.stringify(manifest)).toBeDefined();
  if (!svc.bin.helm) throw new Error('helm is not built (tests/infra/install)');
  const tgz = await layerFile(repository, layer!.digest, 'chart.tgz');
  const { stdout } = await run(svc.bin.helm, ['template', 'demo', tgz]);
  expect(stdout).toMatch(/kind: ConfigMap/);
  return stdout;
}

async function checkSnapshots(report: Report): Promise<void> {
  const snap = (name: string, kind = 'Resource') => {
    const o = report.objects.find((x) => x.kind === kind && x.name === name);
    if (!o?.snapshot) throw new Error(`${kind} ${name} has no snapshot in the report`);
    return o.snapshot;
  };
  // the chart: a Helm OCI artifact (our single-layer Helm snapshot from a CTF, or the whole copy of the chart the
  // CLI pushed into a registry) whose chart layer helm renders, before and after configuration
  const chart = snap('chart');
  expect(await renderChart(chart.repository, chart.digest)).toContain(`greeting: ${CHART_GREETING}`);
  const configured = snap('chart', 'Configuration');
  expect(await renderChart(configured.repository, configured.digest)).toContain('greeting: configured');
  // the directory and the single file (stored under the resource name, README "File paths in Configuration rules")
  const files = async (name: string): Promise<string> => {
    const s = snap(name);
    const m = await manifestOf(s.repository, s.digest);
    expect(m.layers).toHaveLength(1);
    const path = await layerFile(s.repository, m.layers[0]!.digest, `${name}.tgz`);
    return (await run('tar', ['-xzOf', path])).stdout;
  };
  expect(await files('data')).toBe(FILE_CONTENTS.data);
  expect(await files('config')).toBe(FILE_CONTENTS.config);
  expect(await files('base-config')).toBe(FILE_CONTENTS.baseConfig);
  // the image: copied whole, same digest, pullable by crane
  const image = snap('image');
  expect(image.digest).toBe(made.image.digest);
  const { stdout: digest } = await run(svc.bin.crane, ['digest', '--insecure', `${host}/${image.repository}:${image.tag}`]);
  expect(digest.trim()).toBe(made.image.digest);
}

beforeAll(async () => {
  svc = services();
  host = svc.registry.fs.host;
  work = await mkdtemp(join(svc.workDir, 'ocm-cli-'));
  made = await makeWithOcmCli({ ocm: svc.bin.ocm, crane: svc.bin.crane, registryHost: host, work, prefix: 'ocm-cli-it' });
}, 600_000);

describe('OCM CLI as producer -> ocm-knative run', () => {
  it('the CTF the CLI built (helm/dir/file inputs, image by reference, component reference, RSA + PSS) goes Ready', async () => {
    await checkSnapshots(await runPipeline('ctf', { type: 'CommonTransportFormat', filePath: made.ctf }));
  });

  it('a CTF made by `ocm transfer --copy-resources` (chart and image as artifact sets) goes Ready', async () => {
    const cd = YAML.parse(await ocm(['get', 'cv', '--repo', made.ctfByValue, `${APP_CLI}:1.0.0`, '-o', 'yaml'])) as {
      component: { resources: { name: string; access: { type: string; mediaType?: string } }[] };
    };
    const image = cd.component.resources.find((r) => r.name === 'image')!;
    // the premise: by value, the image is a localBlob holding an artifact set
    expect(image.access.type).toMatch(/^localBlob/);
    // crane makes a Docker v2 manifest, so the set is the Docker variant of the media type
    expect(image.access.mediaType).toMatch(/^application\/vnd\.(oci\.image\.(manifest|index)\.v1|docker\.distribution\.manifest\.v2)\+tar/);
    await checkSnapshots(await runPipeline('ctf-by-value', { type: 'CommonTransportFormat', filePath: made.ctfByValue }));
  });

  it('the registry copy by value (imageReference http://...) goes Ready', async () => {
    await checkSnapshots(await runPipeline('registry-by-value', { type: 'OCIRegistry', baseUrl: made.registryByValue }));
  });

  it('the registry copy by reference goes Ready', async () => {
    await checkSnapshots(await runPipeline('registry-by-reference', { type: 'OCIRegistry', baseUrl: made.registryByReference }));
  });
});

/** Our sample graph, app 1.1.0 signed twice: `acme` (RSASSA-PKCS1-V1_5) and `acme-pss` (RSASSA-PSS). */
async function ourGraph(): Promise<SampleGraph> {
  const g = await sampleGraph({ privateKey: made.keys.privateKey });
  const app = g.apps.find((a) => a.descriptor.version === '1.1.0')!;
  const others = g.cvs.filter((c) => c !== app).map((c) => c.descriptor);
  const pss = await signComponent(descriptorSet(app.descriptor, others), { signatureName: 'acme-pss', privateKey: made.keys.privateKey, algorithm: RSA_PSS });
  app.descriptor = pss.root;
  return g;
}

/** What the OCM CLI reads from one of our repositories: descriptor, both signatures, every resource's bytes. */
async function cliReads(repo: string, g: SampleGraph): Promise<void> {
  const got = YAML.parse(await ocm(['get', 'cv', '--repo', repo, `${APP}:1.1.0`, '-o', 'yaml'])) as {
    component: { name: string; version: string; resources: { name: string }[] };
  };
  expect(got.component).toMatchObject({ name: APP, version: '1.1.0' });
  expect(got.component.resources.map((r) => r.name)).toEqual(['chart', 'data', 'config']);
  const pub = join(work, 'rsa.pub');
  await writeFile(pub, made.keys.publicKey);
  // ocm verify recomputes the reference digest (base) and every resource digest, then checks the signature
  const verified = await ocm(['verify', 'cv', '--signature', 'acme', '--public-key', pub, '--repo', repo, `${APP}:1.1.0`]);
  expect(verified).toMatch(/successfully verified/);
  // OCM v0.48.0 cannot verify a plain RSASSA-PSS signature, not even its own: its RSA handler accepts only the
  // media type application/vnd.ocm.signature.rsa (or a PEM), while its PSS signer writes ...rsa.pss
  // (api/tech/signing/handlers/rsa/handler.go). Ours must fare exactly as the CLI's own PSS signature does.
  const theirs = await verifyOutcome(made.ctf, `${APP_CLI}:1.0.0`, 'acme-pss', pub);
  expect(await verifyOutcome(repo, `${APP}:1.1.0`, 'acme-pss', pub)).toBe(theirs);
  expect(theirs).toMatch(/invalid signature mediaType application\/vnd\.ocm\.signature\.rsa\.pss|successfully verified/);
  const out = await mkdtemp(join(work, 'downloaded-'));
  const bytes = async (resource: string, ...path: string[]): Promise<Buffer> => {
    const file = join(out, resource);
    await ocm(['download', 'resources', '--repo', repo, `${APP}:1.1.0`, resource, '-O', file, ...path]);
    return readFile(file);
  };
  expect((await bytes('config')).toString()).toBe(g.contents.appConfig);
  expect((await bytes('data')).equals(g.contents.data)).toBe(true);
  expect((await bytes('chart')).equals(g.contents.chart)).toBe(true);
  // a resource of the referenced component, through the reference
  const base = join(out, 'base-config');
  await ocm(['download', 'resources', '--repo', repo, `${BASE}:1.0.0`, 'config', '-O', base]);
  expect(await readFile(base, 'utf8')).toBe(g.contents.baseConfig);
}

/** `ocm verify cv` of one signature: `successfully verified`, or the CLI's first error line with the names taken out. */
async function verifyOutcome(repo: string, cv: string, signature: string, publicKey: string): Promise<string> {
  try {
    await ocm(['verify', 'cv', '--signature', signature, '--public-key', publicKey, '--repo', repo, cv]);
    return 'successfully verified';
  } catch (err) {
    const line = /^Error: .*$/m.exec((err as Error).message)?.[0] ?? (err as Error).message;
    return line.replaceAll(cv, '<cv>');
  }
}

describe('our writers -> OCM CLI as reader', () => {
  it('reads and verifies a CTF our writer made (ocm get cv, verify cv with RSA and PSS, download resources)', async () => {
    const g = await ourGraph();
    const dir = join(work, 'ours');
    await writeCtfDirectory(dir, g.cvs);
    await cliReads(dir, g);
  });

  it('reads and verifies component versions our registry layout pushed', async () => {
    const g = await ourGraph();
    const connector = registryConnector({ insecureHosts: [host] });
    try {
      for (const cv of g.cvs) await pushComponentVersion(connector.connect, `http://${host}/ours`, cv);
    } finally {
      await connector.close();
    }
    await cliReads(`http://${host}/ours`, g);
  });
});
