/**
 * The S3-backed variant of the registry benchmark (bench/registry/run.ts measures the filesystem registry and has no
 * switch for another one, so this wrapper repeats its method against the S3-backed docker-registry 2.8 of
 * tests/infra/start.ts, whose storage is SeaweedFS S3 on this machine):
 * - the same operations, the same tools and flags: ours (bench/registry/ours.ts, bundled, one process per
 *   operation), skopeo, oras, crane; push from the same kind of OCI layout / file, pull into a layout;
 * - each push goes to a fresh repository after the layer's objects were deleted from the bucket (and skopeo's
 *   blob-info cache), so every push transfers and stores the whole layer;
 * - tools interleaved in a rotating order; wall time and peak RSS from /usr/bin/time; medians.
 *
 *   npx tsx bench/pipeline/registry-s3.ts [--runs 5] [--runs-big 5] [--sizes 200,1024]
 */
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCipheriv, createHash } from 'node:crypto';
import { build } from 'esbuild';
import { LayoutStore, pushFileArtifact } from '../../shared/snapshot/index.js';
import { startServices } from '../../tests/infra/start.js';
import { REPO, TMP, arg, loadSampler, log, machine, percentile, table, writeResult } from './harness.js';

const RUNS = Number(arg('runs', '5'));
const RUNS_BIG = Number(arg('runs-big', String(RUNS)));
const SIZES = arg('sizes', '200,1024').split(',').map(Number);
const BIN = join(homedir(), '.cache/ocm-knative/bin');
const ORAS = join(BIN, 'oras-v1.3.6');
const CRANE = join(BIN, 'crane-v0.22.1');
const SKOPEO = '/usr/bin/skopeo';

interface Sample {
  seconds: number;
  rssMiB: number;
  inProcessMs?: number;
  /** a pull whose file writes went down to 64 KiB because the page cache was slow */
  smallWrites?: boolean;
}

