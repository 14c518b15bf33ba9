import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, redirectInterceptor, request } from '../../../shared/oci/undici-core.js';
import { startServer, type TestServer } from './http-server.js';

// the undici parts are imported from undici's own files (no exports map): these tests fail when a bump moves them
let server: TestServer;
beforeAll(async () => {
  server = await startServer((req, res) => {
    if (req.url?.startsWith('/moved')) {
      res.writeHead(307, { location: '/v2/target?x=1' });
      res.end();
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, body }));
    });
  });
});
afterAll(async () => {
  await server.close();
});

describe('undici-core', () => {
  it('request sends method, path, query and body through the given dispatcher', async () => {
    const agent = new Agent();
    try {
      const res = await request(new URL(`${server.url}/v2/a/blobs/uploads/?digest=sha256%3Aab`), { method: 'PUT', body: 'bytes', dispatcher: agent });
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toEqual({ method: 'PUT', url: '/v2/a/blobs/uploads/?digest=sha256%3Aab', body: 'bytes' });
    } finally {
      await agent.close();
    }
  });

  it('the redirect interceptor follows a 307; without it the 307 is the answer', async () => {
    const agent = new Agent();
    try {
      const plain = await request(new URL(`${server.url}/moved`), { method: 'GET', dispatcher: agent });
      expect(plain.statusCode).toBe(307);
      await plain.body.dump();
      const following = agent.compose(redirectInterceptor({ maxRedirections: 3 }));
      const res = await request(new URL(`${server.url}/moved`), { method: 'GET', dispatcher: following });
      expect(await res.body.json()).toMatchObject({ method: 'GET', url: '/v2/target?x=1' });
    } finally {
      await agent.close();
    }
  });
});
