import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { readArchive } from '../../shared/archive/index.js';
import type { LayerText, LocalBlob } from '../../shared/ports/index.js';

const MAX_CONFIG_BYTES = 1024 * 1024;
/** what a config archive's file is picked by when it holds several */
const CONFIG_NAMES = ['rules.yaml', 'config.yaml', 'rules.yml'];

/** The LayerText port over the file system and shared/archive's safe unpacker. */
export const layerText: LayerText = {
  whole: (layer: LocalBlob) => readFile(layer.path, 'utf8'),
  singleFile: (layer: LocalBlob) => singleTextFile(layer.path),
};

async function singleTextFile(path: string): Promise<string> {
  const files = new Map<string, string>();
  for await (const entry of readArchive(createReadStream(path), { limits: { maxTotalSize: 16 * MAX_CONFIG_BYTES } })) {
    if (entry.type !== 'file') continue;
    if (entry.size > MAX_CONFIG_BYTES) throw new Error(`config file ${entry.path} is larger than ${MAX_CONFIG_BYTES} bytes`);
    const chunks: Buffer[] = [];
    for await (const c of entry.body) chunks.push(c);
    files.set(entry.path, Buffer.concat(chunks).toString('utf8'));
  }
  if (files.size === 1) return [...files.values()][0]!;
  for (const name of CONFIG_NAMES) {
    const hit = [...files.entries()].find(([p]) => p === name || p.endsWith(`/${name}`));
    if (hit) return hit[1];
  }
  throw new Error(`config archive holds ${files.size} files and none named rules.yaml or config.yaml`);
}
