import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { layerText } from '../../../functions/adapters/layer-text.js';
import type { PackEntry } from '../../../shared/archive/index.js';
import type { LocalBlob } from '../../../shared/ports/index.js';
import { blobFromBytes } from '../../../shared/stagekit/temp.js';
import { packed } from '../../support/tar.js';
import { MediaType } from '../../../shared/oci/media-types.js';

describe('the LayerText adapter', () => {
  const blobs: LocalBlob[] = [];
  const layer = async (entries: PackEntry[]) => {
    const blob = await blobFromBytes(await packed(entries), MediaType.LayerGzip, 'layer.tgz');
    blobs.push(blob);
    return blob;
  };
  beforeEach(() => void blobs.splice(0));
  afterEach(async () => Promise.all(blobs.map((b) => b.dispose())));

  it('whole: the layer as text', async () => {
    const blob = await blobFromBytes('components: []\n', 'application/x-yaml');
    blobs.push(blob);
    expect(await layerText.whole(blob)).toBe('components: []\n');
  });

  it('singleFile: the one file of a wrapped blob, or rules.yaml / config.yaml among several', async () => {
    expect(await layerText.singleFile(await layer([{ path: 'config', type: 'file', content: '- a\n' }]))).toBe('- a\n');
    const several = await layer([
      { path: 'cfg', type: 'directory' },
      { path: 'cfg/README.md', type: 'file', content: 'read me' },
      { path: 'cfg/config.yaml', type: 'file', content: 'rules: []\n' },
    ]);
    expect(await layerText.singleFile(several)).toBe('rules: []\n');
  });

  it('singleFile: says what is wrong with an archive it cannot take', async () => {
    const ambiguous = await layer([
      { path: 'a.yaml', type: 'file', content: 'a' },
      { path: 'b.yaml', type: 'file', content: 'b' },
    ]);
    await expect(layerText.singleFile(ambiguous)).rejects.toThrow('config archive holds 2 files and none named rules.yaml or config.yaml');
    const big = await layer([{ path: 'rules.yaml', type: 'file', content: 'x'.repeat(1024 * 1024 + 1) }]);
    await expect(layerText.singleFile(big)).rejects.toThrow('config file rules.yaml is larger than 1048576 bytes');
  });
});
