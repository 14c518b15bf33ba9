/**
 * Registry benchmark: single-layer push and pull, ours vs skopeo vs oras vs crane, against one docker-registry 2.8
 * (filesystem storage) started here on a free port. Every push really transfers: each push goes to a fresh
 * repository and the layer is deleted from the registry's storage (and skopeo's blob-info cache) before it.
 * Tools are interleaved within each run so machine noise hits all of them alike. Wall time and peak RSS come from
 * /usr/bin/time for every process (ours is bundled with esbuild and run with plain node, like the Go binaries).
 *
 *   npx tsx bench/registry/run.ts [--runs 5] [--runs-big 5] [--sizes 200,1024] [--out bench/registry/results.json]
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { LayoutStore, pushFileArtifact } from '../../shared/snapshot/index.js';
import { freePort, startProcess, waitReady } from '../../tests/infra/process.js';

const execFileP = promisify(execFile);
const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
};
const RUNS = Number(arg('runs', '5'));
const RUNS_BIG = Number(arg('runs-big', String(RUNS)));
const SIZES = arg('sizes', '200,1024').split(',').map(Number);
const OUT = arg('out', 'bench/registry/results.json');
const BIN = join(homedir(), '.cache/ocm-knative/bin');
const ORAS = join(BIN, 'oras-v1.3.6');
const CRANE = join(BIN, 'crane-v0.22.1');
const SKOPEO = '/usr/bin/skopeo';

interface Sample {
  seconds: number;
  rssMiB: number;
  /** user + system CPU seconds of the process: unlike wall time, barely moved by other load on the machine */
  cpuS: number;
  inProcessMs?: number;
  repushMs?: number;
}

