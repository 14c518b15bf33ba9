/**
 * Registry benchmark against one docker-registry 2.8 with filesystem storage, started here on a free port. The
 * method (tools, order, what is timed) is in method.ts; bench/pipeline/registry-s3.ts runs it on the S3-backed one.
 *
 *   npx tsx bench/registry/run.ts [--runs 5] [--runs-big 5] [--sizes 200,1024] [--out bench/registry/results.json]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess, waitReady } from '../../tests/infra/process.js';
import { freePort } from '../../tests/support/free-port.js';
import { measureRegistry } from './method.js';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
};
const RUNS = Number(arg('runs', '5'));
const RUNS_BIG = Number(arg('runs-big', String(RUNS)));
const SIZES = arg('sizes', '200,1024').split(',').map(Number);
const OUT = arg('out', 'bench/registry/results.json');

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'ocmk-bench-registry-'));
  const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);
  const port = await freePort();
  const storage = join(work, 'registry');
  const cfg = join(work, 'registry.yml');
  await writeFile(
    cfg,
    `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${storage}}\n  delete: {enabled: true}\n  maintenance: {uploadpurging: {enabled: false}}\nhttp:\n  addr: 127.0.0.1:${port}\n  secret: bench-only\n`,
  );
  const reg = startProcess({ name: 'bench-registry', command: 'docker-registry', args: ['serve', cfg], logFile: join(work, 'registry.log') });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(reg, async () => (await fetch(`${url}/v2/`)).status === 200, 20_000);
    const { results, table, floor } = await measureRegistry(
      {
        url,
        host: `127.0.0.1:${port}`,
        dropLayer: (hex) => rm(join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex), { recursive: true, force: true }),
      },
      { sizes: SIZES, runs: RUNS, runsBig: RUNS_BIG, work: join(work, 'bench'), log },
    );
    await writeFile(OUT, `${JSON.stringify({ ...results, registry: 'docker-registry 2.8 (filesystem)' }, null, 2)}\n`);
    process.stdout.write(`${table}\n\n${floor}\n`);
  } finally {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
