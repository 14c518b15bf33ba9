/**
 * The README's main job, as a user runs it: `npm start` from a clean directory, then the runner's other modes
 * (--registry against a real registry, --kubeconfig against the real apiserver), read back with real peers
 * (skopeo, oras, helm when built). Exit codes and messages are checked as a user would see them.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../infra/binaries.js';
import { createNamespace, installCrds } from '../../infra/kube.js';
import { services } from '../../infra/services.js';
import { upstreamCrdFiles } from '../../infra/upstream-crds.js';
import { peerToolEnv } from '../../infra/zot.js';
import { runCli } from '../../support/runner-cli.js';

const run = promisify(execFile);
const manifests = path.join(repoRoot, 'examples/manifests');

interface JsonReport {
  ready: boolean;
  changed: boolean;
  objects: Array<{ kind: string; name: string; ready: string; reason: string; snapshot?: { repository: string; tag: string; digest: string; size: number; mediaType: string } }>;
}

function digests(report: JsonReport): Record<string, string | undefined> {
  return Object.fromEntries(report.objects.map((o) => [`${o.kind}/${o.name}`, o.snapshot?.digest]));
}

const tmp = () => mkdtemp(path.join(tmpdir(), 'runner-it-'));

describe('ocm-knative run on the bundled example', () => {
  let first: JsonReport;
  let outA: string;

  beforeAll(async () => {
    // what `npm start` does first: the CTF is generated from committed sources
    await run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'examples/build-ctf.ts')], { cwd: repoRoot });
    outA = await tmp();
    const r = await runCli(['run', '-f', manifests, '--out', outA, '-o', 'json']);
    expect(r.stderr).not.toMatch(/gave up|dead letter/);
    expect(r.code, r.stderr).toBe(0);
    first = JSON.parse(r.stdout) as JsonReport;
  });

  it('npm start runs the whole example into ./out and exits 0 with every object Ready', async () => {
    await rm(path.join(repoRoot, 'out'), { recursive: true, force: true });
    const { stdout } = await run('npm', ['start', '--silent'], { cwd: repoRoot, maxBuffer: 10 * 1024 * 1024 });
    expect(stdout).toMatch(/Publication\s+default\/podinfo-chart\s+True\s+Succeeded/);
    const objects = await readdir(path.join(repoRoot, 'out/objects'));
    expect(objects.sort()).toEqual(['component', 'configuration', 'ocirepository', 'ocmrepository', 'publication', 'resource', 'snapshot']);
  });

  it('produces every object Ready with a snapshot for each producer', () => {
    expect(first.ready).toBe(true);
    const kinds = first.objects.map((o) => `${o.kind}/${o.name}:${o.ready}`);
    expect(kinds).toEqual([
      'OCMRepository/examples-ctf:True',
      'Component/podinfo:True',
      'Resource/podinfo-chart:True',
      'Resource/podinfo-manifests:True',
      'Configuration/podinfo-chart:True',
      'Configuration/podinfo-manifests:True',
      'Publication/podinfo-chart:True',
      'Publication/podinfo-manifests:True',
    ]);
    for (const o of first.objects.filter((x) => ['Component', 'Resource', 'Configuration'].includes(x.kind))) {
      expect(o.snapshot?.digest, `${o.kind}/${o.name}`).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
  });

  it('gives identical snapshot digests in another output directory, and a re-run is a no-op that says so', async () => {
    const outB = await tmp();
    const b = await runCli(['run', '-f', manifests, '--out', outB, '-o', 'json']);
    expect(b.code, b.stderr).toBe(0);
    expect(digests(JSON.parse(b.stdout) as JsonReport)).toEqual(digests(first));

    const again = await runCli(['run', '-f', manifests, '--out', outA]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Nothing to do: .* is up to date/);
  });

  it('writes OCI layouts that skopeo and oras read, with the digests the Snapshots record', async () => {
    const { bin: tools } = services();
    for (const o of first.objects.filter((x) => x.snapshot)) {
      const layout = path.join(outA, 'registry', o.snapshot!.repository);
      const { stdout: raw } = await run(tools.skopeo, ['inspect', '--raw', `oci:${layout}:${o.snapshot!.tag}`]);
      const manifest = JSON.parse(raw) as { layers: Array<{ digest: string; mediaType: string }> };
      expect(manifest.layers).toHaveLength(1);
      const { stdout: orasDigest } = await run(tools.oras, ['resolve', '--oci-layout', `${layout}:${o.snapshot!.tag}`]);
      expect(orasDigest.trim(), `${o.kind}/${o.name}`).toBe(o.snapshot!.digest);
    }
  });

  it('the configured Helm snapshot is a valid chart with the substituted and localized values', async () => {
    const chart = first.objects.find((o) => o.kind === 'Configuration' && o.name === 'podinfo-chart')!.snapshot!;
    // literal on purpose: the wire value of a Helm chart layer
    expect(chart.mediaType).toBe('application/vnd.cncf.helm.chart.content.v1.tar+gzip');
    const dest = await tmp();
    const { bin: tools } = services();
    await run(tools.oras, ['pull', '--oci-layout', `${path.join(outA, 'registry', chart.repository)}:${chart.tag}`, '-o', dest]);
    const tgz = (await readdir(dest)).find((f) => f.endsWith('.tgz'));
    expect(tgz, `pulled: ${(await readdir(dest)).join(', ')}`).toBeDefined();
    const chartFile = path.join(dest, tgz!);
    let values: Record<string, unknown>;
    if (tools.helm) {
      const { stdout: rendered } = await run(tools.helm, ['template', 'demo', chartFile]);
      expect(rendered).toMatch(/kind: Deployment/);
      const { stdout } = await run(tools.helm, ['show', 'values', chartFile]);
      values = YAML.parse(stdout) as Record<string, unknown>;
    } else {
      const { stdout } = await run('tar', ['-xzOf', chartFile, '--wildcards', '*/values.yaml']);
      values = YAML.parse(stdout) as Record<string, unknown>;
    }
    expect(values['replicaCount']).toBe(2);
    expect((values['image'] as Record<string, unknown>)['tag']).toBeTypeOf('string');
  });

  it('--registry pushes the snapshots to zot (TLS, htpasswd, the shipped config) where crane finds them by digest', async () => {
    const { registry, bin: tools } = services();
    const zot = registry.zot;
    const out = await tmp();
    const creds = { REGISTRY_USERNAME: zot.push.username, REGISTRY_PASSWORD: zot.push.password };
    const r = await runCli(['run', '-f', manifests, '--out', out, '--registry', zot.url, '--registry-ca-file', zot.caFile, '-o', 'json'], repoRoot, creds);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(zot.push.password);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(digests(report)).toEqual(digests(first));
    // crane as Flux would read: the read-only user, trusting the run's CA
    const craneEnv = await peerToolEnv(zot, await tmp());
    for (const o of report.objects.filter((x) => x.snapshot)) {
      const { stdout } = await run(tools.crane, ['digest', `${zot.host}/${o.snapshot!.repository}:${o.snapshot!.tag}`], { env: craneEnv });
      expect(stdout.trim()).toBe(o.snapshot!.digest);
    }
    // without credentials zot refuses, and the runner says so instead of crashing
    const anon = await runCli(['run', '-f', manifests, '--out', await tmp(), '--registry', zot.url, '--registry-ca-file', zot.caFile, '-o', 'json']);
    expect(anon.code).toBe(1);
  });

  it('--registry pushes the snapshots to a second implementation (docker-registry) where crane finds them by digest', async () => {
    const { registry, bin: tools } = services();
    const out = await tmp();
    const r = await runCli(['run', '-f', manifests, '--out', out, '--registry', registry.fs.url, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(digests(report)).toEqual(digests(first));
    for (const o of report.objects.filter((x) => x.snapshot)) {
      const { stdout } = await run(tools.crane, ['digest', '--insecure', `${registry.fs.host}/${o.snapshot!.repository}:${o.snapshot!.tag}`]);
      expect(stdout.trim()).toBe(o.snapshot!.digest);
    }
    // a plain-HTTP registry: Flux needs insecure: true on the OCIRepositories (it lets it pass only for loopback)
    const ociDir = path.join(out, 'objects', 'ocirepository');
    const files = (await readdir(ociDir, { recursive: true })).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const repo = YAML.parse(await readFile(path.join(ociDir, f), 'utf8')) as { spec: { url: string; insecure?: boolean } };
      expect(repo.spec, f).toMatchObject({ url: expect.stringContaining(registry.fs.host) as unknown, insecure: true });
    }
  });

  it('--kubeconfig keeps objects in the real API server', async () => {
    const { kube } = services();
    await installCrds([path.join(repoRoot, 'knative/crds'), ...upstreamCrdFiles('source.toolkit.fluxcd.io')]);
    const ns = await createNamespace();
    const out = await tmp();
    const r = await runCli(['run', '-f', manifests, '--out', out, '--kubeconfig', kube.kubeconfig, '-n', ns, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(digests(JSON.parse(r.stdout) as JsonReport)).toEqual(digests(first));
    const { stdout } = await run('kubectl', ['--kubeconfig', kube.kubeconfig, '-n', ns, 'get', 'ocirepositories.source.toolkit.fluxcd.io', '-o', 'name']);
    expect(stdout.trim().split('\n').sort()).toEqual(['ocirepository.source.toolkit.fluxcd.io/podinfo-chart', 'ocirepository.source.toolkit.fluxcd.io/podinfo-manifests']);
  });

  it('a bad manifest exits 2 and names file, document and field; nothing runs', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'bad.yaml');
    const text = await readFile(path.join(manifests, '01-component.yaml'), 'utf8');
    await writeFile(file, `${await readFile(path.join(manifests, '00-repository.yaml'), 'utf8')}\n---\n${text.replace('semver: ">=1.0.0 <2.0.0"', 'semver: 42\n  downgradePolicy: Never')}`);
    const out = path.join(dir, 'out');
    const r = await runCli(['run', '-f', file, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(document 1\\) spec\\.downgradePolicy: .*Allow`));
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);

    const usage = await runCli(['run', '--out', out]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/-f\/--filename is required/);
  });
});
