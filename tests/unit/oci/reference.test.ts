import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertReference, digestOf, InvalidArgumentError, isRepositoryName, isTag, parseReference } from '../../../shared/oci/index.js';

describe('references', () => {
  it('parses host/repo:tag@digest', () => {
    const d = digestOf('x');
    expect(parseReference(`127.0.0.1:5000/a/b:v1@${d}`)).toEqual({ host: '127.0.0.1:5000', repository: 'a/b', tag: 'v1', digest: d });
    expect(parseReference('oci://reg.io/x')).toEqual({ host: 'reg.io', repository: 'x' });
    expect(() => parseReference('reg.io/UPPER:v1')).toThrow(InvalidArgumentError);
    expect(() => parseReference('noslash')).toThrow(/no registry host/);
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
