/**
 * A large OCI image transported by value, through our resource stage and through `ocm transfer --copy-resources`,
 * side by side in one run, from the same CTF into the same registry.
 *
 * Setup (not timed): a single-layer OCI image of --size-mib random bytes (incompressible, so gzip cannot shrink it)
 * pushed with crane; `ocm add componentversions` (image by reference) and `ocm transfer --copy-resources` into a CTF,
 * where the image becomes an artifact-set localBlob (`application/vnd.oci.image.manifest.v1+tar+gzip`); the four
 * functions as processes (the esbuild bundles, as the images run them), the Component from that CTF Ready.
 *
 * Each run, in alternating order, into docker-registry 2.8 (filesystem, plain HTTP) with the layer's data deleted
 * from its storage first, so both write every byte:
 * - peer: `ocm transfer --copy-resources CTF http://registry/peer-N` (OCM CLI v0.48.0): process wall time and peak
 *   RSS from /usr/bin/time;
 * - ours: a new Resource naming the image: time from its creation to Ready=True (the resource stage reads the set
 *   from the CTF, gunzips it, hashes every blob against its name, checks the main digest and streams the layer to
 *   the registry), the resource function's peak RSS (VmHWM) and CPU seconds from /proc.
 *
 *   npx tsx bench/pipeline/ocm-by-value.ts [--size-mib 1024] [--runs 3]
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MediaType } from '../../shared/oci/media-types.js';
import type { KubeObject, SnapshotObject } from '../../shared/ports/index.js';
import { goTool } from '../../tests/infra/binaries.js';
import { sha256Hex } from '../../tests/support/digest.js';
import { isReadyNow } from '../../tests/support/ready.js';
import {
  GROUP,
  PLURALS,
  REPO,
  TMP,
  VERSION,
  arg,
  cpuSecondsOf,
  createObject,
  loadSampler,
  log,
  machine,
  newNamespace,
  rssOf,
  startBenchServices,
  startProcessPipeline,
  table,
  writeResult,
} from './harness.js';

const run = promisify(execFile);
const SIZE_MIB = Number(arg('size-mib', '1024'));
const RUNS = Number(arg('runs', '3'));
const COMPONENT = 'acme.org/bench/by-value';

/** An OCI image layout with one layer of random bytes; returns the layer's hex digest. */
async function imageLayout(dir: string, sizeMiB: number): Promise<string> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const tmp = join(dir, 'layer.tmp');
  const hash = createHash('sha256');
  const out = createWriteStream(tmp);
  for (let written = 0; written < sizeMiB << 20; written += 8 << 20) {
    // a new buffer each time: the stream holds on to what it was given until it is written; the last one may be short
    const chunk = randomBytes(Math.min(8 << 20, (sizeMiB << 20) - written));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const layerHex = hash.digest('hex');
  await rename(tmp, join(dir, 'blobs', 'sha256', layerHex));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${layerHex}`] } }));
  await writeFile(join(dir, 'blobs', 'sha256', sha256Hex(config)), config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      config: { mediaType: MediaType.ImageConfig, digest: `sha256:${sha256Hex(config)}`, size: config.length },
      layers: [{ mediaType: MediaType.Layer, digest: `sha256:${layerHex}`, size: sizeMiB << 20 }],
    }),
  );
  await writeFile(join(dir, 'blobs', 'sha256', sha256Hex(manifest)), manifest);
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ImageIndex,
      manifests: [{ mediaType: MediaType.ImageManifest, digest: `sha256:${sha256Hex(manifest)}`, size: manifest.length }],
    }),
  );
  return layerHex;
}

/** `/usr/bin/time` around a command: wall s, peak RSS MiB, CPU s. */
async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ wall: number; rssMiB: number; cpu: number }> {
  const { stderr } = await run('/usr/bin/time', ['-f', 'TIME %e %M %U %S', cmd, ...args], { env, maxBuffer: 64 << 20 });
  const m = /TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
  if (!m) throw new Error(`no /usr/bin/time line in: ${stderr.slice(-500)}`);
  return { wall: Number(m[1]), rssMiB: Number(m[2]) / 1024, cpu: Number(m[3]) + Number(m[4]) };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const ocm = goTool('ocm');
  const crane = goTool('crane');
  log(`building the function bundles into ${join(TMP, 'dist')}`);
  await run(process.execPath, [join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(REPO, 'functions', 'build.ts'), '--outdir', join(TMP, 'dist')], { cwd: REPO });
  const b = await startBenchServices();
  const load = loadSampler();
  const s = b.services;
  const host = s.registry.fs.host;
  const storage = join(s.workDir, 'registry-fs', 'docker', 'registry', 'v2', 'blobs', 'sha256');
  const work = join(s.workDir, 'bench-ocm-by-value');
  await mkdir(work, { recursive: true });
  const env = { ...process.env, HOME: work };
  let pipeline: Awaited<ReturnType<typeof startProcessPipeline>> | undefined;
  try {
    log(`writing a ${SIZE_MIB} MiB image layout`);
    const layerHex = await imageLayout(join(work, 'layout'), SIZE_MIB);
    const dropLayer = (): Promise<void> => rm(join(storage, layerHex.slice(0, 2), layerHex), { recursive: true, force: true });
    const image = `${host}/bench-src/image:1.0.0`;
    await run(crane, ['push', '--insecure', join(work, 'layout'), image]);
    const imageDigest = (await run(crane, ['digest', '--insecure', image])).stdout.trim();
    await writeFile(
      join(work, 'constructor.yaml'),
      `components:
- name: ${COMPONENT}
  version: 1.0.0
  provider: { name: acme.org }
  resources:
  - name: image
    type: ociImage
    version: 1.0.0
    relation: external
    access: { type: ociArtifact, imageReference: http://${image} }
`,
    );
    await run(ocm, ['add', 'componentversions', '--create', '--file', join(work, 'ctf'), join(work, 'constructor.yaml')], { cwd: work, env });
    log('ocm transfer --copy-resources into a CTF (setup)');
    const t0 = performance.now();
    const ctf = join(work, 'ctf-by-value');
    await run(ocm, ['transfer', 'ctf', '--copy-resources', join(work, 'ctf'), ctf], { cwd: work, env, maxBuffer: 64 << 20 });
    const ctfSeconds = (performance.now() - t0) / 1000;

    const namespace = await newNamespace(b.kc);
    pipeline = await startProcessPipeline(b, namespace, { registryUrl: s.registry.fs.url, logLevel: 'warn', ...(process.env.BENCH_FUNCTION_NODE_ARGS ? { nodeArgs: process.env.BENCH_FUNCTION_NODE_ARGS.split(' ') } : {}) });
    const resourcePid = pipeline.functions.resource!.pid;
    const get = async (kind: string, name: string): Promise<KubeObject | undefined> => {
      try {
        return (await b.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS[kind]!, name })) as KubeObject;
      } catch {
        return undefined;
      }
    };
    const waitReady = async (kind: string, name: string, timeoutMs = 900_000): Promise<KubeObject> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const o = await get(kind, name);
        if (isReadyNow(o)) return o!;
        const c = o?.status?.conditions?.find((x) => x.type === 'Ready');
        // an input not ready yet is a wait, not a failure
        if (c?.status === 'False' && !c.reason?.endsWith('IsNotReady')) throw new Error(`${kind} ${name}: ${c.reason} ${c.message ?? ''}`);
        if (Date.now() > deadline) throw new Error(`${kind} ${name} not Ready in time`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await createObject(b.api, namespace, { kind: 'OCMRepository', metadata: { name: 'ctf' }, spec: { repositorySpec: { type: 'CommonTransportFormat', filePath: ctf }, interval: '1h' } });
    await waitReady('OCMRepository', 'ctf');
    await createObject(b.api, namespace, { kind: 'Component', metadata: { name: 'app' }, spec: { repositoryRef: { name: 'ctf' }, component: COMPONENT, semver: '1.0.0', interval: '1h' } });
    await waitReady('Component', 'app');
    const idle = rssOf(resourcePid);
    log(`resource function idle: peak RSS ${idle?.peakMiB.toFixed(0)} MiB`);

    const samples: { tool: string; run: number; wall: number; rssMiB: number; cpu: number }[] = [];
    for (let i = 1; i <= RUNS; i++) {
      const order = i % 2 ? ['ocm', 'ours'] : ['ours', 'ocm'];
      for (const tool of order) {
        await dropLayer();
        // write back the dirty pages of the setup and of the previous copy (1-3 GiB) first, untimed: else whichever
        // tool runs next pays for the kernel flushing them (our slow first runs right after the setup)
        await run('sync', []);
        if (tool === 'ocm') {
          const r = await timed(ocm, ['transfer', 'ctf', '--copy-resources', ctf, `http://${host}/peer-${i}`], env);
          samples.push({ tool, run: i, ...r });
        } else {
          const cpu0 = cpuSecondsOf(resourcePid) ?? NaN;
          const start = performance.now();
          await createObject(b.api, namespace, { kind: 'Resource', metadata: { name: `image-${i}` }, spec: { componentRef: { name: 'app' }, resource: { byReference: { resource: { name: 'image' } } } } });
          await waitReady('Resource', `image-${i}`);
          const wall = (performance.now() - start) / 1000;
          const snap = (await get('Snapshot', `resource-image-${i}`)) as SnapshotObject | undefined;
          if (snap?.spec?.digest !== imageDigest) throw new Error(`run ${i}: snapshot digest ${snap?.spec?.digest} is not the image's ${imageDigest}`);
          samples.push({ tool, run: i, wall, rssMiB: rssOf(resourcePid)?.peakMiB ?? NaN, cpu: (cpuSecondsOf(resourcePid) ?? NaN) - cpu0 });
        }
        const last = samples[samples.length - 1]!;
        log(`run ${i} ${tool}: ${last.wall.toFixed(2)} s, peak RSS ${last.rssMiB.toFixed(0)} MiB, CPU ${last.cpu.toFixed(2)} s`);
      }
    }
    // the peer's copy has the same digest too
    const peerDigest = (await run(crane, ['digest', '--insecure', `${host}/peer-1/bench-src/image:1.0.0`])).stdout.trim();
    if (peerDigest !== imageDigest) throw new Error(`ocm transfer wrote ${peerDigest}, the image is ${imageDigest}`);

    const of = (tool: string) => samples.filter((x) => x.tool === tool);
    const ours = of('ours');
    const peer = of('ocm');
    const ratio = median(peer.map((x) => x.wall)) / median(ours.map((x) => x.wall));
    const rows = [
      ['ours (resource stage)', median(ours.map((x) => x.wall)).toFixed(2), (SIZE_MIB / median(ours.map((x) => x.wall))).toFixed(0), median(ours.map((x) => x.cpu)).toFixed(2), Math.max(...ours.map((x) => x.rssMiB)).toFixed(0), `${ratio.toFixed(2)}x`],
      ['ocm transfer --copy-resources', median(peer.map((x) => x.wall)).toFixed(2), (SIZE_MIB / median(peer.map((x) => x.wall))).toFixed(0), median(peer.map((x) => x.cpu)).toFixed(2), Math.max(...peer.map((x) => x.rssMiB)).toFixed(0), '1.00x'],
    ];
    const loadAvg = load.stop();
    const text = table(['tool', 'median wall s', 'MiB/s', 'median CPU s', 'peak RSS MiB', 'speed vs ocm'], rows);
    const file = await writeResult(`ocm-by-value-${SIZE_MIB}`, {
      sizeMiB: SIZE_MIB,
      runs: RUNS,
      imageDigest,
      ctfSetupSeconds: ctfSeconds,
      resourceIdlePeakMiB: idle?.peakMiB,
      samples,
      ratio,
      machine: machine(),
      load: loadAvg,
      registry: 'docker-registry 2.8 (filesystem, plain HTTP)',
    });
    process.stdout.write(
      `${text}\n\nresource function idle peak RSS ${idle?.peakMiB.toFixed(0)} MiB; ocm transfer into the CTF (setup) ${ctfSeconds.toFixed(1)} s; load ${JSON.stringify(loadAvg)}\nresults in ${file}\n`,
    );
  } finally {
    await pipeline?.stop();
    await b.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
