/**
 * Helpers for the deployment tests: render our kustomizations with kubectl's built-in kustomize and
 * run kubectl against the test API server. Paths resolve from the repository root.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Every kustomization we ship; the dry-run test covers all of them. */
export const KUSTOMIZATIONS = ['knative', 'knative/tenant', 'knative/secrets', 'registry', 'registry/secrets'] as const;

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

export const KUBECTL = existsSync('/usr/bin/kubectl') ? '/usr/bin/kubectl' : 'kubectl';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], input?: string, opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((res, rej) => {
    const options = { maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env, cwd: opts.cwd, timeout: 120_000 };
    const child = execFile(cmd, args, options, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number') return rej(err);
      res({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function kubectl(kubeconfig: string, args: string[], input?: string): Promise<RunResult> {
  return run(KUBECTL, ['--kubeconfig', kubeconfig, ...args], input);
}

export async function render(dir: string): Promise<{ yaml: string; objects: K8sObject[] }> {
  const r = await run(KUBECTL, ['kustomize', join(repoRoot, dir)]);
  if (r.code !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  const objects = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
  return { yaml: r.stdout, objects };
}

export function byKind(objects: K8sObject[], kind: string, apiVersion?: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind && (apiVersion === undefined || o.apiVersion === apiVersion));
}

/** ISO-8601 duration (PT…H…M…S) in seconds; throws on anything else. */
export function isoSeconds(d: string): number {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(d);
  if (!m || d === 'PT') throw new Error(`not an ISO-8601 time duration: ${d}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}
