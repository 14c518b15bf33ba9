/**
 * Our side of the registry benchmark, run as its own process (bundled with esbuild by run.ts, so Node start-up is
 * measured as for the Go peers). Prints one JSON line: {ms, rssMiB, digest}.
 *
 *   node ours.mjs push-layout <registryUrl> <layoutRoot> <layoutRepo> <tag> <dstRepo>   # like skopeo copy oci: -> docker://
 *   node ours.mjs push-file   <registryUrl> <file> <dstRepo> <tag>                      # like oras push <file>
 *   node ours.mjs pull        <registryUrl> <repo> <tag> <outRoot>                      # registry -> OCI layout
 *   node ours.mjs repush      <registryUrl> <layoutRoot> <layoutRepo> <tag> <dstRepo>   # existing content: HEADs only
 *   node ours.mjs idle        <registryUrl>                                           # start-up only: the RSS/time floor
 */
import { keepWasmInBaselineTier } from '../../shared/oci/index.js';
import { copyArtifact, LayoutStore, pushFileArtifact, RegistryStore } from '../../shared/snapshot/index.js';

async function main(): Promise<void> {
  const [cmd, url, ...args] = process.argv.slice(2);
  if (!cmd || !url) throw new Error('usage: ours <push-layout|push-file|pull|repush> <registryUrl> ...');
  // what a function's entry point does too: no TurboFan spike for undici's wasm parser (see wasm-tiering.ts)
  if (process.env.OCMK_WASM_TIER_UP !== '1') keepWasmInBaselineTier();
  // retries and raw-socket transfers are reported with the timing: a slow run should say why
  const retries: string[] = [];
  const socketTransfers: Array<{ op: string; mib: number; ms: number; endAtMs: number; smallWrites?: boolean }> = [];
  const registry = new RegistryStore({
    url,
    // an https registry with auth (bench/pipeline/registry-zot.ts): its CA and credentials
    ...(process.env.OCMK_BENCH_CA_FILE ? { caFile: process.env.OCMK_BENCH_CA_FILE } : {}),
    ...(process.env.OCMK_BENCH_USERNAME
      ? { credentials: { username: process.env.OCMK_BENCH_USERNAME, password: process.env.OCMK_BENCH_PASSWORD ?? '' } }
      : {}),
    // OCMK_SOCKET_TRANSFER=0: large blobs through undici as well, for comparison
    ...(process.env.OCMK_SOCKET_TRANSFER === '0' ? { socketTransferMinBytes: Infinity } : {}),
    onRetry: (err, attempt, delayMs) => retries.push(`${attempt}: ${err.message.slice(0, 160)} (after ${Math.round(delayMs)} ms)`),
    onSocketTransfer: (e) =>
      socketTransfers.push({
        op: e.op,
        mib: Math.round(e.bytes / 2 ** 20),
        ms: Math.round(e.ms),
        endAtMs: Math.round(performance.now() - t0),
        // the download's file writes went down to 64 KiB (shared/oci/page-cache-writer.ts)
        ...(e.smallWrites ? { smallWrites: true } : {}),
      }),
  });
  const t0 = performance.now();
  let digest = '';
  let repushMs: number | undefined;
  switch (cmd) {
    case 'push-layout':
    case 'repush': {
      const [root, repo, tag, dst] = args as [string, string, string, string];
      const src = new LayoutStore(root).repository(repo);
      digest = (await copyArtifact(src, tag, registry.repository(dst), { tag })).digest;
      if (cmd === 'repush') {
        const t1 = performance.now();
        await copyArtifact(src, tag, registry.repository(dst), { tag });
        repushMs = performance.now() - t1;
      }
      break;
    }
    case 'push-file': {
      const [file, dst, tag] = args as [string, string, string];
      const target = registry.repository(dst);
      digest = (await pushFileArtifact(target, file, { artifactType: 'application/vnd.example.bench', tag })).manifest.digest;
      break;
    }
    case 'pull': {
      const [repo, tag, out] = args as [string, string, string];
      digest = (await copyArtifact(registry.repository(repo), tag, new LayoutStore(out).repository('pulled'), { tag })).digest;
      break;
    }
    case 'idle':
      break;
    default:
      throw new Error(`unknown command ${cmd}`);
  }
  const ms = performance.now() - t0;
  await registry.close();
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ ms, rssMiB, digest, socketTransfers, retries, ...(repushMs === undefined ? {} : { repushMs }) })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
