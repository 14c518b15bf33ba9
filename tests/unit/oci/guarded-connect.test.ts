import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPort, guardedConnector, type ConnectGuard } from '../../../shared/oci/guarded-connect.js';
import { Agent, redirectInterceptor, request } from '../../../shared/oci/undici-core.js';
import { startServer, type TestServer } from './http-server.js';

// names that do not resolve: only the guard's answer can make them reachable
const ALLOWED = 'allowed.invalid';
const FORBIDDEN = 'forbidden.invalid';

let server: TestServer;
beforeAll(async () => {
  server = await startServer((req, res) => {
    if (req.url === '/away') {
      res.writeHead(307, { location: `http://${FORBIDDEN}:${server.port}/v2/` });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`hello ${req.headers.host ?? ''}`);
  });
});
afterAll(async () => {
  await server.close();
});

/** Lets `ALLOWED` through to the test server's address and refuses everything else; records what it was asked. */
function recordingGuard(): ConnectGuard & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    resolve: async (host, port) => {
      asked.push(`${host}:${port}`);
      if (host === ALLOWED) return '127.0.0.1';
      throw new Error(`${host} is not an allowed destination`);
    },
  };
}

describe('guardedConnector', () => {
  it('connects to the address the guard returned, keeping the name the request used', async () => {
    const guard = recordingGuard();
    const agent = new Agent({ connect: guardedConnector(guard, {}) });
    try {
      const res = await request(new URL(`http://${ALLOWED}:${server.port}/v2/`), { method: 'GET', dispatcher: agent });
      expect(await res.body.text()).toBe(`hello ${ALLOWED}:${server.port}`);
      expect(guard.asked).toEqual([`${ALLOWED}:${server.port}`]);
    } finally {
      await agent.close();
    }
  });

  it('fails the request with the guard\'s refusal, and nothing connects', async () => {
    const guard = recordingGuard();
    const agent = new Agent({ connect: guardedConnector(guard, {}) });
    const seen = server.requests.length;
    try {
      await expect(request(new URL(`http://${FORBIDDEN}:${server.port}/v2/`), { method: 'GET', dispatcher: agent })).rejects.toThrow(
        `${FORBIDDEN} is not an allowed destination`,
      );
      expect(server.requests.length).toBe(seen);
    } finally {
      await agent.close();
    }
  });

  it('asks again for the host of a redirect, which it refuses', async () => {
    const guard = recordingGuard();
    const agent = new Agent({ connect: guardedConnector(guard, {}) });
    try {
      const following = agent.compose(redirectInterceptor({ maxRedirections: 3 }));
      await expect(request(new URL(`http://${ALLOWED}:${server.port}/away`), { method: 'GET', dispatcher: following })).rejects.toThrow(
        /not an allowed destination/,
      );
      expect(guard.asked).toEqual([`${ALLOWED}:${server.port}`, `${FORBIDDEN}:${server.port}`]);
    } finally {
      await agent.close();
    }
  });

  it('asks for port 80 or 443 when the URL names none', () => {
    expect(defaultPort('http:')).toBe(80);
    expect(defaultPort('https:')).toBe(443);
  });
});
