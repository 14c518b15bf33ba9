/**
 * The registry benchmark's method, shared by bench/registry/run.ts (filesystem docker-registry started there) and
 * bench/pipeline/registry-s3.ts (the S3-backed one of tests/infra): single-layer push and pull, ours vs skopeo vs
 * oras vs crane, every tool a process under /usr/bin/time (ours bundled with esbuild and run with plain node, like
 * the Go binaries).
 * - Every push really transfers: it goes to a fresh repository, after `dropLayer` removed the layer from the
 *   registry's storage (and skopeo's blob-info cache is deleted).
 * - Tools run interleaved in a rotating order within each run, so machine noise hits all of them alike.
 * - Medians per tool; peak RSS is the maximum; ratios divide the best peer's median wall time by ours (and by our
 *   in-process time, which leaves out Node's start-up).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCipheriv, createHash } from 'node:crypto';
import { build } from 'esbuild';
import { LayoutStore, pushFileArtifact } from '../../shared/snapshot/index.js';

const BIN = join(homedir(), '.cache/ocm-knative/bin');
const ORAS = join(BIN, 'oras-v1.3.6');
const CRANE = join(BIN, 'crane-v0.22.1');
const SKOPEO = '/usr/bin/skopeo';

export interface Sample {
  seconds: number;
  rssMiB: number;
  /** user + system CPU seconds of the process: unlike wall time, barely moved by other load on the machine */
  cpuS: number;
  inProcessMs?: number;
  /** a pull of ours whose file writes went down to 64 KiB because the page cache was slow */
  smallWrites?: boolean;
}

export interface Summary {
  medianS: number;
  mibPerS: number;
  medianCpuS: number;
  peakRssMiB: number;
  medianInProcessS?: number;
}

/** The registry under test. */
export interface BenchRegistry {
  /** e.g. http://127.0.0.1:5000 */
  url: string;
  /** host:port, for the Go tools */
  host: string;
  /** removes the layer `sha256:<hex>` from the registry's storage, so the next push transfers it again */
  dropLayer(hex: string): Promise<void>;
  /** an https registry: its CA (PEM file) for every client; default: plain HTTP */
  caFile?: string;
  /** basic auth for every client (peers get it the way they take it: flags, or a Docker config for crane) */
  credentials?: { username: string; password: string };
  /** a folder this method may write the peers' auth files into (needed with `credentials`) */
  authDir?: string;
}

export interface MethodOptions {
  sizes: number[];
  runs: number;
  /** runs for sizes of 1 GiB and more */
  runsBig: number;
  /** scratch directory (large files) */
  work: string;
  log: (line: string) => void;
  /** after each size: the results so far (a long run leaves something behind if it dies) */
  onSize?: (results: Record<string, unknown>) => Promise<void>;
}

