import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, inputDigest } from '../../../shared/stagekit/input-digest.js';

describe('input digests', () => {
  it('the input digest ignores key order and changes with any value (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue(), { maxKeys: 8 }), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(inputDigest('resource', obj)).toBe(inputDigest('resource', reversed));
        expect(inputDigest('resource', obj)).not.toBe(inputDigest('configure', obj));
        expect(inputDigest('resource', { ...obj, __extra: 1 })).not.toBe(inputDigest('resource', obj));
      }),
    );
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });

  it('canonical JSON drops undefined values and sorts nested keys', () => {
    expect(canonicalJson({ z: undefined, y: { b: [2, 1], a: null } })).toBe('{"y":{"a":null,"b":[2,1]}}');
    expect(inputDigest('publish', { a: 1 })).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
