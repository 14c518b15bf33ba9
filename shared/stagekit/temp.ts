import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    digest: `sha256:${createHash('sha256').update(buf).digest('hex')}`,
    mediaType,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
