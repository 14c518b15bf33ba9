/**
 * Bundle each function's main into dist/<stage>.mjs (esbuild) for fast cold starts (docs/design.md §9): one file to
 * read instead of hundreds of node_modules lookups. Code reached only through dynamic `import()` (the
 * handler and its adapters) is split into dist/chunks/ and loaded after the server listens.
 *
 *   npm run build                                  # all stages whose functions/<stage>/main.ts exists
 *   tsx functions/build.ts --outdir DIR --entry NAME=path/to/main.ts [--no-minify] [--no-splitting] [--analyze]
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { analyzeMetafile, build, type BuildOptions, type Metafile } from 'esbuild';

export const STAGES = ['descriptor', 'resource', 'configure', 'publish', 'webhook'] as const;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// CJS dependencies call require() for Node built-ins; ESM output has no `require`, so give them one.
const CJS_BANNER = "import { createRequire as __ocmCreateRequire } from 'node:module'; const require = __ocmCreateRequire(import.meta.url);";

export interface BuildFunctionsOptions {
  /** name -> entry file; defaults to every functions/<stage>/main.ts that exists. */
  entries?: Record<string, string>;
  outdir?: string;
  minify?: boolean;
  splitting?: boolean;
  clean?: boolean;
  log?: (line: string) => void;
}

export interface BuildFunctionsResult {
  outputs: { name: string; file: string; bytes: number }[];
  skipped: string[];
  metafile: Metafile;
}

export function defaultEntries(): { entries: Record<string, string>; skipped: string[] } {
  const entries: Record<string, string> = {};
  const skipped: string[] = [];
  for (const stage of STAGES) {
    const main = path.join(ROOT, 'functions', stage, 'main.ts');
    if (existsSync(main)) entries[stage] = main;
    else skipped.push(stage);
  }
  return { entries, skipped };
}

export async function buildFunctions(options: BuildFunctionsOptions = {}): Promise<BuildFunctionsResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const outdir = path.resolve(ROOT, options.outdir ?? 'dist');
  const found = options.entries ? { entries: options.entries, skipped: [] } : defaultEntries();
  for (const stage of found.skipped) log(`skip ${stage}: functions/${stage}/main.ts does not exist yet`);
  const names = Object.keys(found.entries);
  if (names.length === 0) {
    log('nothing to build');
    return { outputs: [], skipped: found.skipped, metafile: { inputs: {}, outputs: {} } };
  }
  if (options.clean !== false) await rm(outdir, { recursive: true, force: true });
  const config: BuildOptions = {
    absWorkingDir: ROOT,
    entryPoints: names.map((name) => ({ in: path.resolve(ROOT, found.entries[name]!), out: name })),
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: options.minify ?? true,
    sourcemap: true,
    splitting: options.splitting ?? true,
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    banner: { js: CJS_BANNER },
    // Optional native add-ons that dependencies probe for inside try/catch.
    external: ['bufferutil', 'utf-8-validate', 'aws-crt', '@aws-sdk/signature-v4-crt'],
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  };
  const result = await build(config);
  const metafile = result.metafile ?? { inputs: {}, outputs: {} };
  const outputs = names.map((name) => {
    const file = path.join(outdir, `${name}.mjs`);
    const rel = path.relative(ROOT, file);
    const bytes = metafile.outputs[rel]?.bytes ?? 0;
    return { name, file, bytes };
  });
  for (const o of outputs) log(`built ${path.relative(ROOT, o.file)} (${(o.bytes / 1024).toFixed(1)} KiB entry)`);
  const chunkBytes = Object.entries(metafile.outputs)
    .filter(([f]) => f.includes('/chunks/') && f.endsWith('.mjs'))
    .reduce((n, [, o]) => n + o.bytes, 0);
  if (chunkBytes) log(`lazy chunks: ${(chunkBytes / 1024).toFixed(1)} KiB in ${path.relative(ROOT, path.join(outdir, 'chunks'))}/`);
  return { outputs, skipped: found.skipped, metafile };
}

function parseArgs(argv: string[]): BuildFunctionsOptions & { analyze: boolean } {
  const opts: BuildFunctionsOptions & { analyze: boolean } = { analyze: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--outdir') opts.outdir = argv[++i];
    else if (a === '--entry') {
      const spec = argv[++i] ?? '';
      const eq = spec.indexOf('=');
      if (eq <= 0) throw new Error(`--entry expects NAME=path/to/main.ts, got ${JSON.stringify(spec)}`);
      (opts.entries ??= {})[spec.slice(0, eq)] = spec.slice(eq + 1);
    } else if (a === '--no-minify') opts.minify = false;
    else if (a === '--no-splitting') opts.splitting = false;
    else if (a === '--analyze') opts.analyze = true;
    else throw new Error(`unknown argument ${a} (see the header of functions/build.ts)`);
  }
  return opts;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    const res = await buildFunctions(opts);
    if (opts.analyze && res.outputs.length) console.log(await analyzeMetafile(res.metafile, { verbose: false }));
  } catch (err) {
    console.error(`build failed: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
