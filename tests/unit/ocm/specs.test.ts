import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccessError, parseBaseUrl, parseImageReference, parseRepositorySpec, RepositorySpecError, componentRepositoryPath } from '../../../shared/ocm/index.js';

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
  it('baseUrl -> registry location and component repository path', () => {
    expect(parseBaseUrl('http://127.0.0.1:5000/a/b/')).toEqual({ registry: { host: '127.0.0.1:5000', insecure: true }, prefix: 'a/b' });
    expect(parseBaseUrl('ghcr.io')).toEqual({ registry: { host: 'ghcr.io' }, prefix: '' });
    expect(componentRepositoryPath('org', '/ocm/', 'acme.org/app')).toBe('org/ocm/component-descriptors/acme.org/app');
    expect(componentRepositoryPath('', undefined, 'acme.org/app')).toBe('component-descriptors/acme.org/app');
  });
});

describe('image references', () => {
  it('parses host, repository, tag and digest', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    expect(parseImageReference(`ghcr.io/acme/podinfo:6.7.1@${d}`)).toMatchObject({ host: 'ghcr.io', repository: 'acme/podinfo', tag: '6.7.1', digest: d });
    expect(parseImageReference('localhost:5000/x')).toMatchObject({ host: 'localhost:5000', repository: 'x' });
    expect(parseImageReference('nginx:1.27')).toMatchObject({ host: 'registry-1.docker.io', repository: 'library/nginx', tag: '1.27' });
    expect(parseImageReference('http://127.0.0.1:5000/a/b:1')).toMatchObject({ host: '127.0.0.1:5000', repository: 'a/b', tag: '1', insecure: true });
    expect(() => parseImageReference('ghcr.io/UPPER/x:1')).toThrow(AccessError);
    expect(() => parseImageReference('ghcr.io/x@sha256:nothex')).toThrow(AccessError);
  });
  it('property: host/repo:tag round-trips', () => {
    const seg = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    fc.assert(
      fc.property(seg, fc.array(seg, { minLength: 1, maxLength: 4 }), fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,20}$/), fc.nat(65535), (h, path, tag, port) => {
        const host = `${h}.io:${port}`;
        const r = parseImageReference(`${host}/${path.join('/')}:${tag}`);
        expect(r).toMatchObject({ host, repository: path.join('/'), tag });
      }),
    );
  });
});
