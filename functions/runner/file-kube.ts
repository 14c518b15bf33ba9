/**
 * The KubePort of the local runner: MemoryKube (API server semantics, CRD validation, owner-reference garbage
 * collection, watch notifications) whose objects are also written, with their status, to
 * `DIR/objects/<kind>/<namespace>/<name>.yaml`, and read back on the next run so that a re-run on the same
 * directory continues where the last one stopped.
 *
 * Secrets and ConfigMaps come from the input manifests and are kept in memory only: credentials never touch
 * the output directory.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import type { KubeObject } from '../../shared/ports/kinds.js';
import { MemoryKube, crdValidation } from '../adapters/memory-kube.js';

export class FileKube extends MemoryKube {
  /** writes are chained so the files always end in the order the changes happened */
  private writes: Promise<void> = Promise.resolve();
  private writeError: unknown;

  constructor(private readonly dir: string) {
    super({ validate: crdValidation });
    this.watch((action, obj) => {
      this.writes = this.writes
        .then(() => (action === 'delete' ? rm(this.fileOf(obj), { force: true }) : this.write(obj)))
        .catch((err: unknown) => {
          this.writeError ??= err;
        });
    });
  }

  /** Loads what an earlier run left in `dir` (no change events: it is the starting state). */
  async load(): Promise<number> {
    const files = await walkYaml(path.join(this.dir, 'objects'));
    for (const file of files) this.restore(YAML.parse(await readFile(file, 'utf8')) as KubeObject);
    return files.length;
  }

  /** Resolves when every change so far is on disk; rejects with the first write that failed. */
  async flush(): Promise<void> {
    await this.writes;
    if (this.writeError) throw this.writeError;
  }

  private async write(obj: KubeObject): Promise<void> {
    const file = this.fileOf(obj);
    await mkdir(path.dirname(file), { recursive: true });
    // temp + rename: a run killed mid-write leaves the previous object, never half a file
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, YAML.stringify(obj));
    await rename(tmp, file);
  }

  private fileOf(obj: KubeObject): string {
    return path.join(this.dir, 'objects', obj.kind.toLowerCase(), obj.metadata.namespace, `${obj.metadata.name}.yaml`);
  }
}

async function walkYaml(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walkYaml(p)));
    else if (e.name.endsWith('.yaml')) out.push(p);
  }
  return out;
}
