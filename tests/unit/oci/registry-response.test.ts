import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from 'undici';
import { DigestMismatchError, digestOf, NotFoundError, OciError } from '../../../shared/oci/index.js';
import {
  checkDigest,
  checkDigestHeader,
  drain,
  header,
  mediaTypeOf,
  readLimited,
  readText,
  responseError,
} from '../../../shared/oci/registry-response.js';
import { RetryableError } from '../../../shared/oci/retry.js';
import { Agent, request } from '../../../shared/oci/undici-core.js';
import { startServer, type TestServer } from './http-server.js';

// real undici responses from a loopback server: /bytes/<n> answers n bytes, with or without Content-Length
let server: TestServer;
const agent = new Agent();
beforeAll(async () => {
  server = await startServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const n = Number(u.pathname.split('/')[2] ?? 0);
    const body = Buffer.alloc(n, 'a');
    const headers: Record<string, string | string[]> = { 'content-type': 'application/vnd.oci.image.manifest.v1+json; charset=utf-8' };
    if (u.searchParams.get('length') !== 'no') headers['content-length'] = String(n);
    if (u.searchParams.has('digest')) headers['docker-content-digest'] = u.searchParams.get('digest') ?? '';
    headers['x-twice'] = ['one', 'two'];
    res.writeHead(200, headers);
    res.end(body);
  });
});
afterAll(async () => {
  await agent.close();
  await server.close();
});

const get = (path: string): Promise<Dispatcher.ResponseData> => request(new URL(path, server.url), { method: 'GET', dispatcher: agent });

describe('registry-response', () => {
  it('reads the first value of a header, and the media type without parameters', async () => {
    const res = await get('/bytes/3');
    expect(header(res, 'x-twice')).toBe('one');
    expect(header(res, 'absent')).toBeUndefined();
    expect(mediaTypeOf(header(res, 'content-type'))).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(mediaTypeOf(undefined)).toBe('');
    await drain(res);
  });

  it('readLimited returns the whole body up to the limit, and refuses a larger one announced or streamed', async () => {
    expect((await readLimited(await get('/bytes/100'), 100, 'manifest a')).length).toBe(100);
    await expect(readLimited(await get('/bytes/101'), 100, 'manifest a')).rejects.toThrow('manifest a: 101 bytes exceeds the limit of 100');
    const unannounced = readLimited(await get('/bytes/5000?length=no'), 100, 'manifest b');
    await expect(unannounced).rejects.toBeInstanceOf(OciError);
    await expect(readLimited(await get('/bytes/5000?length=no'), 100, 'manifest b')).rejects.toThrow(/more than the limit of 100 bytes/);
  });

  it('readText keeps the first `limit` bytes and reads the rest to the end', async () => {
    expect(await readText(await get('/bytes/10'), 4)).toBe('aaaa');
    expect(await readText(await get('/bytes/3'))).toBe('aaa');
  });

  it('checkDigestHeader: a Docker-Content-Digest that disagrees is a DigestMismatchError; absent, malformed or another algorithm proves nothing', async () => {
    const ours = digestOf('ours');
    await expect(async () => checkDigestHeader(await get(`/bytes/1?digest=${digestOf('theirs')}`), ours, 'PUT blob')).rejects.toBeInstanceOf(
      DigestMismatchError,
    );
    checkDigestHeader(await get(`/bytes/1?digest=${ours}`), ours, 'PUT blob');
    checkDigestHeader(await get('/bytes/1'), ours, 'PUT blob');
    checkDigest('sha256:short', ours, 'PUT blob');
    checkDigest(digestOf('theirs', 'sha512'), ours, 'PUT blob');
    expect(() => checkDigest(digestOf('theirs'), ours, 'PUT blob')).toThrow(/PUT blob: Docker-Content-Digest: digest mismatch/);
  });

  it('responseError: a raw-socket answer becomes the typed error, 429/5xx retryable with their Retry-After', () => {
    const notFound = responseError('GET blob', { status: 404, headers: {}, body: '{"errors":[{"code":"BLOB_UNKNOWN","message":"gone"}]}' });
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect(notFound.message).toBe('GET blob: HTTP 404: BLOB_UNKNOWN: gone');
    const busy = responseError('GET blob', { status: 503, headers: { 'retry-after': '2' }, body: '' });
    expect(busy).toBeInstanceOf(RetryableError);
    expect((busy as RetryableError).retryAfterMs).toBe(2000);
    expect((busy as RetryableError).error).toMatchObject({ status: 503 });
  });
});
