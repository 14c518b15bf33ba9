/**
 * Memory: peak RSS of the resource function streaming a big localBlob (default 1 GiB) out of a CTF into the
 * registry, and of the configure function unpacking, editing and repacking a big tar archive (default 200 MiB),
 * each next to a small baseline (16 MiB) to show whether memory grows with blob size.
 *
 * The content is random but seeded (AES-256-CTR keystream of sha256(seed)), generated on disk once under bench/.tmp
 * and packed into a CTF. The four functions run as processes (bundles); before each phase the kernel's peak-RSS
 * counter of every function is reset (`echo 5 > /proc/PID/clear_refs`), and VmHWM is read when the phase's objects
 * are Ready. Real kube-apiserver, filesystem registry.
 *
 *   npx tsx functions/build.ts --outdir bench/.tmp/dist
 *   npx tsx bench/memory/run.ts [--big-mib 1024] [--archive-mib 200] [--small-mib 16] [--seed ocm-knative]
 */
import { execFile } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { localBlobResource, writeCtfDirectory, type LocalBlobInput } from '../../shared/ocm/ctf-write.js';
import { parseComponentDescriptor, serializeComponentDescriptor } from '../../shared/ocm/descriptor.js';
import type { ComponentDescriptor, Resource } from '../../shared/ocm/model.js';
import type { KubeObject } from '../../shared/ports/index.js';
import { REPLICAS_RULE } from '../../tests/support/podinfo.js';
import { isReadyNow } from '../../tests/support/ready.js';
import {
  GROUP,
  PLURALS,
  TMP,
  VERSION,
  arg,
  createObject,
  ensureBundles,
  loadSampler,
  log,
  machine,
  newNamespace,
  rssOf,
  startBenchServices,
  startProcessPipeline,
  table,
  writeResult,
  type ManifestObject,
} from '../pipeline/harness.js';

const run = promisify(execFile);
const BIG = Number(arg('big-mib', '1024'));
const ARCHIVE = Number(arg('archive-mib', '200'));
const SMALL = Number(arg('small-mib', '16'));
const SEED = arg('seed', 'ocm-knative');
const MiB = 1024 * 1024;
const COMPONENT = 'bench.ocm.software/memory';

