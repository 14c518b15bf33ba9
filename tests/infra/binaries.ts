/**
 * Where tests/infra/install put each peer tool. Go tools live in ~/.cache/ocm-knative/bin/<name>-<version>,
 * the version being the one tools/<name>/go.mod requires, so a checkout always runs the binaries its own
 * tool modules describe (several clones may share the cache with different versions).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const cacheDir = process.env.OCM_KNATIVE_CACHE ?? join(homedir(), '.cache', 'ocm-knative');

/** tool name (folder under tools/) -> the module whose required version names the binary */
const goTools = {
  crane: 'github.com/google/go-containerregistry',
  oras: 'oras.land/oras',
  etcd: 'go.etcd.io/etcd/server/v3',
  weed: 'github.com/seaweedfs/seaweedfs',
  'kube-apiserver': 'k8s.io/kubernetes',
  helm: 'helm.sh/helm/v3',
  ocm: 'ocm.software/ocm',
  'apiserver-receive-adapter': 'knative.dev/eventing',
} as const;

/**
 * Tools the Go module proxy refuses, built by tests/infra/install from an upstream tag (vendor_source + build_in):
 * tool name -> the version part of its binary name in ~/.cache/ocm-knative/bin (<name>-<version>), exactly as
 * install names it: the upstream tag plus the build tags, so a tag change is a new binary.
 */
const vendorTools = {
  /** v2.1.20 with the extensions registry/config.json uses (build tags events,metrics) */
  zot: 'v2.1.20-events-metrics',
} as const;

export type GoTool = keyof typeof goTools | keyof typeof vendorTools;

function isVendorTool(name: GoTool): name is keyof typeof vendorTools {
  return name in vendorTools;
}

export class MissingBinaryError extends Error {
  constructor(name: string, detail: string) {
    super(`${name}: ${detail}; run \`bash tests/infra/install\` first`);
    this.name = 'MissingBinaryError';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The version tools/<name>/go.mod requires (a vendor tool: its tag and build tags), or undefined when there is no tool module. */
export function toolVersion(name: GoTool): string | undefined {
  if (isVendorTool(name)) return vendorTools[name];
  let mod: string;
  try {
    mod = readFileSync(join(repoRoot, 'tools', name, 'go.mod'), 'utf8');
  } catch {
    return undefined;
  }
  const module = goTools[name].replaceAll('.', '\\.');
  const m = new RegExp(`^\\s*(?:require\\s+)?${module}\\s+(v\\S+)`, 'm').exec(mod);
  return m?.[1];
}

/** Path of a Go-built tool if it is installed, else undefined. */
export function findGoTool(name: GoTool): string | undefined {
  const version = toolVersion(name);
  if (!version) return undefined;
  const path = join(cacheDir, 'bin', `${name}-${version}`);
  return isExecutable(path) ? path : undefined;
}

export function goTool(name: GoTool): string {
  const path = findGoTool(name);
  if (!path) {
    const version = toolVersion(name);
    throw new MissingBinaryError(name, version ? `${name}-${version} is not in ${join(cacheDir, 'bin')}` : `tools/${name}/go.mod is missing`);
  }
  return path;
}

/** Absolute path of a command on PATH (Debian packages: skopeo, docker-registry, htpasswd, openssl, kubectl). */
export function systemTool(command: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, command);
    if (isExecutable(path)) return path;
  }
  throw new MissingBinaryError(command, 'not found on PATH');
}
