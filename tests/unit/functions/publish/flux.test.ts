import { describe, expect, it } from 'vitest';
import { fluxFailed, layerSelectorFor } from '../../../../functions/publish/flux.js';
import { MediaType } from '../../../../shared/oci/media-types.js';
import type { OCIRepositoryObject } from '../../../../shared/ports/index.js';

const NS = 'team-a';

describe('layerSelectorFor', () => {
  it('picks the Flux layerSelector from the layer media type', () => {
    expect(layerSelectorFor(MediaType.HelmChart)).toEqual({
      mediaType: MediaType.HelmChart,
      operation: 'copy',
    });
    expect(layerSelectorFor('application/vnd.oci.image.layer.v1.tar+gzip')).toEqual({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      operation: 'extract',
    });
    expect(layerSelectorFor('application/vnd.oci.image.index.v1+json')).toBeUndefined();
    expect(layerSelectorFor('x', { mediaType: 'y', operation: 'copy' })).toEqual({ mediaType: 'y', operation: 'copy' });
  });
});

describe('fluxFailed', () => {
  it('fluxFailed: only a Ready=False that source-controller reported for the current generation, not when suspended', () => {
    const repo = (generation: number, observedGeneration: number, status: 'True' | 'False', suspend?: boolean): OCIRepositoryObject => ({
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'x', namespace: NS, generation },
      spec: { url: 'oci://r/x', ref: { digest: 'sha256:0' }, interval: '10m', ...(suspend ? { suspend } : {}) },
      status: { conditions: [{ type: 'Ready', status, reason: 'R', message: 'm', observedGeneration, lastTransitionTime: '2026-01-01T00:00:00Z' }] },
    });
    expect(fluxFailed(repo(2, 2, 'False'))).toBe(true);
    expect(fluxFailed(repo(3, 2, 'False'))).toBe(false);
    expect(fluxFailed(repo(2, 2, 'True'))).toBe(false);
    expect(fluxFailed(repo(2, 2, 'False', true))).toBe(false);
  });
});
