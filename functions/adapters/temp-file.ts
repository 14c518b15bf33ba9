import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestingStream } from '../../shared/oci/digest.js';
import type { LocalBlob } from '../../shared/ports/index.js';

/** Streams `source` into a fresh temp file, hashing on the way (memory stays flat whatever the size). */
export async function spool(source: Readable, mediaType: string, fileName = 'blob', tmpRoot?: string): Promise<LocalBlob> {
  const dir = await mkdtemp(join(tmpRoot ?? tmpdir(), 'ocmk-'));
  const path = join(dir, fileName.replace(/[/\\]/g, '_') || 'blob');
  const tap = new DigestingStream();
  try {
    await pipeline(source, tap, createWriteStream(path));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    path,
    size: tap.size,
    digest: tap.digest(),
    mediaType,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
