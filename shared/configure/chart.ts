/**
 * Helm chart layout: a chart archive has exactly one top-level directory `<chart>/` holding Chart.yaml;
 * rule paths are relative to that directory. Chart.yaml gives name and version (the snapshot tag, and the
 * Helm config blob of the OCI artifact).
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import semver from 'semver';
import { ChartError } from './errors.js';
import { DEFAULT_YAML_LIMITS, type YamlLimits } from './substitute.js';

export interface ChartInfo {
  name: string;
  version: string;
  /** the chart's top-level directory inside the archive */
  directory: string;
  /** Chart.yaml as data (the Helm OCI config blob is this as JSON) */
  metadata: Record<string, unknown>;
}

export function parseChartYaml(text: string, where: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): Omit<ChartInfo, 'directory'> {
  if (Buffer.byteLength(text) > limits.maxFileSize) throw new ChartError(`${where} is larger than ${limits.maxFileSize} bytes`);
  let data: unknown;
  try {
    data = parse(text, { maxAliasCount: limits.maxAliasCount, uniqueKeys: true });
  } catch (err) {
    throw new ChartError(`${where} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new ChartError(`${where} is not a mapping`);
  const metadata = data as Record<string, unknown>;
  const name = metadata['name'];
  const version = metadata['version'];
  if (typeof name !== 'string' || name === '') throw new ChartError(`${where} has no name`);
  if (typeof version !== 'string' || semver.valid(version) === null) {
    throw new ChartError(`${where}: version ${JSON.stringify(version)} is not a SemVer 2 version (Helm requires one)`);
  }
  return { name, version, metadata };
}

/** The chart in an unpacked tree, or undefined when the tree is not laid out as a chart archive. */
export async function detectChart(root: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): Promise<ChartInfo | undefined> {
  const top = await readdir(root);
  if (top.length !== 1) return undefined;
  const directory = top[0] as string;
  if (!(await lstat(join(root, directory))).isDirectory()) return undefined;
  const chartFile = join(root, directory, 'Chart.yaml');
  const stat = await lstat(chartFile).catch(() => undefined);
  if (!stat?.isFile()) return undefined;
  return { ...parseChartYaml(await readFile(chartFile, 'utf8'), `${directory}/Chart.yaml`, limits), directory };
}

/** Like detectChart, but a tree that is not a chart is an error naming what is wrong. */
export async function requireChart(root: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): Promise<ChartInfo> {
  const chart = await detectChart(root, limits);
  if (chart) return chart;
  const top = await readdir(root);
  if (top.includes('Chart.yaml')) {
    throw new ChartError('not a Helm chart archive: Chart.yaml is at the top level, but a chart archive needs one top-level directory <chart>/');
  }
  throw new ChartError(
    `not a Helm chart archive: expected exactly one top-level directory containing Chart.yaml, found ${top.length} entries (${top
      .slice(0, 5)
      .map((t) => JSON.stringify(t))
      .join(', ')})`,
  );
}
