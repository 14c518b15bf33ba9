/**
 * Cold-start benchmark (docs/design.md §9: scale from zero). For each variant, spawn a fresh Node process and time
 * spawn -> first 200 on /readyz (what Knative's activator waits for) and spawn -> first 2xx on one CloudEvent
 * (includes the lazy handler import). Variants run interleaved, N times each; we report medians.
 *
 *   npx tsx bench/coldstart/run.ts [--runs 15] [--write-readme]
 *
 * Also: the bundled host library's evaluation cost (spawn-to-exit minus an empty script) and the import
 * time of each heavy dependency when NOT bundled (fresh process each).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiServerSourceEvent, toBinaryMessage } from '../../shared/cloudevents/index.js';
import { STAGES, buildFunctions } from '../../functions/build.js';
import { freePort } from '../../tests/support/free-port.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, 'bench/.tmp/coldstart');
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1] ?? 0) || 15;
const WRITE_README = args.includes('--write-readme');

interface Variant {
  name: string;
  note: string;
  cmd: string[];
  env?: Record<string, string>;
}

interface Sample {
  ready?: number;
  firstEvent?: number;
  firstStatus?: number;
  error?: string;
}

function httpOnce(port: number, method: string, p: string, headers: Record<string, string> = {}, body = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: p, agent: false, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(v: Variant): Promise<Sample> {
  const port = await freePort();
  const ev = toBinaryMessage(
    apiServerSourceEvent({
      mode: 'Resource',
      op: 'update',
      object: { apiVersion: 'serverless.ocm.software/v1alpha1', kind: 'Component', metadata: { name: 'bench', namespace: 'default' } },
    }),
  );
  const t0 = performance.now();
  const child = spawn(v.cmd[0]!, v.cmd.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...v.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  const exitedP = new Promise<void>((r) => child.on('exit', () => ((exited = true), r())));
  const sample: Sample = {};
  try {
    for (;;) {
      if (exited) throw new Error(`exited before ready: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      if (performance.now() - t0 > 30_000) throw new Error('not ready after 30s');
      try {
        if ((await httpOnce(port, 'GET', '/readyz')) === 200) break;
      } catch {
        /* not listening yet */
      }
      await sleep(2);
    }
    sample.ready = performance.now() - t0;
    // Any answer counts: the real stages have no API server or registry here, so they answer 5xx after
    // loading their handler and adapters, which is the part we time.
    sample.firstStatus = await httpOnce(port, 'POST', '/', ev.headers, ev.body);
    sample.firstEvent = performance.now() - t0;
  } catch (err) {
    sample.error = (err as Error).message;
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exitedP, sleep(5000).then(() => child.kill('SIGKILL'))]);
  }
  return sample;
}

