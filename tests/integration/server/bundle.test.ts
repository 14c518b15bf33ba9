/**
 * functions/build.ts end to end: bundle a function main with the real esbuild config, run the bundle with
 * plain `node` (no tsx, no node_modules lookups for bundled code), and check it serves events. Also guards
 * the cold-start property: what a main loads before listen() stays small.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFunctions } from '../../../functions/build.js';
import { binaryRequest, component } from './helpers.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../..');
let outdir: string | undefined;

afterAll(async () => {
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

describe('bundled function', () => {
  it('builds, starts with plain node, answers probes and events, drains on SIGTERM', async () => {
    await mkdir(path.join(ROOT, 'tests/.tmp'), { recursive: true });
    outdir = await mkdtemp(path.join(ROOT, 'tests/.tmp/bundle-'));
    const result = await buildFunctions({ outdir: path.relative(ROOT, outdir), entries: { fixture: path.join(HERE, 'fixtures/sleepy-main.ts') }, log: () => undefined });
    const entry = result.outputs[0]!;
    expect(entry.name).toBe('fixture');

    // Start-up code = the entry and its static imports; everything else must be behind import().
    const staticFiles = new Set<string>();
    const visit = (f: string) => {
      if (staticFiles.has(f)) return;
      staticFiles.add(f);
      for (const i of result.metafile.outputs[f]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) visit(i.path);
    };
    visit(path.relative(ROOT, entry.file));
    const staticBytes = [...staticFiles].reduce((n, f) => n + (result.metafile.outputs[f]?.bytes ?? 0), 0);
    const staticInputs = [...staticFiles].flatMap((f) => Object.keys(result.metafile.outputs[f]?.inputs ?? {}));
    expect(staticInputs.filter((i) => i.includes('node_modules/'))).toEqual([]);
    expect(staticBytes).toBeLessThan(64 * 1024);

    const child = spawn(process.execPath, [entry.file], {
      env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', PROCESS_METRICS: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no "listening" line; stderr: ${stderr}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          const m = /"port":(\d+).*"msg":"listening"/.exec(stdout);
          if (m) {
            clearTimeout(t);
            resolve(Number(m[1]));
          }
        });
      });
      const url = `http://127.0.0.1:${port}`;
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const res = await fetch(`${url}/`, binaryRequest(component('bundled'), 'add', 'bundle-1'));
      expect(res.status).toBe(202);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toContain('ocm_knative_events_total{type="add",outcome="done",stage="fixture"} 1');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toContain('"eventId":"bundle-1"');
      expect(stdout).toContain('"msg":"shut down"');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
