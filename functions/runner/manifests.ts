/**
 * Reads resources the way `kubectl apply -f` does (files or directories of YAML/JSON, multi-document) and
 * validates ours with exactly the checks the apiserver and our admission webhook apply (shared/kube
 * validateObject: structural schema, defaults, CEL rules, semantic checks). Every problem is reported with
 * file, document index and field path before anything runs.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { admitObject } from '../../shared/kube/index.js';
import type { KubeObject } from '../../shared/ports/kinds.js';

export interface ManifestProblem {
  file: string;
  /** 0-based index of the YAML document in the file */
  document: number;
  /** field path, apiserver style (`spec.semver`); empty for the whole document */
  path: string;
  message: string;
}

export interface LoadedManifests {
  objects: KubeObject[];
  secrets: Array<{ namespace: string; name: string; data: Record<string, Buffer> }>;
  configMaps: Array<{ namespace: string; name: string; data: Record<string, string> }>;
  problems: ManifestProblem[];
}

const MANIFEST_EXT = /\.(ya?ml|json)$/;
/** A manifest is small; a bigger file is a mistake (or an attack), not something to parse. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

export async function loadManifests(inputs: string[], defaultNamespace = 'default'): Promise<LoadedManifests> {
  const out: LoadedManifests = { objects: [], secrets: [], configMaps: [], problems: [] };
  const seen = new Map<string, string>();
  for (const file of await expand(inputs, out.problems)) {
    const size = (await stat(file)).size;
    if (size > MAX_FILE_BYTES) {
      out.problems.push({ file, document: 0, path: '', message: `file is ${size} bytes; manifests are limited to ${MAX_FILE_BYTES}` });
      continue;
    }
    const text = await readFile(file, 'utf8');
    const docs = YAML.parseAllDocuments(text, { prettyErrors: true });
    docs.forEach((doc, index) => {
      const problem = (p: string, message: string) => out.problems.push({ file, document: index, path: p, message });
      if (doc.errors.length > 0) {
        problem('', `not valid YAML: ${doc.errors[0]!.message}`);
        return;
      }
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (err) {
        problem('', `not valid YAML: ${(err as Error).message}`);
        return;
      }
      if (value === null || value === undefined) return; // an empty document, e.g. after a trailing ---
      const items = isList(value) ? value.items : [value];
      items.forEach((item, i) => {
        const prefix = isList(value) ? `items[${i}].` : '';
        accept(item, defaultNamespace, file, (p, m) => problem(prefix + p, m), out, seen, `${file}#${index}`);
      });
    });
  }
  return out;
}

function isList(v: unknown): v is { items: unknown[] } {
  const r = v as { kind?: unknown; items?: unknown };
  return typeof r === 'object' && r !== null && r.kind === 'List' && Array.isArray(r.items);
}

function accept(
  value: unknown,
  defaultNamespace: string,
  file: string,
  problem: (path: string, message: string) => void,
  out: LoadedManifests,
  seen: Map<string, string>,
  where: string,
): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problem('', 'expected a Kubernetes object (a mapping with apiVersion, kind, metadata)');
    return;
  }
  const obj = value as Record<string, unknown>;
  const meta = (typeof obj['metadata'] === 'object' && obj['metadata'] !== null ? obj['metadata'] : {}) as Record<string, unknown>;
  const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : defaultNamespace;
  const name = typeof meta['name'] === 'string' ? meta['name'] : '';
  const id = `${String(obj['kind'])}/${namespace}/${name}`;
  if (name && seen.has(id)) {
    problem('metadata.name', `${obj['kind']} ${namespace}/${name} is defined twice (also in ${seen.get(id)})`);
    return;
  }
  if (name) seen.set(id, where);

  if (obj['apiVersion'] === 'v1' && obj['kind'] === 'Secret') {
    const data: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries((obj['data'] as Record<string, unknown> | undefined) ?? {})) {
      if (typeof v !== 'string') return problem(`data.${k}`, 'must be a base64 string');
      data[k] = Buffer.from(v, 'base64');
    }
    for (const [k, v] of Object.entries((obj['stringData'] as Record<string, unknown> | undefined) ?? {})) {
      if (typeof v !== 'string') return problem(`stringData.${k}`, 'must be a string');
      data[k] = Buffer.from(v, 'utf8');
    }
    if (!name) return problem('metadata.name', 'Required value');
    out.secrets.push({ namespace, name, data });
    return;
  }
  if (obj['apiVersion'] === 'v1' && obj['kind'] === 'ConfigMap') {
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries((obj['data'] as Record<string, unknown> | undefined) ?? {})) {
      if (typeof v !== 'string') return problem(`data.${k}`, 'must be a string');
      data[k] = v;
    }
    if (!name) return problem('metadata.name', 'Required value');
    out.configMaps.push({ namespace, name, data });
    return;
  }

  const admission = admitObject({ ...obj, metadata: { ...meta, namespace } });
  const errors = admission.issues.filter((i) => i.severity === 'error');
  for (const issue of errors) problem(issue.path, issue.message);
  if (errors.length > 0) return;
  const admitted = admission.object as unknown as KubeObject;
  // Only spec is the user's: status and server-owned metadata in a manifest are ignored, as the apiserver does.
  const clean: KubeObject = {
    apiVersion: admitted.apiVersion,
    kind: admitted.kind,
    metadata: {
      name,
      namespace,
      ...(admitted.metadata.labels ? { labels: admitted.metadata.labels } : {}),
      ...(admitted.metadata.annotations ? { annotations: admitted.metadata.annotations } : {}),
    },
    spec: resolveLocalPaths(admitted.kind, admitted.spec, path.dirname(file)),
  };
  out.objects.push(clean);
}

/**
 * A CTF `filePath` relative to the manifest's own directory, so an example tree can be run from anywhere
 * (what a user of `kubectl apply -f dir/` would expect of paths written next to the manifests).
 */
function resolveLocalPaths(kind: string, spec: unknown, baseDir: string): unknown {
  if (kind !== 'OCMRepository') return spec;
  const s = spec as { repositorySpec?: { type?: string; filePath?: string } };
  const rs = s.repositorySpec;
  if (rs?.type === 'CommonTransportFormat' && typeof rs.filePath === 'string' && !path.isAbsolute(rs.filePath)) {
    return { ...s, repositorySpec: { ...rs, filePath: path.resolve(baseDir, rs.filePath) } };
  }
  return spec;
}

async function expand(inputs: string[], problems: ManifestProblem[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    let st;
    try {
      st = await stat(input);
    } catch {
      problems.push({ file: input, document: 0, path: '', message: 'no such file or directory' });
      continue;
    }
    if (st.isDirectory()) {
      const names = (await readdir(input)).filter((n) => MANIFEST_EXT.test(n)).sort();
      if (names.length === 0) problems.push({ file: input, document: 0, path: '', message: 'directory holds no .yaml, .yml or .json files' });
      files.push(...names.map((n) => path.join(input, n)));
    } else {
      files.push(input);
    }
  }
  return files;
}
