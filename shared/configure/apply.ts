/**
 * Apply substitutions to an unpacked tree, in order. Each file is parsed once, edited by every rule that
 * targets it, and written once. Paths are relative to `base` (the chart directory for Helm charts).
 * The tree must come from `unpackToDirectory` (its symlinks are known to stay inside the root).
 */
import { chmod, lstat, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeEntryPath } from '../archive/index.js';
import { RuleError, ValuePathError } from './errors.js';
import { substitutionValue } from './localize.js';
import { DEFAULT_YAML_LIMITS, parseEditable, type EditableFile, type YamlLimits } from './substitute.js';
import type { Substitution } from './types.js';
import { parseValuePath } from './value-path.js';

export interface ApplyOptions {
  yaml?: Partial<YamlLimits>;
  /** prefix for messages, e.g. `podinfo/` for a chart directory */
  displayBase?: string;
}

export async function applySubstitutions(base: string, substitutions: readonly Substitution[], options: ApplyOptions = {}): Promise<string[]> {
  const limits = { ...DEFAULT_YAML_LIMITS, ...options.yaml };
  const shown = options.displayBase ?? '';
  const open = new Map<string, { editable: EditableFile; original: string; mode: number }>();
  for (const [index, s] of substitutions.entries()) {
    let file: string;
    try {
      file = normalizeEntryPath(s.file);
    } catch (err) {
      throw new RuleError(index, s.file, undefined, `not a safe relative path (${(err as Error).message})`);
    }
    if (file === '') throw new RuleError(index, s.file, undefined, 'empty file path');
    let segments;
    try {
      segments = parseValuePath(s.path);
    } catch (err) {
      throw new RuleError(index, s.file, s.path, (err as ValuePathError).message);
    }
    let editable = open.get(file)?.editable;
    if (!editable) {
      const abs = join(base, file);
      const stat = await lstat(abs).catch(() => undefined);
      if (!stat) {
        const present = await listFiles(base, 20);
        const listed = present.length ? `; it holds ${present.join(', ')}${present.length === 20 ? ', ...' : ''}` : '; it holds no files';
        throw new RuleError(index, s.file, undefined, `file not found in the archive${shown ? ` (paths are relative to ${shown})` : ''}${listed}`);
      }
      if (!stat.isFile()) throw new RuleError(index, s.file, undefined, 'not a regular file');
      if (stat.size > limits.maxFileSize) throw new RuleError(index, s.file, undefined, `larger than ${limits.maxFileSize} bytes`);
      const original = await readFile(abs, 'utf8');
      try {
        editable = parseEditable(file, original, limits);
      } catch (err) {
        throw new RuleError(index, s.file, undefined, (err as Error).message);
      }
      open.set(file, { editable, original, mode: stat.mode & 0o777 });
    }
    let value: unknown;
    try {
      value = substitutionValue(s);
    } catch (err) {
      throw new RuleError(index, s.file, s.path, (err as Error).message);
    }
    try {
      editable.set(segments, value);
    } catch (err) {
      throw new RuleError(index, s.file, s.path, (err as Error).message);
    }
  }
  const changed: string[] = [];
  for (const [file, { editable, original, mode }] of open) {
    const text = editable.toString();
    if (text === original) continue;
    // write + rename: a hard-linked file gets its own inode instead of changing its twin
    const abs = join(base, file);
    const temp = `${abs}.configure-${process.pid}.tmp`;
    await writeFile(temp, text, { flag: 'wx' });
    await chmod(temp, mode);
    await rename(temp, abs);
    changed.push(file);
  }
  return changed.sort();
}

/**
 * Up to `limit` file paths under `base` (sorted, relative), for the not-found message: a single-file resource is
 * stored under its resource name (docs/design.md §6), which is what a rule must name, and the list shows it.
 */
async function listFiles(base: string, limit: number): Promise<string[]> {
  const entries = await readdir(base, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(base.length + 1))
    .sort()
    .slice(0, limit);
}