/** Runs a command under /usr/bin/time; returns wall seconds, CPU seconds and peak RSS. */
async function timed(cmd: string, args: string[], cwd?: string): Promise<Sample & { stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '@@TIME %e %M %U %S', cmd, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      const m = /@@TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(err);
      if (code !== 0 || !m) {
        reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.slice(-2000)}`));
        return;
      }
      resolve({ seconds: Number(m[1]), rssMiB: Number(m[2]) / 1024, cpuS: Number(m[3]) + Number(m[4]), stdout: out });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function randomFile(path: string, mib: number): Promise<void> {
  await execFileP('sh', ['-c', `head -c ${mib * 1024 * 1024} /dev/urandom > '${path}'`]);
}

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
  const host = `127.0.0.1:${port}`;
  try {
    await waitReady(reg, async () => (await fetch(`${url}/v2/`)).status === 200, 20_000);
    const ours = join(work, 'ours.mjs');
    await build({
      entryPoints: [new URL('./ours.ts', import.meta.url).pathname],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: ours,
      logLevel: 'warning',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    // the floor every one of our processes pays before it sends a byte: Node start-up plus loading the bundle
    const idleRuns: Sample[] = [];
    for (let i = 0; i < 5; i++) idleRuns.push(await timed('node', [ours, 'idle', url]));
    const idle: Sample = {
      seconds: median(idleRuns.map((s) => s.seconds)),
      cpuS: median(idleRuns.map((s) => s.cpuS)),
      rssMiB: median(idleRuns.map((s) => s.rssMiB)),
    };
    const results: Record<string, unknown> = { date: new Date().toISOString(), runs: RUNS, runsBig: RUNS_BIG, sizes: SIZES, node: process.version };
    const rows: string[] = [];
    for (const mib of SIZES) {
      const runs = mib >= 1024 ? RUNS_BIG : RUNS;
      const dir = join(work, `s${mib}`);
      await mkdir(dir, { recursive: true });
      const file = join(dir, 'big.bin');
      log(`creating ${mib} MiB`);
      await randomFile(file, mib);
      // an OCI layout holding the same single-layer artifact, for skopeo/crane/ours to push from
      const layoutRoot = join(dir, 'layouts');
      const layout = new LayoutStore(layoutRoot).repository('src');
      const { layer } = await pushFileArtifact(layout, file, { artifactType: 'application/vnd.example.bench', tag: 'v1' });
      const layoutDir = join(layoutRoot, 'src');
      const hex = layer.digest.slice('sha256:'.length);
      const dropLayer = async (): Promise<void> => {
        await rm(join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex), { recursive: true, force: true });
        await rm('/var/lib/containers/cache/blob-info-cache-v1.boltdb', { force: true });
      };
      let n = 0;
      const fresh = (tool: string): string => `bench/${tool}/s${mib}-${n++}`;
      const pushers: Record<string, () => Promise<Sample>> = {
        'ours (layout)': async () => {
          const s = await timed('node', [ours, 'push-layout', url, layoutRoot, 'src', 'v1', fresh('ours')]);
          return { ...s, inProcessMs: (JSON.parse(s.stdout) as { ms: number }).ms };
        },
        'ours (file)': async () => {
          const s = await timed('node', [ours, 'push-file', url, file, fresh('oursf'), 'v1']);
          return { ...s, inProcessMs: (JSON.parse(s.stdout) as { ms: number }).ms };
        },
        skopeo: () => timed(SKOPEO, ['copy', '-q', '--dest-tls-verify=false', `oci:${layoutDir}:v1`, `docker://${host}/${fresh('skopeo')}:v1`]),
        oras: () =>
          timed(ORAS, ['push', '--plain-http', '--artifact-type', 'application/vnd.example.bench', `${host}/${fresh('oras')}:v1`, 'big.bin:application/octet-stream'], dir),
        crane: () => timed(CRANE, ['push', '--insecure', layoutDir, `${host}/${fresh('crane')}:v1`]),
      };
      const pullRepo = 'bench/pull/src';
      await timed('node', [ours, 'push-layout', url, layoutRoot, 'src', 'v1', pullRepo]);
      const pullers: Record<string, (out: string) => Promise<Sample>> = {
        ours: async (out) => {
          const s = await timed('node', [ours, 'pull', url, pullRepo, 'v1', out]);
          return { ...s, inProcessMs: (JSON.parse(s.stdout) as { ms: number }).ms };
        },
        skopeo: (out) => timed(SKOPEO, ['copy', '-q', '--src-tls-verify=false', `docker://${host}/${pullRepo}:v1`, `oci:${out}:v1`]),
        oras: (out) => timed(ORAS, ['pull', '--plain-http', '-o', out, `${host}/${pullRepo}:v1`]),
        crane: (out) => timed(CRANE, ['pull', '--insecure', '--format', 'oci', `${host}/${pullRepo}:v1`, out]),
      };
      const push: Record<string, Sample[]> = {};
      const pull: Record<string, Sample[]> = {};
      const repush: number[] = [];
      for (let run = 0; run < runs; run++) {
        const names = Object.keys(pushers);
        // rotate the order each run
        for (const name of [...names.slice(run % names.length), ...names.slice(0, run % names.length)]) {
          await dropLayer();
          const s = await pushers[name]!();
          (push[name] ??= []).push(s);
          log(`${mib} MiB push ${name} run ${run + 1}: ${s.seconds.toFixed(2)} s, ${s.rssMiB.toFixed(0)} MiB RSS`);
        }
        const pnames = Object.keys(pullers);
        for (const name of [...pnames.slice(run % pnames.length), ...pnames.slice(0, run % pnames.length)]) {
          const out = join(dir, `pull-${name}-${run}`);
          const s = await pullers[name]!(out);
          if (!existsSync(out)) throw new Error(`${name} pull wrote nothing`);
          await rm(out, { recursive: true, force: true });
          (pull[name] ??= []).push(s);
          log(`${mib} MiB pull ${name} run ${run + 1}: ${s.seconds.toFixed(2)} s, ${s.rssMiB.toFixed(0)} MiB RSS`);
        }
        // repeat push of content the registry already has: HEADs only
        const r = await timed('node', [ours, 'repush', url, layoutRoot, 'src', 'v1', pullRepo]);
        repush.push((JSON.parse(r.stdout) as { repushMs: number }).repushMs);
      }
      type Summary = { medianS: number; mibPerS: number; medianCpuS: number; peakRssMiB: number; medianInProcessS?: number };
      const summarise = (samples: Record<string, Sample[]>): Record<string, Summary> =>
        Object.fromEntries(
          Object.entries(samples).map(([k, v]) => {
            const m = median(v.map((s) => s.seconds));
            const inProc = v.every((s) => s.inProcessMs !== undefined) ? median(v.map((s) => s.inProcessMs! / 1000)) : undefined;
            return [
              k,
              {
                medianS: m,
                mibPerS: mib / m,
                medianCpuS: median(v.map((s) => s.cpuS)),
                peakRssMiB: Math.max(...v.map((s) => s.rssMiB)),
                ...(inProc ? { medianInProcessS: inProc } : {}),
              },
            ];
          }),
        );
      const pushSum = summarise(push);
      const pullSum = summarise(pull);
      const bestPeer = (sum: Record<string, { medianS: number }>): number =>
        Math.min(...Object.entries(sum).filter(([k]) => !k.startsWith('ours')).map(([, v]) => v.medianS));
      results[`${mib}MiB`] = { push: pushSum, pull: pullSum, repushMedianMs: median(repush), raw: { push, pull, repush } };
      for (const [op, sum] of [['push', pushSum], ['pull', pullSum]] as const) {
        const best = bestPeer(sum);
        for (const [k, v] of Object.entries(sum)) {
          const inProc = v.medianInProcessS === undefined ? '-' : v.medianInProcessS.toFixed(2);
          const aboveIdle = k.startsWith('ours') ? ` (+${(v.peakRssMiB - idle.rssMiB).toFixed(0)})` : '';
          // the Go peers start in about 10 ms, so their wall time is close to their transfer time
          const vsInProc = v.medianInProcessS === undefined ? '' : ` (in-process ${(best / v.medianInProcessS).toFixed(2)}x)`;
          rows.push(
            `| ${mib} MiB | ${op} | ${k} | ${v.medianS.toFixed(2)} | ${inProc} | ${v.mibPerS.toFixed(0)} | ${(best / v.medianS).toFixed(2)}x${vsInProc} | ${v.medianCpuS.toFixed(2)} | ${v.peakRssMiB.toFixed(0)}${aboveIdle} |`,
          );
        }
      }
      rows.push(`| ${mib} MiB | repeat push (existing) | ours | - | ${(median(repush) / 1000).toFixed(3)} | - | - | - | - |`);
      await rm(dir, { recursive: true, force: true });
    }
    const table = [
      '| size | op | client | median s (wall) | in-process s | MiB/s (wall) | vs best peer (wall) | median CPU s | peak RSS MiB (ours: + above idle) |',
      '|---|---|---|---|---|---|---|---|---|',
      ...rows,
    ].join('\n');
    const floor = `Node start-up (bundle loaded, client created, nothing sent): median ${idle.seconds.toFixed(2)} s wall, ${idle.cpuS.toFixed(2)} s CPU, ${idle.rssMiB.toFixed(0)} MiB peak RSS.`;
    results.idle = idle;
    results.table = table;
    await writeFile(OUT, `${JSON.stringify(results, null, 2)}\n`);
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