/** `mib` MiB of seeded pseudo-random bytes: the AES-256-CTR keystream (key = sha256(seed/name)). */
async function seededFile(path: string, mib: number, name: string): Promise<void> {
  if (existsSync(path) && (await stat(path)).size === mib * MiB) return;
  const key = createHash('sha256').update(`${SEED}/${name}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < mib; i++) yield cipher.update(zeros);
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path));
}

/** A tar with values.yaml (the file configure edits) and `mib` MiB of random data beside it. */
async function archive(dir: string, mib: number, name: string): Promise<string> {
  const src = join(dir, `${name}-src`);
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'values.yaml'), 'replicaCount: 1\nimage:\n  repository: example\n  tag: "1.0"\n');
  await seededFile(join(src, 'data.bin'), mib, name);
  const tar = join(dir, `${name}.tar`);
  await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-cf', tar, '-C', src, 'values.yaml', 'data.bin']);
  await rm(src, { recursive: true, force: true });
  return tar;
}

async function buildCtf(): Promise<string> {
  const dir = join(TMP, `memory-${SEED}-${SMALL}-${BIG}-${ARCHIVE}`);
  const ctf = join(dir, 'ctf');
  if (existsSync(join(ctf, 'artifact-index.json'))) return ctf;
  await mkdir(dir, { recursive: true });
  const inputs: Array<{ name: string; type: string; blob: LocalBlobInput }> = [];
  for (const [name, mib] of [['small', SMALL], ['big', BIG]] as const) {
    const path = join(dir, `${name}.bin`);
    log(`generating ${name}: ${mib} MiB`);
    await seededFile(path, mib, name);
    inputs.push({ name, type: 'blob', blob: { mediaType: 'application/octet-stream', path } });
  }
  for (const [name, mib] of [['small-archive', SMALL], ['archive', ARCHIVE]] as const) {
    log(`generating ${name}: ${mib} MiB tar`);
    inputs.push({ name, type: 'directoryTree', blob: { mediaType: 'application/x-tar', path: await archive(dir, mib, name) } });
  }
  const resources: Resource[] = [];
  const blobs: LocalBlobInput[] = [];
  for (const i of inputs) {
    const local = await localBlobResource({ name: i.name, version: '1.0.0', type: i.type }, i.blob);
    resources.push(local.resource);
    blobs.push(local.blob);
  }
  const draft: ComponentDescriptor = {
    schemaVersion: 'v2',
    name: COMPONENT,
    version: '1.0.0',
    provider: { name: 'ocm-knative bench' },
    repositoryContexts: [],
    sources: [],
    references: [],
    resources,
    signatures: [],
  };
  log('writing the CTF');
  await writeCtfDirectory(ctf, [{ descriptor: parseComponentDescriptor(serializeComponentDescriptor(draft, 'yaml')), blobs }]);
  // the CTF holds its own copies
  for (const i of inputs) await rm(i.blob.path!, { force: true });
  return ctf;
}

function resetPeak(pid: number): void {
  // "5" resets VmHWM to the current RSS (Linux >= 4.0, proc(5) clear_refs)
  void writeFile(`/proc/${pid}/clear_refs`, '5');
}

async function main(): Promise<void> {
  ensureBundles();
  const ctf = await buildCtf();
  const b = await startBenchServices();
  const load = loadSampler();
  const phases: Array<{ phase: string; mib: number; seconds: number; peakMiB: Record<string, number> }> = [];
  try {
    const ns = await newNamespace(b.kc);
    const p = await startProcessPipeline(b, ns, { registryUrl: b.services.registry.fs.url });
    const idle = Object.fromEntries(Object.entries(p.functions).map(([k, f]) => [k, Math.round(rssOf(f.pid)?.nowMiB ?? 0)]));
    const get = async (kind: string, name: string): Promise<KubeObject> =>
      (await b.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURALS[kind]!, name })) as KubeObject;
    const until = async (kind: string, name: string): Promise<void> => {
      for (const deadline = Date.now() + 20 * 60_000; ; ) {
        const o = await get(kind, name);
        if (isReadyNow(o)) return;
        const c = o.status?.conditions?.find((x) => x.type === 'Ready');
        if (c?.status === 'False' && c.reason !== 'ProgressingWithRetry' && !/NotReady|Waiting/i.test(c.reason ?? '')) {
          log(`${kind}/${name}: ${c.reason}: ${c.message}`);
        }
        if (Date.now() > deadline) throw new Error(`${kind}/${name} not Ready after 20 min: ${JSON.stringify(c)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    const phase = async (name: string, mib: number, objs: ManifestObject[], waitFor: Array<[string, string]>): Promise<void> => {
      await p.driver.settle(500, 120_000);
      for (const f of Object.values(p.functions)) resetPeak(f.pid);
      await new Promise((r) => setTimeout(r, 200));
      const t0 = performance.now();
      for (const o of objs) await createObject(b.api, ns, o);
      for (const [k, n] of waitFor) await until(k, n);
      const seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
      await p.driver.settle(500, 120_000);
      const peakMiB = Object.fromEntries(Object.entries(p.functions).map(([k, f]) => [k, Math.round(rssOf(f.pid)?.peakMiB ?? NaN)]));
      phases.push({ phase: name, mib, seconds, peakMiB });
      log(`${name} (${mib} MiB): ${seconds} s, peak RSS ${JSON.stringify(peakMiB)}`);
    };
    const resource = (name: string): ManifestObject => ({
      kind: 'Resource',
      metadata: { name },
      spec: { componentRef: { name: 'memory' }, resource: { byReference: { resource: { name } } } },
    });
    const configuration = (name: string): ManifestObject => ({
      kind: 'Configuration',
      metadata: { name },
      spec: {
        target: { kind: 'Resource', name },
        rules: [REPLICAS_RULE],
      },
    });
    await phase('descriptor (component)', 0, [
      { kind: 'OCMRepository', metadata: { name: 'ctf' }, spec: { repositorySpec: { type: 'CommonTransportFormat', filePath: ctf } } },
      { kind: 'Component', metadata: { name: 'memory' }, spec: { repositoryRef: { name: 'ctf' }, component: COMPONENT, semver: '1.0.0' } },
    ], [['Component', 'memory']]);
    await phase('resource: blob', SMALL, [resource('small')], [['Resource', 'small']]);
    await phase('resource: blob', BIG, [resource('big')], [['Resource', 'big']]);
    await phase('resource: tar (for configure)', SMALL, [resource('small-archive')], [['Resource', 'small-archive']]);
    await phase('configure: tar', SMALL, [configuration('small-archive')], [['Configuration', 'small-archive']]);
    await phase('resource: tar (for configure)', ARCHIVE, [resource('archive')], [['Resource', 'archive']]);
    await phase('configure: tar', ARCHIVE, [configuration('archive')], [['Configuration', 'archive']]);
    const dead = p.driver.deadLetters.length;
    await p.stop();
    const rows = phases.map((ph) => [ph.phase, ph.mib, ph.seconds, ph.peakMiB.resource ?? '-', ph.peakMiB.configure ?? '-', ph.peakMiB.descriptor ?? '-']);
    const out = table(['phase', 'MiB', 'seconds to Ready', 'resource fn peak RSS MiB', 'configure fn peak RSS MiB', 'descriptor fn peak RSS MiB'], rows);
    const file = await writeResult('memory', { date: new Date().toISOString(), machine: machine(), seed: SEED, idleRssMiB: idle, phases, deadLetters: dead, load: load.stop(), table: out });
    process.stdout.write(`${out}\n\nidle RSS after start-up: ${JSON.stringify(idle)}; dead letters ${dead}; results in ${file}\n`);
  } finally {
    await b.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
