import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf } from '../oci/digest.js';
import type { LocalBlob } from '../ports/index.js';

/** Small generated content (descriptor lists) as a LocalBlob in its own temp dir. */
export async function blobFromBytes(bytes: Buffer | string, mediaType: string, fileName = 'content'): Promise<LocalBlob> {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const dir = await mkdtemp(join(tmpdir(), 'ocmk-'));
  const path = join(dir, fileName);
  await writeFile(path, buf);
  return {
    path,
    size: buf.length,
    digest: digestOf(buf),
    mediaType,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
