import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { LocalBlob } from '../../shared/ports/index.js';

/** Streams `source` into a fresh temp file, hashing on the way (memory stays flat whatever the size). */
export async function spool(source: Readable, mediaType: string, fileName = 'blob', tmpRoot?: string): Promise<LocalBlob> {
  const dir = await mkdtemp(join(tmpRoot ?? tmpdir(), 'ocmk-'));
  const path = join(dir, fileName.replace(/[/\\]/g, '_') || 'blob');
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(source, tap, createWriteStream(path));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    path,
    size,
    digest: `sha256:${hash.digest('hex')}`,
    mediaType,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
