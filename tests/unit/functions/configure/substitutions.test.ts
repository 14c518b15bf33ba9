import { describe, expect, it } from 'vitest';
import { imageReferenceOf } from '../../../../functions/configure/substitutions.js';

describe('imageReferenceOf', () => {
  it('finds image references per access type', () => {
    expect(imageReferenceOf({ type: 'ociArtifact', imageReference: 'ghcr.io/a/b:1' })).toBe('ghcr.io/a/b:1');
    expect(imageReferenceOf({ type: 'ociBlob', ref: 'ghcr.io/a/b', digest: 'sha256:ab' })).toBe('ghcr.io/a/b@sha256:ab');
    expect(imageReferenceOf({ type: 'localBlob', localReference: 'x', globalAccess: { type: 'ociArtifact', imageReference: 'r/x:1' } })).toBe('r/x:1');
    expect(imageReferenceOf({ type: 'localBlob', localReference: 'x' })).toBeUndefined();
  });
});
