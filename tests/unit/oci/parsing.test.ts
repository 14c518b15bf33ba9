import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  DigestMismatchError,
  digestOf,
  errorForResponse,
  InvalidArgumentError,
  isRepositoryName,
  nextLink,
  NotFoundError,
  OciError,
  parseReference,
  tagForVersion,
  TransientError,
  VerifyingStream,
} from '../../../shared/oci/index.js';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

describe('Link header', () => {
  it('finds rel="next" among several links and params', () => {
    expect(nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"')).toBe('/v2/a/tags/list?n=2&last=b');
    expect(nextLink('<https://x/prev>; rel="prev", <https://x/next?a=1,2>; title="t"; rel="next"')).toBe('https://x/next?a=1,2');
    expect(nextLink('<https://x/n>; rel=next')).toBe('https://x/n');
    expect(nextLink('<https://x/p>; rel="prev"')).toBeUndefined();
    expect(nextLink(undefined)).toBeUndefined();
  });
  it('never throws on arbitrary input', () => {
    fc.assert(fc.property(fc.string(), (s) => void nextLink(s)));
  });
});

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

describe('typed errors', () => {
  it('carries the registry errors[] code and message', () => {
    const body = JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'x' } }] });
    const e = errorForResponse('GET manifest a:x', 404, body);
    expect(e).toBeInstanceOf(NotFoundError);
    expect(e).toMatchObject({ status: 404, code: 'MANIFEST_UNKNOWN' });
    expect(e.message).toContain('MANIFEST_UNKNOWN: manifest unknown');
    expect(errorForResponse('x', 401, '')).toBeInstanceOf(AuthError);
    expect(errorForResponse('x', 503, 'busy')).toBeInstanceOf(TransientError);
    const plain = errorForResponse('x', 400, '404 page not found');
    expect(plain).toBeInstanceOf(OciError);
    expect(plain.code).toBeUndefined();
    expect(plain.message).toContain('404 page not found');
  });
});

describe('VerifyingStream', () => {
  it('passes matching content and fails on wrong digest or size', async () => {
    const data = Buffer.from('hello world');
    const ok = new VerifyingStream(digestOf(data), data.length, 'blob');
    const out: Buffer[] = [];
    await pipeline(Readable.from([data]), ok, async (src) => {
      for await (const c of src) out.push(c as Buffer);
    });
    expect(Buffer.concat(out)).toEqual(data);
    await expect(
      pipeline(Readable.from([data]), new VerifyingStream(digestOf('other'), undefined, 'blob'), async (src) => {
        for await (const c of src) void c;
      }),
    ).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(
      pipeline(Readable.from([data]), new VerifyingStream(digestOf(data), 3, 'blob'), async (src) => {
        for await (const c of src) void c;
      }),
    ).rejects.toThrow(/size mismatch/);
  });
});
