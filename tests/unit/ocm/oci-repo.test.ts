import { describe, expect, it } from 'vitest';
import { componentRepositoryPath, parseBaseUrl } from '../../../shared/ocm/index.js';

describe('OCI registry component repositories', () => {
  it('baseUrl -> registry location and component repository path', () => {
    expect(parseBaseUrl('http://127.0.0.1:5000/a/b/')).toEqual({ registry: { host: '127.0.0.1:5000', insecure: true }, prefix: 'a/b' });
    expect(parseBaseUrl('ghcr.io')).toEqual({ registry: { host: 'ghcr.io' }, prefix: '' });
    expect(componentRepositoryPath('org', '/ocm/', 'acme.org/app')).toBe('org/ocm/component-descriptors/acme.org/app');
    expect(componentRepositoryPath('', undefined, 'acme.org/app')).toBe('component-descriptors/acme.org/app');
  });
});
