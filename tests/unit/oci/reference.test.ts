import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertReference,
  digestOf,
  formatImageReference,
  ImageReferenceError,
  InvalidArgumentError,
  isRepositoryName,
  isTag,
  parseImageReference,
} from '../../../shared/oci/index.js';

const D = 'sha256:' + 'a'.repeat(64);

describe('references', () => {
  it('explicitRegistry: parses host/repo:tag@digest, the first component is the registry', () => {
    const d = digestOf('x');
    const explicit = { explicitRegistry: true, scheme: true };
    expect(parseImageReference(`127.0.0.1:5000/a/b:v1@${d}`, explicit)).toEqual({ registry: '127.0.0.1:5000', repository: 'a/b', tag: 'v1', digest: d });
    expect(parseImageReference('oci://reg.io/x', explicit)).toEqual({ registry: 'reg.io', repository: 'x' });
    expect(parseImageReference('zot/x', explicit)).toEqual({ registry: 'zot', repository: 'x' });
    expect(() => parseImageReference('reg.io/UPPER:v1', explicit)).toThrow(InvalidArgumentError);
    expect(() => parseImageReference('noslash', explicit)).toThrow(/no registry host/);
    expect(() => parseImageReference(`reg.io/x@sha384:${'a'.repeat(96)}`, explicit)).toThrow(/not a sha256\/sha512 digest/);
  });
  it('validates repository names', () => {
    expect(isRepositoryName('ns/resource/my-res')).toBe(true);
    expect(isRepositoryName('../etc')).toBe(false);
    expect(isRepositoryName('a//b')).toBe(false);
  });
  it('no repository name accepted by the validator can escape a directory', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ab./_-'.split('')) }), (s) => {
        if (isRepositoryName(s)) expect(s.split('/').every((p) => p !== '..' && p !== '.' && p !== '')).toBe(true);
      }),
    );
  });
  it('a reference is a tag (up to 128 characters, not starting with . or -) or a digest', () => {
    expect(isTag('v1.2.3_build-4')).toBe(true);
    expect(isTag('a'.repeat(128))).toBe(true);
    expect(isTag('a'.repeat(129))).toBe(false);
    expect(isTag('.hidden')).toBe(false);
    expect(isTag('-x')).toBe(false);
    expect(isTag('1.0.0+build')).toBe(false);
    expect(assertReference('v1')).toBe('v1');
    expect(assertReference(digestOf('x'))).toBe(digestOf('x'));
    expect(() => assertReference('sha256:short')).toThrow('reference "sha256:short" is neither a valid tag nor a digest');
  });
});

describe('parseImageReference (Docker grammar)', () => {
  it.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['nginx:1.25', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' }],
    ['bitnami/redis:7', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7' }],
    ['docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['index.docker.io/library/nginx:1', { registry: 'docker.io', repository: 'library/nginx', tag: '1' }],
    ['ghcr.io/stefanprodan/podinfo:6.7.1', { registry: 'ghcr.io', repository: 'stefanprodan/podinfo', tag: '6.7.1' }],
    ['localhost:5000/a/b/c:v1', { registry: 'localhost:5000', repository: 'a/b/c', tag: 'v1' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['registry:5000/app', { registry: 'registry:5000', repository: 'app' }],
    ['[::1]:5000/app:x', { registry: '[::1]:5000', repository: 'app', tag: 'x' }],
    [`quay.io/x/y@${D}`, { registry: 'quay.io', repository: 'x/y', digest: D }],
    [`quay.io/x/y:1.0@${D}`, { registry: 'quay.io', repository: 'x/y', tag: '1.0', digest: D }],
    ['my-registry.example.com:443/team/app_name/sub-path:1.0.0-rc.1', {
      registry: 'my-registry.example.com:443',
      repository: 'team/app_name/sub-path',
      tag: '1.0.0-rc.1',
    }],
  ])('%s', (ref, expected) => {
    expect(parseImageReference(ref)).toEqual(expected);
  });

  it.each([
    '',
    'UPPER/case',
    'nginx:',
    'nginx:bad tag',
    'nginx@sha256:abc',
    'ghcr.io/',
    'ghcr.io//x',
    'host:99999/x',
    ':tag',
    'a/-b',
    ' nginx',
    'nginx:' + 'x'.repeat(129),
  ])('rejects %j', (ref) => {
    expect(() => parseImageReference(ref)).toThrow(ImageReferenceError);
  });
});

describe('image references (property)', () => {
  const component = fc.stringMatching(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/, { maxLength: 20 }).filter((s) => s.length > 0);
  const host = fc.oneof(
    fc.constant('localhost'),
    fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/), fc.constantFrom('io', 'com', 'example.org')).map(([a, b]) => `${a}.${b}`),
  );
  const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
  const tag = fc.option(fc.stringMatching(/^[\w][\w.-]{0,20}$/), { nil: undefined });
  const digest = fc.option(fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`), { nil: undefined });
  const ref = fc.record({
    registry: fc.tuple(host, port).map(([h, p]) => (p === undefined ? h : `${h}:${p}`)),
    repository: fc.array(component, { minLength: 1, maxLength: 4 }).map((c) => c.join('/')),
    tag,
    digest,
  });

  it('format -> parse round-trips fully qualified references', () => {
    fc.assert(
      fc.property(ref, (r) => {
        const clean = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined));
        expect(parseImageReference(formatImageReference(r))).toEqual(clean);
      }),
      { numRuns: 300 },
    );
  });

  it('any string parses or fails with ImageReferenceError (never anything else)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        try {
          const parsed = parseImageReference(s);
          // whatever parsed must format back to something that parses to the same thing
          expect(parseImageReference(formatImageReference(parsed))).toEqual(parsed);
        } catch (err) {
          expect(err).toBeInstanceOf(ImageReferenceError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('Docker Hub short names are normalised', () => {
    fc.assert(
      fc.property(component, tag, (name, t) => {
        const parsed = parseImageReference(t === undefined ? name : `${name}:${t}`);
        expect(parsed.registry).toBe('docker.io');
        expect(parsed.repository).toBe(`library/${name}`);
      }),
    );
  });
});
