import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestOf, InvalidArgumentError, isRepositoryName, parseReference, tagForVersion } from '../../../shared/oci/index.js';

describe('references', () => {
  it('parses host/repo:tag@digest', () => {
    const d = digestOf('x');
    expect(parseReference(`127.0.0.1:5000/a/b:v1@${d}`)).toEqual({ host: '127.0.0.1:5000', repository: 'a/b', tag: 'v1', digest: d });
    expect(parseReference('oci://reg.io/x')).toEqual({ host: 'reg.io', repository: 'x' });
    expect(() => parseReference('reg.io/UPPER:v1')).toThrow(InvalidArgumentError);
    expect(() => parseReference('noslash')).toThrow(/no registry host/);
  });
  it('validates repository names and turns versions into tags', () => {
    expect(isRepositoryName('ns/resource/my-res')).toBe(true);
    expect(isRepositoryName('../etc')).toBe(false);
    expect(isRepositoryName('a//b')).toBe(false);
    expect(tagForVersion('1.2.3+build.5')).toBe('1.2.3.build-build.5');
    expect(() => tagForVersion('-bad')).toThrow(InvalidArgumentError);
  });
  it('no repository name accepted by the validator can escape a directory', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ab./_-'.split('')) }), (s) => {
        if (isRepositoryName(s)) expect(s.split('/').every((p) => p !== '..' && p !== '.' && p !== '')).toBe(true);
      }),
    );
  });
});