async function spawnToExit(cmd: string[]): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const c = spawn(cmd[0]!, cmd.slice(1), { cwd: ROOT, stdio: 'ignore' });
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd.join(' ')} exited ${code}`))));
  });
  return performance.now() - t0;
}

async function importTime(spec: string): Promise<number> {
  const code = `const t=performance.now();await import(${JSON.stringify(spec)});process.stdout.write(String(performance.now()-t))`;
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('exit', (codeN) => (codeN === 0 ? resolve(Number(out)) : reject(new Error(`import ${spec} failed`))));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length - 1) * p))]!;
const f = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(1));

async function main(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  const stageEntries: Record<string, string> = {};
  for (const stage of STAGES) {
    const main = path.join(ROOT, 'functions', stage, 'main.ts');
    // The webhook is an always-on HTTPS Deployment, not a scale-to-zero CloudEvents function.
    if (stage !== 'webhook' && existsSync(main)) stageEntries[stage] = main;
  }
  const built = await buildFunctions({
    outdir: path.relative(ROOT, OUT),
    entries: {
      minimal: path.join(ROOT, 'bench/coldstart/minimal-main.ts'),
      'host-import': path.join(ROOT, 'bench/coldstart/host-import.ts'),
      ...stageEntries,
    },
    log: () => undefined,
  });
  // Bytes a process must load before listen(): the entry plus its static (not dynamic) imports.
  const staticClosure = (entry: string): number => {
    const seen = new Set<string>();
    const visit = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      for (const i of built.metafile.outputs[f]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) visit(i.path);
    };
    visit(entry);
    return [...seen].reduce((n, f) => n + (built.metafile.outputs[f]?.bytes ?? 0), 0);
  };
  const sizes = Object.fromEntries(built.outputs.map((o) => [o.name, staticClosure(path.relative(ROOT, o.file))]));
  const lazyBytes = Object.entries(built.metafile.outputs)
    .filter(([f]) => f.endsWith('.mjs'))
    .reduce((n, [, o]) => n + o.bytes, 0);

  await writeFile(
    path.join(OUT, 'kubeconfig'),
    'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]\ncurrent-context: x\n',
  );
  const node = process.execPath;
  const variants: Variant[] = [
    { name: 'bare node:http', note: 'baseline', cmd: [node, 'bench/coldstart/bare-node.mjs'] },
    { name: 'minimal function, bundled', note: 'dist-style bundle, trivial handler', cmd: [node, path.join(OUT, 'minimal.mjs')], env: { PROCESS_METRICS: 'true' } },
    { name: 'minimal function, tsx (unbundled)', note: 'for contrast: no bundle', cmd: [node, '--import', 'tsx', 'bench/coldstart/minimal-main.ts'] },
    ...Object.keys(stageEntries).map((stage) => ({
      name: `${stage} (real main), bundled`,
      note: 'real handler and adapters',
      cmd: [node, path.join(OUT, `${stage}.mjs`)],
      // No cluster or registry here: the handler loads (what we time) and then fails to reach them.
      env: { REGISTRY_URL: 'http://127.0.0.1:1', KUBECONFIG: path.join(OUT, 'kubeconfig') },
    })),
  ];

  const results = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const v of variants) results.get(v.name)!.push(await measure(v));
    process.stderr.write(`run ${i + 1}/${RUNS}\n`);
  }

  const hostImport: number[] = [];
  const empty: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    empty.push(await spawnToExit([node, 'bench/coldstart/empty.mjs']));
    hostImport.push(await spawnToExit([node, path.join(OUT, 'host-import.mjs')]));
  }

  const deps = ['node:http', 'express', 'cloudevents', 'pino', 'prom-client', 'yaml', 'undici', '@kubernetes/client-node', '@aws-sdk/client-s3'];
  const depTimes: Record<string, number> = {};
  const depMin: Record<string, number> = {};
  for (const d of deps) {
    const xs: number[] = [];
    for (let i = 0; i < 5; i++) xs.push(await importTime(d));
    depTimes[d] = median(xs);
    depMin[d] = Math.min(...xs);
  }

  const bare = median(results.get('bare node:http')!.flatMap((s) => (s.ready !== undefined ? [s.ready] : [])));
  const rows = variants.map((v) => {
    const ok = results.get(v.name)!.filter((s) => !s.error);
    const errors = results.get(v.name)!.filter((s) => s.error);
    const ready = ok.map((s) => s.ready!);
    const first = ok.map((s) => s.firstEvent!);
    const entry = v.cmd.find((c) => c.endsWith('.mjs') && c.includes('.tmp'));
    const size = entry ? sizes[path.basename(entry, '.mjs')] : undefined;
    return {
      name: v.name,
      note: v.note,
      runs: ok.length,
      failed: errors.length,
      error: errors[0]?.error,
      readyMedian: ok.length ? median(ready) : NaN,
      readyP90: ok.length ? pct(ready, 0.9) : NaN,
      readyMin: ok.length ? Math.min(...ready) : NaN,
      firstEventMedian: ok.length ? median(first) : NaN,
      firstStatus: [...new Set(ok.map((s) => s.firstStatus))].join('/'),
      ratio: ok.length ? median(ready) / bare : NaN,
      entryKiB: size !== undefined ? size / 1024 : undefined,
    };
  });

  const table = [
    '| variant | runs | ready median (ms) | p90 | min | x bare node | first event answered, median (ms) (status) | start-up code (static imports) |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.runs}${r.failed ? ` (${r.failed} failed: ${r.error})` : ''} | ${f(r.readyMedian)} | ${f(r.readyP90)} | ${f(r.readyMin)} | ${Number.isNaN(r.ratio) ? 'n/a' : r.ratio.toFixed(2)} | ${f(r.firstEventMedian)} (${r.firstStatus}) | ${r.entryKiB !== undefined ? `${r.entryKiB.toFixed(0)} KiB` : ''} |`,
    ),
  ].join('\n');
  const importTable = [
    '| cost | median (ms) | min (ms) |',
    '|---|---|---|',
    `| empty \`node\` script, spawn to exit | ${f(median(empty))} | ${f(Math.min(...empty))} |`,
    `| bundled host app (express, CloudEvents SDK, pino, prom-client; loaded after listen), spawn to exit | ${f(median(hostImport))} | ${f(Math.min(...hostImport))} |`,
    `| => evaluating the host app (difference) | ${f(median(hostImport) - median(empty))} | ${f(Math.min(...hostImport) - Math.min(...empty))} |`,
    ...deps.map((d) => `| \`import('${d}')\` unbundled, fresh process | ${f(depTimes[d])} | ${f(depMin[d])} |`),
  ].join('\n');

  const cpus = os.cpus();
  const env = `Node ${process.version}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, load avg ${os.loadavg().map((l) => l.toFixed(1)).join('/')} (shared machine), ${RUNS} runs per variant, interleaved.`;
  const stagesMissing = STAGES.filter((s) => s !== 'webhook' && !stageEntries[s]);
  const section = [
    '## Cold start',
    '',
    'Command: `npx tsx bench/coldstart/run.ts --runs ' + RUNS + ' --write-readme` (bench/coldstart/). Each run spawns a fresh',
    "process and polls `GET /readyz` every 2 ms until 200 (what Knative's activator waits for when scaling from zero), then",
    'POSTs one ApiServerSource event and times the answer ("first event"). The real stages run without an API server or',
    'registry (REGISTRY_URL and KUBECONFIG point at closed ports): they load their handler and adapters, which is what is',
    'timed, then answer 202 (event not routed to them) or 503 (descriptor: API server unreachable, retried by the broker).',
    '',
    'How to read it: a function reads config and listens with 16-19 KiB of start-up code, answering probes from plain',
    '`node:http`. Express, the CloudEvents SDK, pino, prom-client and then the handler (with @kubernetes/client-node,',
    'undici, yaml...) load right after the first readiness probe, so their cost is in "first event", not in "ready". The',
    'machine is shared by several agents (load average below): p90 is scheduling noise; min is the uncontended cost.',
    '',
    env,
    '',
    table,
    '',
    'Where the start-up time goes (fresh process each; dependencies 5 runs, the rest ' + RUNS + '):',
    '',
    importTable,
    '',
    `All bundles together (every chunk, loaded on demand): ${(lazyBytes / 1024 / 1024).toFixed(1)} MiB.`,
    '',
    `Goal: a bundled function ready within 2x a bare Node http server. ${stagesMissing.length ? `Real mains not present when this ran: ${stagesMissing.join(', ')}.` : ''}`,
    '',
  ].join('\n');

  await writeFile(path.join(OUT, 'results.json'), JSON.stringify({ env, rows, empty: median(empty), hostImport: median(hostImport), depTimes }, null, 2));
  console.log(section);
  if (WRITE_README) await writeSection(path.join(ROOT, 'bench/README.md'), section);
}

/** Replace only the "## Cold start" section (up to the next "## " heading); other sections stay as they are. */
async function writeSection(file: string, section: string): Promise<void> {
  const current = existsSync(file) ? await readFile(file, 'utf8') : '# Benchmarks\n\n';
  const lines = current.split('\n');
  const start = lines.findIndex((l) => l.trim() === '## Cold start');
  let next: string;
  if (start < 0) {
    next = `${current.replace(/\n*$/, '\n\n')}${section}`;
  } else {
    let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
    if (end < 0) end = lines.length;
    next = [...lines.slice(0, start), ...section.replace(/\n$/, '').split('\n'), '', ...lines.slice(end)].join('\n');
  }
  await writeFile(file, next.replace(/\n*$/, '\n'));
}

await main();
