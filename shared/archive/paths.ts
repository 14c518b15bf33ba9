/**
 * Entry-name rules shared by reading and packing. An entry path is relative, POSIX, with no `.`/`..`
 * segments, no empty segments, no trailing slash.
 */
import { UnsafeArchiveError } from './errors.js';

/**
 * Normalise a tar entry name. Returns '' for the root itself (`./`), which callers skip.
 * Rejects absolute paths, `..` anywhere, NUL and backslashes (a separator on Windows, so refused for
 * portability of what we produce and consume).
 */
export function normalizeEntryPath(raw: string): string {
  if (raw.includes('\0')) throw new UnsafeArchiveError(raw, 'invalid-name', 'contains NUL');
  if (raw.includes('\\')) throw new UnsafeArchiveError(raw, 'invalid-name', 'contains a backslash');
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) {
    throw new UnsafeArchiveError(raw, 'absolute-path', 'entry names must be relative');
  }
  const out: string[] = [];
  for (const segment of raw.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') throw new UnsafeArchiveError(raw, 'path-traversal', "'..' segment");
    out.push(segment);
  }
  return out.join('/');
}

/** Parent directories of a normalised path, outermost first ("a/b/c" -> ["a", "a/b"]). */
export function parentsOf(path: string): string[] {
  const parts = path.split('/');
  const parents: string[] = [];
  for (let i = 1; i < parts.length; i++) parents.push(parts.slice(0, i).join('/'));
  return parents;
}

/**
 * Check a symlink target and return it resolved against the archive root.
 *
 * Rule (sound without touching the disk): the target is relative, made of leading `..` segments only
 * followed by downward segments (`../../a/b` is fine, `a/../b` is not). Leading `..`s walk up real
 * directories (no entry may live under a symlink, enforced by the reader), so the lexical result is the
 * real one; downward segments may pass through other symlinks, each of which obeys the same rule, so
 * resolution never leaves the root.
 */
export function resolveSymlinkTarget(entry: string, target: string): string {
  if (target === '') throw new UnsafeArchiveError(entry, 'symlink-escape', 'empty symlink target');
  if (target.includes('\0') || target.includes('\\')) {
    throw new UnsafeArchiveError(entry, 'invalid-name', 'symlink target contains NUL or a backslash');
  }
  if (target.startsWith('/') || /^[A-Za-z]:/.test(target)) {
    throw new UnsafeArchiveError(entry, 'symlink-escape', `absolute target ${JSON.stringify(target)}`);
  }
  const base = entry.split('/').slice(0, -1);
  let downward = false;
  for (const segment of target.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (downward) {
        throw new UnsafeArchiveError(entry, 'symlink-escape', `target ${JSON.stringify(target)} has '..' after a name`);
      }
      if (base.length === 0) {
        throw new UnsafeArchiveError(entry, 'symlink-escape', `target ${JSON.stringify(target)} leaves the root`);
      }
      base.pop();
    } else {
      downward = true;
      base.push(segment);
    }
  }
  return base.join('/');
}

/** Byte-wise (UTF-8) order: the one sort every packer uses, independent of locale. */
export function compareEntryPaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
