/**
 * Unpack an untrusted archive into an empty directory. All safety rules live in `readArchive`; this
 * adds the filesystem side: exclusive creates (never follow or overwrite anything), normalised modes.
 */
import { createWriteStream } from 'node:fs';
import { link, mkdir, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArchiveError } from './errors.js';
import { isExecutable, readArchive, type ArchiveEntryType, type ArchiveInput, type ReadArchiveOptions } from './read.js';
import { parentsOf } from './paths.js';

export interface UnpackedEntry {
  path: string;
  type: ArchiveEntryType;
  size: number;
}

export interface UnpackResult {
  entries: UnpackedEntry[];
  /** sum of file sizes written */
  bytes: number;
}

/** `dir` is created if missing and must be empty: pre-existing symlinks would defeat the checks. */
export async function unpackToDirectory(
  input: ArchiveInput,
  dir: string,
  options: ReadArchiveOptions = {},
): Promise<UnpackResult> {
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw new ArchiveError(`unpack target ${dir} is not empty`);
  const entries: UnpackedEntry[] = [];
  const made = new Set<string>();
  let bytes = 0;
  const ensureParents = async (path: string): Promise<void> => {
    for (const parent of parentsOf(path)) {
      if (made.has(parent)) continue;
      await mkdir(join(dir, parent), { recursive: true, mode: 0o755 });
      made.add(parent);
    }
  };
  for await (const entry of readArchive(input, options)) {
    const target = join(dir, entry.path);
    await ensureParents(entry.path);
    switch (entry.type) {
      case 'directory':
        if (!made.has(entry.path)) {
          await mkdir(target, { recursive: true, mode: 0o755 });
          made.add(entry.path);
        }
        break;
      case 'file':
        // 'wx' = O_CREAT|O_EXCL: fails on anything already there, including a symlink
        await pipeline(
          Readable.from(entry.body),
          createWriteStream(target, { flags: 'wx', mode: isExecutable(entry.mode) ? 0o755 : 0o644 }),
        );
        bytes += entry.size;
        break;
      case 'symlink':
        await symlink(entry.linkTarget ?? '', target);
        break;
      case 'hardlink':
        await link(join(dir, entry.linkTarget ?? ''), target);
        break;
    }
    entries.push({ path: entry.path, type: entry.type, size: entry.size });
  }
  return { entries, bytes };
}
