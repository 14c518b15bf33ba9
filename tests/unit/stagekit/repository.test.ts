import { describe, expect, it } from 'vitest';
import { API_VERSION, ObjectFailure, Reason, type OCMRepositoryObject, type RepositorySpec } from '../../../shared/ports/index.js';
import { parseRepositorySpec, repositoryUrl } from '../../../shared/stagekit/repository.js';

const repo = (repositorySpec: unknown): OCMRepositoryObject => ({
  apiVersion: API_VERSION,
  kind: 'OCMRepository',
  metadata: { name: 'repo', namespace: 'n' },
  // deliberately unchecked: the tests hand it what a tenant might write
  spec: { repositorySpec: repositorySpec as RepositorySpec },
});

describe('repository specs', () => {
  it('reads OCI registries (with subPath) and CTFs, and names them as a source URL', () => {
    const oci = parseRepositorySpec(repo({ type: 'OCIRegistry', baseUrl: 'https://ghcr.io/', subPath: '/org/ocm' }));
    expect(oci).toEqual({ type: 'OCIRegistry', baseUrl: 'https://ghcr.io/', subPath: '/org/ocm' });
    expect(repositoryUrl(oci)).toBe('https://ghcr.io/org/ocm');
    expect(repositoryUrl(parseRepositorySpec(repo({ type: 'OCIRegistry', baseUrl: 'r.example', subPath: '' })))).toBe('r.example');
    const ctf = parseRepositorySpec(repo({ type: 'CommonTransportFormat', filePath: '/data/ctf' }));
    expect(repositoryUrl(ctf)).toBe('ctf:///data/ctf');
  });

  it('refuses what it cannot use with RepositorySpecInvalid naming the field', () => {
    const problem = (spec: unknown) => {
      try {
        parseRepositorySpec(repo(spec));
        return undefined;
      } catch (e) {
        expect(e).toBeInstanceOf(ObjectFailure);
        expect((e as ObjectFailure).reason).toBe(Reason.RepositorySpecInvalid);
        return (e as Error).message;
      }
    };
    expect(problem(undefined)).toBe('OCMRepository repo: spec.repositorySpec. is required');
    expect(problem({ type: 'OCIRegistry' })).toBe('OCMRepository repo: spec.repositorySpec.baseUrl is required for type OCIRegistry');
    expect(problem({ type: 'CommonTransportFormat', filePath: ' ' })).toBe('OCMRepository repo: spec.repositorySpec.filePath is required for type CommonTransportFormat');
    expect(problem({ type: 'S3' })).toBe('OCMRepository repo: spec.repositorySpec.type must be OCIRegistry or CommonTransportFormat, got "S3"');
  });
});