function timed(cmd: string, args: string[], cwd?: string): Promise<Sample & { stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '@@TIME %e %M', cmd, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      const m = /@@TIME ([\d.]+) (\d+)/.exec(err);
      if (code !== 0 || !m) reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.slice(-2000)}`));
      else resolve({ seconds: Number(m[1]), rssMiB: Number(m[2]) / 1024, stdout: out });
    });
  });
}

async function randomFile(path: string, mib: number): Promise<void> {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(`registry-s3/${mib}`).digest(), Buffer.alloc(16));
  const zeros = Buffer.alloc(1024 * 1024);
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < mib; i++) yield cipher.update(zeros);
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path));
}

async function main(): Promise<void> {
  await mkdir(TMP, { recursive: true });
  const started = await startServices({ tmpRoot: TMP, log });
  const load = loadSampler();
  const s = started.services;
  const reg = s.registry.s3;
  const url = reg.url;
  const host = reg.host;
  const s3 = new S3Client({
    endpoint: s.s3.endpoint,
    region: s.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.s3.accessKeyId, secretAccessKey: s.s3.secretAccessKey },
  });
  const work = join(s.workDir, 'bench-registry-s3');
  const results: Record<string, unknown> = { date: new Date().toISOString(), machine: machine(), runs: RUNS, runsBig: RUNS_BIG, sizes: SIZES, registry: 'docker-registry 2.8 (S3 driver) on SeaweedFS S3' };
  const rows: (string | number)[][] = [];
  const failures: Array<{ mib: number; op: string; client: string; run: number; error: string }> = [];
  results.failures = failures;
  try {
    await mkdir(work, { recursive: true });
    const ours = join(work, 'ours.mjs');
    await build({
      entryPoints: [join(REPO, 'bench', 'registry', 'ours.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: ours,
      logLevel: 'warning',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    const prefix = `${reg.rootDirectory.replace(/^\/+/, '')}/docker/registry/v2/blobs/sha256/`;
    for (const mib of SIZES) {
      const runs = mib >= 1024 ? RUNS_BIG : RUNS;
      const dir = join(work, `s${mib}`);
      await mkdir(dir, { recursive: true });
      const file = join(dir, 'big.bin');
      log(`creating ${mib} MiB`);
      await randomFile(file, mib);
      const layoutRoot = join(dir, 'layouts');
      const layout = new LayoutStore(layoutRoot).repository('src');
      const { layer } = await pushFileArtifact(layout, file, { artifactType: 'application/vnd.example.bench', tag: 'v1' });
      const layoutDir = join(layoutRoot, 'src');
      const hex = layer.digest.slice('sha256:'.length);
      const dropLayer = async (): Promise<void> => {
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: reg.bucket, Prefix: `${prefix}${hex.slice(0, 2)}/${hex}/` }));
        const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (keys.length) await s3.send(new DeleteObjectsCommand({ Bucket: reg.bucket, Delete: { Objects: keys } }));
        await rm('/var/lib/containers/cache/blob-info-cache-v1.boltdb', { force: true });
      };
      let n = 0;
      const fresh = (tool: string): string => `bench/${tool}/s${mib}-${n++}`;
      const inProc = async (p: Promise<Sample & { stdout: string }>): Promise<Sample> => {
        const r = await p;
        const out = JSON.parse(r.stdout) as { ms: number; socketTransfers?: Array<{ smallWrites?: boolean }> };
        return { ...r, inProcessMs: out.ms, ...(out.socketTransfers?.some((t) => t.smallWrites) ? { smallWrites: true } : {}) };
      };
      const pushers: Record<string, () => Promise<Sample>> = {
        'ours (layout)': () => inProc(timed('node', [ours, 'push-layout', url, layoutRoot, 'src', 'v1', fresh('ours')])),
        'ours (file)': () => inProc(timed('node', [ours, 'push-file', url, file, fresh('oursf'), 'v1'])),
        skopeo: () => timed(SKOPEO, ['copy', '-q', '--dest-tls-verify=false', `oci:${layoutDir}:v1`, `docker://${host}/${fresh('skopeo')}:v1`]),
        oras: () => timed(ORAS, ['push', '--plain-http', '--artifact-type', 'application/vnd.example.bench', `${host}/${fresh('oras')}:v1`, 'big.bin:application/octet-stream'], dir),
        crane: () => timed(CRANE, ['push', '--insecure', layoutDir, `${host}/${fresh('crane')}:v1`]),
      };
      const pullRepo = 'bench/pull/src';
      await timed('node', [ours, 'push-layout', url, layoutRoot, 'src', 'v1', pullRepo]);
      const pullers: Record<string, (out: string) => Promise<Sample>> = {
        ours: (out) => inProc(timed('node', [ours, 'pull', url, pullRepo, 'v1', out])),
        skopeo: (out) => timed(SKOPEO, ['copy', '-q', '--src-tls-verify=false', `docker://${host}/${pullRepo}:v1`, `oci:${out}:v1`]),
        oras: (out) => timed(ORAS, ['pull', '--plain-http', '-o', out, `${host}/${pullRepo}:v1`]),
        crane: (out) => timed(CRANE, ['pull', '--insecure', '--format', 'oci', `${host}/${pullRepo}:v1`, out]),
      };
      const push: Record<string, Sample[]> = {};
      const pull: Record<string, Sample[]> = {};
      const repush: number[] = [];
      for (let r = 0; r < runs; r++) {
        const names = Object.keys(pushers);
        for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
          await dropLayer();
          let x: Sample;
          try {
            x = await pushers[name]!();
          } catch (err) {
            // a failed operation is a result too (the S3 store under load answers 500 now and then); keep going
            failures.push({ mib, op: 'push', client: name, run: r + 1, error: String(err).slice(0, 400) });
            log(`S3 ${mib} MiB push ${name} run ${r + 1}: FAILED ${String(err).slice(0, 200)}`);
            continue;
          }
          (push[name] ??= []).push(x);
          log(`S3 ${mib} MiB push ${name} run ${r + 1}: ${x.seconds.toFixed(2)} s, ${x.rssMiB.toFixed(0)} MiB RSS`);
        }
        // the pushes above deleted and re-uploaded the (registry-global) layer; if one of them failed, the pull
        // source would have lost it: put it back (a HEAD-only no-op when it is there)
        await timed('node', [ours, 'push-layout', url, layoutRoot, 'src', 'v1', pullRepo]);
        const pnames = Object.keys(pullers);
        for (const name of [...pnames.slice(r % pnames.length), ...pnames.slice(0, r % pnames.length)]) {
          const out = join(dir, `pull-${name}-${r}`);
          let x: Sample;
          try {
            x = await pullers[name]!(out);
            if (!existsSync(out)) throw new Error(`${name} pull wrote nothing`);
          } catch (err) {
            failures.push({ mib, op: 'pull', client: name, run: r + 1, error: String(err).slice(0, 400) });
            log(`S3 ${mib} MiB pull ${name} run ${r + 1}: FAILED ${String(err).slice(0, 200)}`);
            continue;
          }
          await rm(out, { recursive: true, force: true });
          (pull[name] ??= []).push(x);
          log(`S3 ${mib} MiB pull ${name} run ${r + 1}: ${x.seconds.toFixed(2)} s, ${x.rssMiB.toFixed(0)} MiB RSS${x.smallWrites ? ', 64 KiB writes' : ''}`);
        }
        const rp = await timed('node', [ours, 'repush', url, layoutRoot, 'src', 'v1', pullRepo]).catch(() => undefined);
        if (rp) repush.push((JSON.parse(rp.stdout) as { repushMs: number }).repushMs);
      }
      const med = (xs: number[]): number => {
        const v = [...xs].sort((a, b) => a - b);
        const m = Math.floor(v.length / 2);
        return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
      };
      const summarise = (samples: Record<string, Sample[]>): Record<string, { medianS: number; mibPerS: number; peakRssMiB: number; medianInProcessS?: number }> =>
        Object.fromEntries(
          Object.entries(samples).map(([k, v]) => {
            const m = med(v.map((x) => x.seconds));
            const ip = v.every((x) => x.inProcessMs !== undefined) ? med(v.map((x) => x.inProcessMs! / 1000)) : undefined;
            return [k, { medianS: m, mibPerS: mib / m, peakRssMiB: Math.max(...v.map((x) => x.rssMiB)), ...(ip ? { medianInProcessS: ip } : {}) }];
          }),
        );
      const pushSum = summarise(push);
      const pullSum = summarise(pull);
      results[`${mib}MiB`] = { push: pushSum, pull: pullSum, repushMedianMs: med(repush), repushP95Ms: percentile(repush, 95), raw: { push, pull, repush } };
      for (const [op, sum] of [['push', pushSum], ['pull', pullSum]] as const) {
        const best = Math.min(...Object.entries(sum).filter(([k]) => !k.startsWith('ours')).map(([, v]) => v.medianS));
        for (const [k, v] of Object.entries(sum)) {
          rows.push([`${mib} MiB`, op, k, v.medianS.toFixed(2), v.mibPerS.toFixed(0), `${(best / v.medianS).toFixed(2)}x`, v.peakRssMiB.toFixed(0), runs]);
        }
      }
      await writeResult(`registry-s3-${SIZES.join('-')}`, { ...results, partial: true });
      rows.push([`${mib} MiB`, 'repeat push (existing)', 'ours, in-process', (med(repush) / 1000).toFixed(3), '-', '-', '-', runs]);
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    s3.destroy();
    results.load = load.stop();
    await started.stop();
  }
  const out = table(['size', 'op', 'client', 'median s (wall)', 'MiB/s', 'vs best peer', 'peak RSS MiB', 'runs'], rows);
  results.table = out;
  const file = await writeResult(`registry-s3-${SIZES.join('-')}`, results);
  process.stdout.write(`${out}\n\nload ${JSON.stringify(results.load)}; results in ${file}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
