import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuthError, errorForResponse, NotFoundError, OciError, parseRegistryErrors, RegistryUnavailableError } from '../../../shared/oci/index.js';

describe('typed errors', () => {
  it('carries the registry errors[] code and message', () => {
    const body = JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'x' } }] });
    const e = errorForResponse('GET manifest a:x', 404, body);
    expect(e).toBeInstanceOf(NotFoundError);
    expect(e).toMatchObject({ status: 404, code: 'MANIFEST_UNKNOWN' });
    expect(e.message).toContain('MANIFEST_UNKNOWN: manifest unknown');
    expect(errorForResponse('x', 401, '')).toBeInstanceOf(AuthError);
    expect(errorForResponse('x', 503, 'busy')).toBeInstanceOf(RegistryUnavailableError);
    const plain = errorForResponse('x', 400, '404 page not found');
    expect(plain).toBeInstanceOf(OciError);
    expect(plain.code).toBeUndefined();
    expect(plain.message).toContain('404 page not found');
  });
  it('reads errors[] leniently: missing fields get defaults, non-objects and non-JSON bodies give no entries', () => {
    expect(parseRegistryErrors(JSON.stringify({ errors: [{ message: 'm' }, 7, null, { code: 'BLOB_UNKNOWN', detail: 0 }] }))).toEqual([
      { code: 'UNKNOWN', message: 'm' },
      { code: 'BLOB_UNKNOWN', message: '', detail: 0 },
    ]);
    expect(parseRegistryErrors('404 page not found')).toEqual([]);
    expect(parseRegistryErrors('null')).toEqual([]);
    expect(parseRegistryErrors(JSON.stringify({ errors: 'no' }))).toEqual([]);
    fc.assert(fc.property(fc.string(), (body) => Array.isArray(parseRegistryErrors(body))));
  });
  it('says an empty body is empty, and cuts a long plain body to 200 characters', () => {
    expect(errorForResponse('PUT x', 400, '  ').message).toBe('PUT x: HTTP 400: (empty body)');
    expect(errorForResponse('PUT x', 400, 'y'.repeat(500)).message).toBe(`PUT x: HTTP 400: ${'y'.repeat(200)}`);
  });
});
