/**
 * The configure stage's transform, end to end: safe unpack -> (Helm: find the chart directory) ->
 * substitutions in order -> deterministic tar+gzip. Works in a temporary directory, so memory stays flat
 * whatever the archive size; the directory is removed before the output stream ends (or on `dispose`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { packDirectory, unpackToDirectory, type ArchiveInput } from '../archive/index.js';
import { applySubstitutions } from './apply.js';
import { detectChart, requireChart, type ChartInfo } from './chart.js';
import { compileRules, type ImageResolver } from './localize.js';
import { DEFAULT_YAML_LIMITS } from './substitute.js';
import type { ConfigurationRule, ConfigureLimits, Substitution } from './types.js';

export interface ConfigureArchiveOptions {
  /** tar or tar+gzip */
  input: ArchiveInput;
  /** `spec.rules` (compiled here; localization needs `images`) ... */
  rules?: readonly ConfigurationRule[];
  /** ... or already compiled substitutions (the ConfigureEngine port) */
  substitutions?: readonly Substitution[];
  images?: ImageResolver;
  /** true: must be a chart; false: never treat as one; 'auto' (default): a chart if laid out as one */
  helm?: boolean | 'auto';
  limits?: ConfigureLimits;
  /** where the temporary tree lives (default: the OS temp dir) */
  workDir?: string;
}

export interface ConfigureArchiveResult {
  /** deterministic tar+gzip of the configured tree; read it to the end (or call dispose) */
  output: Readable;
  /** files whose content changed, relative to the archive root, sorted */
  filesChanged: string[];
  /** chart name/version after configuration (rules may edit Chart.yaml) */
  chart?: ChartInfo;
  dispose(): Promise<void>;
}

export async function configureArchive(options: ConfigureArchiveOptions): Promise<ConfigureArchiveResult> {
  const substitutions = options.substitutions ?? compileRules(options.rules ?? [], options.images);
  const yaml = { ...DEFAULT_YAML_LIMITS, ...options.limits?.yaml };
  const scratch = await mkdtemp(join(options.workDir ?? tmpdir(), 'ocm-configure-'));
  let disposed = false;
  const dispose = async (): Promise<void> => {
    if (disposed) return;
    disposed = true;
    await rm(scratch, { recursive: true, force: true });
  };
  try {
    const root = join(scratch, 'tree');
    await unpackToDirectory(options.input, root, options.limits?.archive ? { limits: options.limits.archive } : {});
    const helm = options.helm ?? 'auto';
    let chart = helm === true ? await requireChart(root, yaml) : helm === 'auto' ? await detectChart(root, yaml) : undefined;
    const base = chart ? join(root, chart.directory) : root;
    const changed = await applySubstitutions(base, substitutions, {
      yaml,
      ...(chart ? { displayBase: `the chart directory ${chart.directory}/` } : {}),
    });
    if (chart && changed.includes('Chart.yaml')) chart = await requireChart(root, yaml);
    // the tree is removed before the output signals its end (or when it is destroyed early)
    const packed = packDirectory(root);
    const output = Readable.from(
      (async function* () {
        try {
          yield* packed;
        } finally {
          packed.destroy();
          await dispose();
        }
      })(),
    );
    const result: ConfigureArchiveResult = {
      output,
      filesChanged: changed.map((f) => (chart ? `${chart.directory}/${f}` : f)),
      dispose,
    };
    if (chart) result.chart = chart;
    return result;
  } catch (err) {
    await dispose();
    throw err;
  }
}
