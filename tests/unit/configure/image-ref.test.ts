import { describe, expect, it } from 'vitest';
import { transformImageReference } from '../../../shared/configure/index.js';

const D = 'sha256:' + 'a'.repeat(64);

describe('transformImageReference', () => {
  it('transforms like upstream localization', () => {
    const ref = 'ghcr.io/stefanprodan/podinfo:6.7.1';
    expect(transformImageReference(ref, 'Image')).toBe(ref);
    expect(transformImageReference(ref, 'ImageNoTag')).toBe('ghcr.io/stefanprodan/podinfo');
    expect(transformImageReference(ref, 'Registry')).toBe('ghcr.io');
    expect(transformImageReference(ref, 'Repository')).toBe('stefanprodan/podinfo');
    expect(transformImageReference(ref, 'Tag')).toBe('6.7.1');
    expect(transformImageReference(`x.io/a:1@${D}`, 'Tag')).toBe(D);
    expect(transformImageReference('nginx', 'Image')).toBe('docker.io/library/nginx:latest');
    expect(transformImageReference('nginx', 'Tag')).toBe('latest');
  });
});

