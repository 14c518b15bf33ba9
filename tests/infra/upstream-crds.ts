/**
 * Where the upstream Knative and Flux CRDs the tests install are: in the Go module cache, inside the
 * module versions tests/infra/upstream-crds.txt lists (tests/infra/install downloads them and checks their
 * hashes), plus the committed fixtures of tests/fixtures/upstream/crds for the one the module proxy does
 * not serve (HelmRelease). Returns file paths, which installCrds/loadCrds accept.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './binaries.js';

const LIST = join(repoRoot, 'tests', 'infra', 'upstream-crds.txt');
const FIXTURES = join(repoRoot, 'tests', 'fixtures', 'upstream', 'crds');

export class MissingUpstreamCrdError extends Error {
  constructor(detail: string) {
    super(`${detail}; run \`bash tests/infra/install\` first (it downloads the modules listed in tests/infra/upstream-crds.txt)`);
    this.name = 'MissingUpstreamCrdError';
  }
}

interface CrdFile {
  group: string;
  path: string;
}

/** The Go module cache's folder name escapes upper-case letters as '!' + lower case. */
function escapeModulePath(module: string): string {
  return module.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);
}

let modCache: string | undefined;
function goModCache(): string {
  if (modCache === undefined) {
    try {
      modCache = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
    } catch (err) {
      throw new MissingUpstreamCrdError(`cannot ask Go where its module cache is (\`go env GOMODCACHE\`: ${(err as Error).message})`);
    }
  }
  return modCache;
}

function listedFiles(): CrdFile[] {
  const versions = new Map<string, string>();
  const crds: { group: string; module: string; path: string }[] = [];
  for (const line of readFileSync(LIST, 'utf8').split('\n')) {
    const [kind, a, b, c] = line.trim().split(/\s+/);
    if (kind === 'module' && a && b) versions.set(a, b);
    else if (kind === 'crd' && a && b && c) crds.push({ group: a, module: b, path: c });
  }
  return crds.map(({ group, module, path }) => {
    const version = versions.get(module);
    if (!version) throw new Error(`${LIST}: no 'module ${module} VERSION' line for the CRD ${path}`);
    return { group, path: join(goModCache(), `${escapeModulePath(module)}@${version}`, path) };
  });
}

function fixtureFiles(): CrdFile[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(join(FIXTURES, d.name))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => ({ group: d.name, path: join(FIXTURES, d.name, f) })),
    );
}

/**
 * The upstream CRD files of the given API groups (e.g. 'source.toolkit.fluxcd.io'), or of every group when
 * none is given. Throws when a module is not in the module cache yet, or a group has no CRD.
 */
export function upstreamCrdFiles(...groups: string[]): string[] {
  const all = [...listedFiles(), ...fixtureFiles()];
  for (const g of groups) {
    if (!all.some((f) => f.group === g)) throw new Error(`no upstream CRD of the group ${g} in ${LIST} or ${FIXTURES}`);
  }
  const files = all.filter((f) => groups.length === 0 || groups.includes(f.group)).map((f) => f.path);
  const missing = files.find((f) => !existsSync(f));
  if (missing) throw new MissingUpstreamCrdError(`${missing} is missing`);
  return files;
}
