import { describe, expect, it } from 'vitest';
import { parseRepositorySpec, RepositorySpecError } from '../../../shared/ocm/index.js';

describe('repository specs', () => {
  it('normalises OCIRegistry and CTF specs', () => {
    expect(parseRepositorySpec({ type: 'OCIRegistry/v1', baseUrl: 'ghcr.io/acme', subPath: 'ocm', componentNameMapping: 'urlPath' })).toEqual({ type: 'OCIRegistry', baseUrl: 'ghcr.io/acme', subPath: 'ocm' });
    expect(parseRepositorySpec({ type: 'CommonTransportFormat/v1', filePath: '/x.tgz', fileFormat: 'tgz' })).toEqual({ type: 'CommonTransportFormat', filePath: '/x.tgz', fileFormat: 'tgz' });
  });
  it('names the bad field', () => {
    expect(() => parseRepositorySpec(null)).toThrow(RepositorySpecError);
    expect(() => parseRepositorySpec({ type: 'OCIRegistry', baseUrl: 'ghcr.io', componentNameMapping: 'sha256-digest' })).toThrow(/componentNameMapping/);
    expect(() => parseRepositorySpec({ type: 'CommonTransportFormat', filePath: '/x', fileFormat: 'zip' })).toThrow(/fileFormat/);
    expect(() => parseRepositorySpec({ type: 'OCIRegistry', baseUrl: 'http:///nohost' })).toThrow(/baseUrl/);
  });
});
