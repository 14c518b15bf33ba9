import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ImageReferenceError,
  formatImageReference,
  parseImageReference,
  transformImageReference,
} from '../../../shared/configure/index.js';

const D = 'sha256:' + 'a'.repeat(64);

describe('parseImageReference', () => {
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
