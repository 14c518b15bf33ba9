/**
 * Component versions the OCM CLI made (tests/fixtures/ocm/cli-made.ts) through the four function mains as processes
 * (env-configured like Knative Services), zot as the pipeline's registry: a CTF made by `ocm transfer
 * --copy-resources` (the chart and the image as artifact-set localBlobs) and the by-value transfer into a registry
 * (both uploaded as OCI artifacts) each go from Component (both signatures verified) through Resource and
 * Configuration to a Flux OCIRepository. The chart renders with helm, the image keeps its digest in zot.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OCIRepositoryObject, SnapshotObject } from '../../../shared/ports/index.js';
import { services } from '../../infra/services.js';
import { rsaKeys } from '../../support/components.js';
import { APP_CLI, CHART_GREETING, FILE_CONTENTS, makeWithOcmCli, type CliMade } from '../../fixtures/ocm/cli-made.js';
import { isReadyNow, ready } from '../../support/ready.js';
import { waitFor } from '../../support/wait.js';
import { startPipeline, type Pipeline } from './env.js';
import { MediaType } from '../../../shared/oci/media-types.js';

const run = promisify(execFile);

describe('e2e: OCM-CLI-made component versions through the function mains', () => {
  let p: Pipeline;
  let made: CliMade;
  let work: string;

  beforeAll(async () => {
    const s = services();
    // the CTFs lie under CTF_ROOT, as an operator would mount them into the functions
    work = await mkdtemp(join(s.workDir, 'ocm-cli-e2e-'));
    made = await makeWithOcmCli({ ocm: s.bin.ocm, crane: s.bin.crane, registryHost: s.registry.fs.host, work, prefix: 'ocm-cli-e2e' });
    p = await startPipeline({ processes: true, ctfRoot: work });
  }, 600_000);
  afterAll(async () => p?.stop());

  /** One source through every stage, then what a user (helm, crane) finds in zot. */
  async function deliver(label: string, repositorySpec: Record<string, unknown>): Promise<void> {
    const s = services();
    const name = (what: string): string => `${what}-${label}`;
    await p.create('OCMRepository', name('src'), { repositorySpec });
    for (const r of ['chart', 'config', 'image']) {
      await p.create('Resource', name(r), { componentRef: { name: name('app') }, resource: { byReference: { resource: { name: r } } } });
    }
    await p.create('Configuration', name('chart'), {
      target: { kind: 'Resource', name: name('chart') },
      rules: [{ yamlsubst: { source: { value: `configured ${label}` }, target: { file: { path: 'values.yaml', value: 'greeting' } } } }],
    });
    // a single file is stored under the resource name (README "File paths in Configuration rules")
    await p.create('Configuration', name('config'), {
      target: { kind: 'Resource', name: name('config') },
      rules: [{ yamlsubst: { source: { value: 3 }, target: { file: { path: 'config', value: 'replicas' } } } }],
    });
    await p.create('Publication', name('chart'), { source: { kind: 'Configuration', name: name('chart') } });
    await p.create('Component', name('app'), {
      repositoryRef: { name: name('src') },
      component: APP_CLI,
      semver: '1.0.0',
      verify: [
        { signature: 'acme', value: made.keys.publicKey },
        { signature: 'acme-pss', value: made.keys.publicKey },
      ],
    });
    const why = async (): Promise<string> => {
      const out: string[] = [];
      for (const [kind, n] of [
        ['Component', 'app'],
        ['Resource', 'chart'],
        ['Resource', 'config'],
        ['Resource', 'image'],
        ['Configuration', 'chart'],
        ['Configuration', 'config'],
        ['Publication', 'chart'],
      ] as const) {
        const r = ready(await p.get(kind, name(n)));
        out.push(`${kind}/${name(n)} ${r.status} ${r.reason} ${r.message ?? ''}`);
      }
      return out.join('\n');
    };
    const ociRepo = await waitFor(
      `the OCIRepository of ${label}`,
      async () => {
        const objects = await Promise.all([
          p.get('Publication', name('chart')),
          p.get('Configuration', name('config')),
          p.get('Resource', name('image')),
        ]);
        if (!objects.every(isReadyNow)) return undefined;
        return (await p.getOCIRepository(name('chart'))) as OCIRepositoryObject | undefined;
      },
      { timeoutMs: 240_000, explain: async () => `\n${await why()}` },
    );
    // both signatures verified (the Component is Ready only then)
    expect(ready(await p.get('Component', name('app')))).toMatchObject({ status: 'True', reason: 'Succeeded' });

    // the configured chart in zot, as Flux's OCIRepository names it, renders with helm
    const env = p.registry.toolEnv;
    const chartSnap = (await p.get('Snapshot', `configuration-${name('chart')}`)) as SnapshotObject;
    expect(ociRepo.spec).toMatchObject({ ref: { digest: chartSnap.spec!.digest }, layerSelector: { mediaType: MediaType.HelmChart, operation: 'copy' } });
    const ref = `${p.registry.host}/${chartSnap.spec!.repository}`;
    const { stdout: manifestJson } = await run(s.bin.crane, ['manifest', `${ref}@${chartSnap.spec!.digest}`], { env });
    const layer = (JSON.parse(manifestJson) as { layers: { mediaType: string; digest: string }[] }).layers.find((l) => l.mediaType === MediaType.HelmChart);
    expect(layer, manifestJson).toBeDefined();
    const { stdout: tgz } = await run(s.bin.crane, ['blob', `${ref}@${layer!.digest}`], { env, encoding: 'buffer', maxBuffer: 64 << 20 });
    const tgzPath = join(await mkdtemp(join(work, 'chart-')), 'chart.tgz');
    await writeFile(tgzPath, tgz);
    if (!s.bin.helm) throw new Error('helm is not built (tests/infra/install)');
    const { stdout: rendered } = await run(s.bin.helm, ['template', 'rel', tgzPath]);
    expect(rendered).toContain(`greeting: configured ${label}`);
    expect(rendered).not.toContain(CHART_GREETING);

    // the single file, configured under the resource name
    const cfgSnap = (await p.get('Snapshot', `configuration-${name('config')}`)) as SnapshotObject;
    const cfgLayer = await p.deps.store.fetchLayer(cfgSnap.spec!.repository, cfgSnap.spec!.digest);
    try {
      const { stdout } = await run('tar', ['-xzOf', cfgLayer.path, 'config']);
      expect(stdout).toBe(FILE_CONTENTS.config.replace('2', '3'));
    } finally {
      await cfgLayer.dispose();
    }

    // the image: copied whole into zot with the digest crane gave it
    const imageSnap = (await p.get('Snapshot', `resource-${name('image')}`)) as SnapshotObject;
    expect(imageSnap.spec!.digest).toBe(made.image.digest);
    const { stdout: digest } = await run(s.bin.crane, ['digest', `${p.registry.host}/${imageSnap.spec!.repository}:${imageSnap.spec!.tag}`], { env });
    expect(digest.trim()).toBe(made.image.digest);
    await run(s.bin.crane, ['pull', '--format', 'oci', `${p.registry.host}/${imageSnap.spec!.repository}@${made.image.digest}`, join(work, `pulled-${label}`)], { env });
  }

  it('a CTF made by `ocm transfer --copy-resources` (chart and image as artifact sets) is delivered', async () => {
    await deliver('ctf', { type: 'CommonTransportFormat', filePath: made.ctfByValue });
  });

  it('the by-value registry transfer (chart and image as OCI artifacts behind http:// references) is delivered', async () => {
    await deliver('reg', { type: 'OCIRegistry', baseUrl: made.registryByValue });
  });

  it('a signature checked with another key is Ready=False ComponentVerificationFailed', async () => {
    await p.create('OCMRepository', 'src-wrong-key', { repositorySpec: { type: 'OCIRegistry', baseUrl: made.registryByValue } });
    await p.create('Component', 'app-wrong-key', {
      repositoryRef: { name: 'src-wrong-key' },
      component: APP_CLI,
      semver: '1.0.0',
      verify: [{ signature: 'acme', value: rsaKeys().publicKey }],
    });
    // RepositoryIsNotReady first, until the OCMRepository is Ready
    const failed = await waitFor(
      'Component app-wrong-key to fail verification',
      async () => {
        const r = ready(await p.get('Component', 'app-wrong-key'));
        return r.status === 'False' && r.reason === 'ComponentVerificationFailed' ? r : undefined;
      },
      { explain: async () => `Ready: ${JSON.stringify(ready(await p.get('Component', 'app-wrong-key')))}` },
    );
    expect(failed.message).toMatch(/acme/);
    await p.driver.settle();
    expect(p.driver.deadLetters.map((d) => `${d.stage} ${d.event.type} ${d.status} ${d.body}`)).toEqual([]);
  });
});