/** Runs a command under /usr/bin/time; returns wall seconds, CPU seconds and peak RSS. */
export function timed(cmd: string, args: string[], cwd?: string, env?: NodeJS.ProcessEnv): Promise<Sample & { stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '@@TIME %e %M %U %S', cmd, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      const m = /@@TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(err);
      if (code !== 0 || !m) reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.slice(-2000)}`));
      else resolve({ seconds: Number(m[1]), rssMiB: Number(m[2]) / 1024, cpuS: Number(m[3]) + Number(m[4]), stdout: out });
    });
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Deterministic incompressible bytes (AES-CTR of zeros), so every run of a size moves the same layer. */
async function randomFile(path: string, mib: number): Promise<void> {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(`bench-registry/${mib}`).digest(), Buffer.alloc(16));
  const zeros = Buffer.alloc(1024 * 1024);
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < mib; i++) yield cipher.update(zeros);
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path));
}

/**
 * How each client reaches `reg`: plain HTTP flags, or the registry's CA and credentials the way each tool takes them
 * (skopeo: --*-cert-dir and --*-creds; oras: --ca-file, -u/-p; crane: SSL_CERT_FILE and a Docker config; ours:
 * OCMK_BENCH_* variables read by ours.ts).
 */
async function clientAccess(reg: BenchRegistry, work: string) {
  if (!reg.caFile) {
    return { skopeoDest: ['--dest-tls-verify=false'], skopeoSrc: ['--src-tls-verify=false'], oras: ['--plain-http'], crane: ['--insecure'], craneEnv: undefined, oursEnv: undefined };
  }
  const dir = reg.authDir ?? join(work, 'auth');
  const certDir = join(dir, 'certs');
  await mkdir(certDir, { recursive: true });
  // containers/image reads *.crt in the cert dir as CAs
  await copyFile(reg.caFile, join(certDir, 'ca.crt'));
  const c = reg.credentials;
  const creds = c ? `${c.username}:${c.password}` : undefined;
  let craneEnv: NodeJS.ProcessEnv = { ...process.env, SSL_CERT_FILE: reg.caFile };
  if (c) {
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(creds!).toString('base64') } } }), { mode: 0o600 });
    craneEnv = { ...craneEnv, DOCKER_CONFIG: dir };
  }
  return {
    skopeoDest: ['--dest-cert-dir', certDir, ...(creds ? ['--dest-creds', creds] : [])],
    skopeoSrc: ['--src-cert-dir', certDir, ...(creds ? ['--src-creds', creds] : [])],
    oras: ['--ca-file', reg.caFile, ...(c ? ['-u', c.username, '-p', c.password] : [])],
    crane: [] as string[],
    craneEnv,
    oursEnv: {
      ...process.env,
      OCMK_BENCH_CA_FILE: reg.caFile,
      ...(c ? { OCMK_BENCH_USERNAME: c.username, OCMK_BENCH_PASSWORD: c.password } : {}),
    } as NodeJS.ProcessEnv,
  };
}

/** Bundles bench/registry/ours.ts into `outfile`. */
async function bundleOurs(outfile: string): Promise<void> {
  await build({
    entryPoints: [new URL('./ours.ts', import.meta.url).pathname],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
}

/** Ours prints one JSON line; its in-process time and whether a download went to small writes go into the sample. */
async function oursSample(p: Promise<Sample & { stdout: string }>): Promise<Sample> {
  const r = await p;
  const out = JSON.parse(r.stdout) as { ms: number; socketTransfers?: Array<{ smallWrites?: boolean }> };
  return { ...r, inProcessMs: out.ms, ...(out.socketTransfers?.some((t) => t.smallWrites) ? { smallWrites: true } : {}) };
}

function summarise(mib: number, samples: Record<string, Sample[]>): Record<string, Summary> {
  return Object.fromEntries(
    Object.entries(samples).map(([k, v]) => {
      const m = median(v.map((s) => s.seconds));
      const inProc = v.every((s) => s.inProcessMs !== undefined) ? median(v.map((s) => s.inProcessMs! / 1000)) : undefined;
      const summary: Summary = { medianS: m, mibPerS: mib / m, medianCpuS: median(v.map((s) => s.cpuS)), peakRssMiB: Math.max(...v.map((s) => s.rssMiB)) };
      if (inProc !== undefined) summary.medianInProcessS = inProc;
      return [k, summary];
    }),
  );
}

/**
 * Measures every size against `reg`; returns the results (raw samples included), the Markdown table and the start-up
 * floor of our process. A failed operation is recorded and the run goes on (an S3 store under load answers 500 now
 * and then); the pull source is put back before each run's pulls for that reason.
 */
export async function measureRegistry(
  reg: BenchRegistry,
  opts: MethodOptions,
): Promise<{ results: Record<string, unknown>; table: string; floor: string }> {
  const { url, host } = reg;
  const { log } = opts;
  await mkdir(opts.work, { recursive: true });
  const access = await clientAccess(reg, opts.work);
  const ours = join(opts.work, 'ours.mjs');
  await bundleOurs(ours);
  // the floor every one of our processes pays before it sends a byte: Node start-up plus loading the bundle
  const idleRuns: Sample[] = [];
  const node = (args: string[]): Promise<Sample & { stdout: string }> => timed('node', [ours, ...args], undefined, access.oursEnv);
  for (let i = 0; i < 5; i++) idleRuns.push(await node(['idle', url]));
  const idle: Sample = {
    seconds: median(idleRuns.map((s) => s.seconds)),
    cpuS: median(idleRuns.map((s) => s.cpuS)),
    rssMiB: median(idleRuns.map((s) => s.rssMiB)),
  };
  const failures: Array<{ mib: number; op: string; client: string; run: number; error: string }> = [];
  const results: Record<string, unknown> = { date: new Date().toISOString(), runs: opts.runs, runsBig: opts.runsBig, sizes: opts.sizes, node: process.version, idle, failures };
  const rows: string[] = [];
  for (const mib of opts.sizes) {
    const runs = mib >= 1024 ? opts.runsBig : opts.runs;
    const dir = join(opts.work, `s${mib}`);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'big.bin');
    log(`creating ${mib} MiB`);
    await randomFile(file, mib);
    // an OCI layout holding the same single-layer artifact, for skopeo/crane/ours to push from
    const layoutRoot = join(dir, 'layouts');
    const { layer } = await pushFileArtifact(new LayoutStore(layoutRoot).repository('src'), file, { artifactType: 'application/vnd.example.bench', tag: 'v1' });
    const layoutDir = join(layoutRoot, 'src');
    const hex = layer.digest.slice('sha256:'.length);
    let n = 0;
    const fresh = (tool: string): string => `bench/${tool}/s${mib}-${n++}`;
    const pushers: Record<string, () => Promise<Sample>> = {
      'ours (layout)': () => oursSample(node(['push-layout', url, layoutRoot, 'src', 'v1', fresh('ours')])),
      'ours (file)': () => oursSample(node(['push-file', url, file, fresh('oursf'), 'v1'])),
      skopeo: () => timed(SKOPEO, ['copy', '-q', ...access.skopeoDest, `oci:${layoutDir}:v1`, `docker://${host}/${fresh('skopeo')}:v1`]),
      oras: () =>
        timed(ORAS, ['push', ...access.oras, '--artifact-type', 'application/vnd.example.bench', `${host}/${fresh('oras')}:v1`, 'big.bin:application/octet-stream'], dir),
      crane: () => timed(CRANE, ['push', ...access.crane, layoutDir, `${host}/${fresh('crane')}:v1`], undefined, access.craneEnv),
    };
    const pullRepo = 'bench/pull/src';
    // the pull source, pushed once up front; this also takes the store's first-write cost (SeaweedFS creates its
    // volumes on the first upload: seconds) out of the first measured push
    await node(['push-layout', url, layoutRoot, 'src', 'v1', pullRepo]);
    const pullers: Record<string, (out: string) => Promise<Sample>> = {
      ours: (out) => oursSample(node(['pull', url, pullRepo, 'v1', out])),
      skopeo: (out) => timed(SKOPEO, ['copy', '-q', ...access.skopeoSrc, `docker://${host}/${pullRepo}:v1`, `oci:${out}:v1`]),
      oras: (out) => timed(ORAS, ['pull', ...access.oras, '-o', out, `${host}/${pullRepo}:v1`]),
      crane: (out) => timed(CRANE, ['pull', ...access.crane, '--format', 'oci', `${host}/${pullRepo}:v1`, out], undefined, access.craneEnv),
    };
    const push: Record<string, Sample[]> = {};
    const pull: Record<string, Sample[]> = {};
    const repush: number[] = [];
    const attempt = async (op: string, name: string, run: number, fn: () => Promise<Sample>, into: Record<string, Sample[]>): Promise<void> => {
      try {
        const s = await fn();
        (into[name] ??= []).push(s);
        log(`${mib} MiB ${op} ${name} run ${run + 1}: ${s.seconds.toFixed(2)} s, ${s.rssMiB.toFixed(0)} MiB RSS${s.smallWrites ? ', 64 KiB writes' : ''}`);
      } catch (err) {
        failures.push({ mib, op, client: name, run: run + 1, error: String(err).slice(0, 400) });
        log(`${mib} MiB ${op} ${name} run ${run + 1}: FAILED ${String(err).slice(0, 200)}`);
      }
    };
    const rotated = (names: string[], run: number): string[] => [...names.slice(run % names.length), ...names.slice(0, run % names.length)];
    for (let run = 0; run < runs; run++) {
      for (const name of rotated(Object.keys(pushers), run)) {
        await reg.dropLayer(hex);
        await rm('/var/lib/containers/cache/blob-info-cache-v1.boltdb', { force: true });
        await attempt('push', name, run, pushers[name]!, push);
      }
      // the pushes deleted and re-uploaded the (registry-global) layer; if one of them failed, the pull source lost
      // it: put it back (HEADs only when it is there)
      await node(['push-layout', url, layoutRoot, 'src', 'v1', pullRepo]);
      for (const name of rotated(Object.keys(pullers), run)) {
        const out = join(dir, `pull-${name}-${run}`);
        await attempt('pull', name, run, async () => {
          const s = await pullers[name]!(out);
          if (!existsSync(out)) throw new Error(`${name} pull wrote nothing`);
          return s;
        }, pull);
        await rm(out, { recursive: true, force: true });
      }
      // repeat push of content the registry already has: HEADs only
      const r = await node(['repush', url, layoutRoot, 'src', 'v1', pullRepo]).catch(() => undefined);
      if (r) repush.push((JSON.parse(r.stdout) as { repushMs: number }).repushMs);
    }
    const pushSum = summarise(mib, push);
    const pullSum = summarise(mib, pull);
    results[`${mib}MiB`] = { push: pushSum, pull: pullSum, repushMedianMs: median(repush), raw: { push, pull, repush } };
    for (const [op, sum, samples] of [['push', pushSum, push], ['pull', pullSum, pull]] as const) {
      const best = Math.min(...Object.entries(sum).filter(([k]) => !k.startsWith('ours')).map(([, v]) => v.medianS));
      for (const [k, v] of Object.entries(sum)) {
        const inProc = v.medianInProcessS === undefined ? '-' : v.medianInProcessS.toFixed(2);
        const aboveIdle = k.startsWith('ours') ? ` (+${(v.peakRssMiB - idle.rssMiB).toFixed(0)})` : '';
        // the Go peers start in about 10 ms, so their wall time is close to their transfer time
        const vsInProc = v.medianInProcessS === undefined ? '' : ` (in-process ${(best / v.medianInProcessS).toFixed(2)}x)`;
        rows.push(
          `| ${mib} MiB | ${op} | ${k} | ${v.medianS.toFixed(2)} | ${inProc} | ${v.mibPerS.toFixed(0)} | ${(best / v.medianS).toFixed(2)}x${vsInProc} | ${v.medianCpuS.toFixed(2)} | ${v.peakRssMiB.toFixed(0)}${aboveIdle} | ${samples[k]?.length ?? 0} |`,
        );
      }
    }
    rows.push(`| ${mib} MiB | repeat push (existing) | ours | - | ${(median(repush) / 1000).toFixed(3)} | - | - | - | - | ${repush.length} |`);
    await rm(dir, { recursive: true, force: true });
    await opts.onSize?.(results);
  }
  const table = [
    '| size | op | client | median s (wall) | in-process s | MiB/s (wall) | vs best peer (wall) | median CPU s | peak RSS MiB (ours: + above idle) | runs |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  const floor = `Node start-up (bundle loaded, client created, nothing sent): median ${idle.seconds.toFixed(2)} s wall, ${idle.cpuS.toFixed(2)} s CPU, ${idle.rssMiB.toFixed(0)} MiB peak RSS.`;
  results.table = table;
  return { results, table, floor };
}
