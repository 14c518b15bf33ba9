/**
 * The flux CLI (`github.com/fluxcd/flux2/v2`, the version tools/flux-cli/go.mod requires), built ON DEMAND for the
 * Flux benchmark only (tests/infra/install does not build it: no test needs it). Cached in
 * ~/.cache/ocm-knative/bin/flux-cli-<version>, built under a lock so concurrent benchmark runs build it once.
 *
 * Why not `go build github.com/fluxcd/flux2/v2/cmd/flux` in tools/flux-cli: cmd/flux embeds `manifests/*.yaml`
 * (`flux install`'s controller manifests), which flux2's Makefile generates and the module zip does not contain,
 * so a build from the module fails ("pattern manifests/*.yaml: no matching files found"), and `-overlay` may not
 * add files under GOMODCACHE. So the module (downloaded through tools/flux-cli, which checks its hash against
 * tools/flux-cli/go.sum) is copied to ~/.cache/ocm-knative/src/flux2-<version>, given one placeholder manifest
 * (`flux push artifact` does not read them; `flux install` would not work with this binary), and built there with
 * its own go.mod/go.sum, like the vendored sources in tests/infra/install.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir, moduleVersion, repoRoot } from '../../tests/infra/binaries.js';

const run = promisify(execFile);
const FLUX2 = 'github.com/fluxcd/flux2/v2';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of the flux CLI, building it first when it is not cached; `log` hears about a build and its duration. */
export async function fluxCli(log: (line: string) => void = () => undefined): Promise<string> {
  const version = moduleVersion('flux-cli', FLUX2);
  if (!version) throw new Error(`tools/flux-cli/go.mod does not require ${FLUX2}`);
  const bin = join(cacheDir, 'bin', `flux-cli-${version}`);
  if (executable(bin)) return bin;
  await mkdir(join(cacheDir, 'bin'), { recursive: true });
  await mkdir(join(cacheDir, 'src'), { recursive: true });
  await mkdir(join(cacheDir, 'logs'), { recursive: true });
  const src = join(cacheDir, 'src', `flux2-${version}`);
  const buildLog = join(cacheDir, 'logs', `flux-cli-${version}.log`);
  log(`flux CLI ${version}: not cached, building (log ${buildLog}) ...`);
  const t0 = Date.now();
  // one shell under flock: a second run waits for the first build and then finds the binary
  const script = `
set -euo pipefail
[[ -x "$BIN" ]] && exit 0
exec >"$LOG" 2>&1
dir=$(cd "$TOOL" && go mod download -json "$MODULE@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\\(.*\\)",\\{0,1\\}$/\\1/p')
[[ -n $dir ]] || { echo "go mod download $MODULE@$VERSION gave no folder" >&2; exit 1; }
rm -rf "$SRC.tmp" && cp -r "$dir" "$SRC.tmp" && chmod -R u+w "$SRC.tmp"
mkdir -p "$SRC.tmp/cmd/flux/manifests"
echo "# placeholder: flux2's Makefile generates these; flux push artifact does not read them" >"$SRC.tmp/cmd/flux/manifests/placeholder.yaml"
rm -rf "$SRC" && mv "$SRC.tmp" "$SRC"
cd "$SRC" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.VERSION=\${VERSION#v}" -o "$BIN.tmp.$$" ./cmd/flux
mv -f "$BIN.tmp.$$" "$BIN"
`;
  try {
    await run('flock', [`${bin}.lock`, 'bash', '-c', script], {
      env: { ...process.env, BIN: bin, TOOL: join(repoRoot, 'tools', 'flux-cli'), MODULE: FLUX2, VERSION: version, SRC: src, LOG: buildLog },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    throw new Error(`building the flux CLI ${version} failed (${(err as Error).message.split('\n')[0]}); see ${buildLog}`, { cause: err });
  }
  if (!executable(bin)) throw new Error(`building the flux CLI ${version} left no ${bin}; see ${buildLog}`);
  log(`flux CLI ${version}: ready in ${Math.round((Date.now() - t0) / 1000)} s`);
  return bin;
}
