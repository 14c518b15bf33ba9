import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentLength, parseResponseHead, ResponseHeadError, ResponseHeadReader } from '../../../shared/oci/index.js';

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/);
const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,40}[\x21-\x7e])?$/);

describe('parseResponseHead', () => {
  it('reads the status and lower-cased headers, joining repeated fields', () => {
    const head = parseResponseHead(
      'HTTP/1.1 307 Temporary Redirect\r\nLocation: http://s3:8333/b?X-Amz-Signature=abc\r\nContent-Length: 0\r\nVary: a\r\nvary: b\r\nX-Empty:\r\n',
    );
    expect(head.status).toBe(307);
    expect(head.headers).toEqual({ location: 'http://s3:8333/b?X-Amz-Signature=abc', 'content-length': '0', vary: 'a, b', 'x-empty': '' });
    expect(parseResponseHead('HTTP/1.0 200').status).toBe(200);
  });

  it('rejects malformed heads with ResponseHeadError', () => {
    for (const bad of [
      'HTTP/2 200 OK',
      'HTTP/1.1 20 OK',
      'ICY 200 OK',
      'HTTP/1.1 200 OK\r\nno-colon-here',
      'HTTP/1.1 200 OK\r\nbad name: x',
      'HTTP/1.1 200 OK\r\nA: b\r\n folded',
      'HTTP/1.1 200 OK\r\nA: b\u0000c',
    ]) {
      expect(() => parseResponseHead(bad), bad).toThrow(ResponseHeadError);
    }
  });

  it('round-trips generated heads and never throws anything but ResponseHeadError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.array(fc.tuple(token, value), { maxLength: 10 }), (status, fields) => {
        const text = [`HTTP/1.1 ${status} Reason Phrase`, ...fields.map(([n, v]) => `${n}: ${v}`)].join('\r\n');
        const head = parseResponseHead(text);
        expect(head.status).toBe(status);
        const expected = new Map<string, string>();
        for (const [n, v] of fields) {
          const k = n.toLowerCase();
          expected.set(k, expected.has(k) ? `${expected.get(k)}, ${v}` : v);
        }
        expect(new Map(Object.entries(head.headers))).toEqual(expected);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          parseResponseHead(s);
        } catch (err) {
          expect(err).toBeInstanceOf(ResponseHeadError);
        }
      }),
    );
  });
});

describe('contentLength', () => {
  const h = (headers: Record<string, string>): ReturnType<typeof parseResponseHead> => ({ status: 200, headers });
  it('reads the body length, accepting equal repeats', () => {
    expect(contentLength(h({ 'content-length': '1073741824' }))).toBe(1073741824);
    expect(contentLength(h({ 'content-length': '5, 5' }))).toBe(5);
    expect(contentLength(h({ 'content-length': '0' }))).toBe(0);
  });
  it('is undefined when the body is framed otherwise (chunked, read to close)', () => {
    expect(contentLength(h({ 'transfer-encoding': 'chunked', 'content-length': '5' }))).toBeUndefined();
    expect(contentLength(h({}))).toBeUndefined();
  });
  it('rejects differing or non-numeric values', () => {
    for (const v of ['5, 6', '-1', '1e3', 'abc', '', '12345678901234567']) {
      expect(() => contentLength(h({ 'content-length': v })), v).toThrow(ResponseHeadError);
    }
  });
});

describe('ResponseHeadReader', () => {
  const response = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 11\r\nDocker-Content-Digest: sha256:x\r\n\r\nhello world');
  const headLength = response.indexOf('\r\n\r\n') + 4;

  it('finds the head however the bytes are split, including a terminator across reads, in a reused buffer', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: response.length }), { minLength: 1, maxLength: 30 }), (cuts) => {
        const reader = new ResponseHeadReader();
        // one buffer reused for every read, like the socket's onread buffer
        const readBuf = Buffer.alloc(response.length);
        let offset = 0;
        for (const size of [...cuts, response.length]) {
          const n = Math.min(size, response.length - offset);
          if (n === 0) break;
          response.copy(readBuf, 0, offset, offset + n);
          const got = reader.push(readBuf.subarray(0, n));
          readBuf.fill(0);
          if (got) {
            expect(got.head.status).toBe(200);
            expect(got.head.headers['docker-content-digest']).toBe('sha256:x');
            // the body starts where the head ends, counted within this read
            expect(offset + got.bodyOffset).toBe(headLength);
            return;
          }
          offset += n;
        }
        throw new Error('head never completed');
      }),
    );
  });

  it('gives up on a head larger than its limit', () => {
    const reader = new ResponseHeadReader(1024);
    expect(reader.push(Buffer.from('HTTP/1.1 200 OK\r\n'))).toBeUndefined();
    expect(() => {
      for (let i = 0; i < 100; i++) reader.push(Buffer.from(`X-Filler-${i}: ${'a'.repeat(40)}\r\n`));
    }).toThrow(/response head larger than 1024 bytes/);
  });
});
