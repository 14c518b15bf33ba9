import { createReadStream } from 'node:fs';
import { readArchive } from '../../shared/archive/index.js';

const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * The text of a config Resource's layer: the single regular file in it (docs/design.md §6 wraps a non-archive blob in a
 * tar under its resource name), or `rules.yaml` / `config.yaml` when there are several.
 */
export async function extractSingleTextFile(path: string): Promise<string> {
  const files = new Map<string, string>();
  for await (const entry of readArchive(createReadStream(path), { limits: { maxTotalSize: 16 * MAX_CONFIG_BYTES } })) {
    if (entry.type !== 'file') continue;
    if (entry.size > MAX_CONFIG_BYTES) throw new Error(`config file ${entry.path} is larger than ${MAX_CONFIG_BYTES} bytes`);
    const chunks: Buffer[] = [];
    for await (const c of entry.body) chunks.push(c);
    files.set(entry.path, Buffer.concat(chunks).toString('utf8'));
  }
  if (files.size === 1) return [...files.values()][0]!;
  for (const name of ['rules.yaml', 'config.yaml', 'rules.yml']) {
    const hit = [...files.entries()].find(([p]) => p === name || p.endsWith(`/${name}`));
    if (hit) return hit[1];
  }
  throw new Error(`config archive holds ${files.size} files and none named rules.yaml or config.yaml`);
}
