import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { blobFromBytes } from '../../../shared/stagekit/temp.js';

describe('blobFromBytes', () => {
  it('writes the bytes to their own temp file with size, digest and media type; dispose removes it', async () => {
    const blob = await blobFromBytes('components: []\n', 'application/x-yaml', 'set.yaml');
    expect(blob.path.endsWith('/set.yaml')).toBe(true);
    expect(await readFile(blob.path, 'utf8')).toBe('components: []\n');
    expect(blob.size).toBe(15);
    expect(blob.digest).toBe(`sha256:${createHash('sha256').update('components: []\n').digest('hex')}`);
    expect(blob.mediaType).toBe('application/x-yaml');
    await blob.dispose();
    await expect(access(blob.path)).rejects.toThrow();
  });
});
