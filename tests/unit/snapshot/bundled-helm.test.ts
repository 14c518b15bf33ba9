/**
 * The functions run as esbuild bundles (functions/build.ts: ESM, code splitting, minified). A module that works
 * under tsx can still break there — a lazy `import('yaml')` in the artifact builder did, failing every Helm chart in
 * the bundled resource function only. This builds a Helm artifact through a bundle made by the same build code.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { buildFunctions } from '../../../functions/build.js';
import { MediaType } from '../../../shared/oci/media-types.js';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '../../..');

it('the bundled artifact builder reads a Helm chart (Chart.yaml -> config, chart version)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bundled-helm-'));
  await mkdir(path.join(dir, 'chart/demo/templates'), { recursive: true });
  await writeFile(path.join(dir, 'chart/demo/Chart.yaml'), 'apiVersion: v2\nname: demo\nversion: 1.2.3\n');
  await writeFile(path.join(dir, 'chart/demo/values.yaml'), 'replicaCount: 1\n');
  await run('tar', ['-czf', path.join(dir, 'demo-1.2.3.tgz'), '-C', path.join(dir, 'chart'), 'demo']);

  const entry = path.join(dir, 'probe.ts');
  await writeFile(
    entry,
    `import { buildArtifact } from ${JSON.stringify(path.join(repo, 'shared/snapshot/index.ts'))};
const built = await buildArtifact({ content: { path: process.argv[2]! }, mediaType: ${JSON.stringify(MediaType.HelmChart)}, name: 'chart', kind: 'helm' });
process.stdout.write(JSON.stringify({ config: JSON.parse(built.config.bytes.toString()), chartVersion: built.chartVersion }));
await built.dispose();
`,
  );
  await buildFunctions({ entries: { probe: entry }, outdir: path.join(dir, 'dist'), log: () => undefined });
  const { stdout } = await run(process.execPath, [path.join(dir, 'dist/probe.mjs'), path.join(dir, 'demo-1.2.3.tgz')]);
  const out = JSON.parse(stdout) as { config: { name: string; version: string }; chartVersion?: string };
  expect(out.config).toMatchObject({ name: 'demo', version: '1.2.3' });
  expect(out.chartVersion).toBe('1.2.3');
});
