/**
 * The registry benchmark (bench/registry/method.ts) against zot v2.1.20 as tests/infra/zot.ts runs it: the shipped
 * registry/config.json on SeaweedFS S3, TLS with the run's CA, htpasswd (every client authenticates as the push
 * user: ours through OCMK_BENCH_*, skopeo/oras with flags, crane with a Docker config). zot's RSS and CPU seconds
 * over the whole run are reported too (from /proc).
 *
 * Every push goes to a fresh repository; zot keeps blobs per repository (the shipped config has dedupe off), so
 * each push uploads the whole layer without deleting anything first.
 *
 *   npx tsx bench/pipeline/registry-zot.ts [--runs 3] [--runs-big 1] [--sizes 200,1024]
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { measureRegistry } from '../registry/method.js';
import { startServices } from '../../tests/infra/start.js';
import { TMP, arg, cpuSecondsOf, findPid, loadSampler, log, machine, rssOf, writeResult } from './harness.js';

const RUNS = Number(arg('runs', '3'));
const RUNS_BIG = Number(arg('runs-big', '1'));
const SIZES = arg('sizes', '200').split(',').map(Number);

async function main(): Promise<void> {
  await mkdir(TMP, { recursive: true });
  const started = await startServices({ tmpRoot: TMP, log });
  const load = loadSampler();
  const s = started.services;
  const zot = s.registry.zot;
  const pid = findPid((cmd) => cmd[1] === 'serve' && cmd[2] === zot.configFile);
  if (!pid) throw new Error(`no zot process serving ${zot.configFile}`);
  const cpu0 = cpuSecondsOf(pid) ?? 0;
  const name = `registry-zot-${SIZES.join('-')}`;
  const extra = { machine: machine(), registry: 'zot v2.1.20 (shipped config: S3 driver on SeaweedFS S3, TLS, htpasswd)' };
  try {
    const { results, table, floor } = await measureRegistry(
      {
        url: zot.url,
        host: zot.host,
        caFile: zot.caFile,
        credentials: zot.push,
        authDir: join(s.workDir, 'bench-auth'),
        dropLayer: async () => undefined,
      },
      {
        sizes: SIZES,
        runs: RUNS,
        runsBig: RUNS_BIG,
        work: join(s.workDir, 'bench-registry-zot'),
        log,
        onSize: async (partial) => void (await writeResult(name, { ...partial, ...extra, partial: true })),
      },
    );
    const zotUse = { peakRssMiB: Math.round(rssOf(pid)?.peakMiB ?? NaN), cpuSeconds: Number(((cpuSecondsOf(pid) ?? 0) - cpu0).toFixed(1)) };
    const file = await writeResult(name, { ...results, ...extra, zot: zotUse, load: load.stop() });
    process.stdout.write(`${table}\n\n${floor}\nzot over the run: peak RSS ${zotUse.peakRssMiB} MiB, ${zotUse.cpuSeconds} CPU s\nresults in ${file}\n`);
  } finally {
    await started.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
