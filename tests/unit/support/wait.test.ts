/** The tests' polling helper: it returns what the check found, and a timeout says what it waited for and why. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { answersOk, waitFor } from '../../support/wait.js';

describe('waitFor', () => {
  it('returns the first value that is neither undefined nor false', async () => {
    let n = 0;
    expect(await waitFor('the third call', () => (++n === 3 ? { n } : n === 1 ? false : undefined), { everyMs: 1 })).toEqual({ n: 3 });
  });

  it('a timeout names what it waited for, the last error of the check and the explanation', async () => {
    const waiting = waitFor('the moon', () => Promise.reject(new Error('not yet risen')), { timeoutMs: 30, everyMs: 5, explain: () => 'sky: cloudy' });
    await expect(waiting).rejects.toThrow('timed out after 30 ms waiting for the moon: Error: not yet risen; sky: cloudy');
  });

  it('gives up at once when giveUp says why', async () => {
    let checks = 0;
    const waiting = waitFor('a process', () => void checks++, { timeoutMs: 60_000, giveUp: () => (checks >= 2 ? 'it exited with 1' : undefined) });
    await expect(waiting).rejects.toThrow('gave up waiting for a process: it exited with 1');
    expect(checks).toBe(2);
  });
});

describe('answersOk', () => {
  it('is true for a 200, false for another status and for nothing listening', async () => {
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? 200 : 503;
      res.end();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await answersOk(`${base}/healthz`)).toBe(true);
      expect(await answersOk(`${base}/readyz`)).toBe(false);
    } finally {
      await new Promise((ok) => server.close(ok));
    }
    expect(await answersOk(`${base}/healthz`)).toBe(false);
  });
});
