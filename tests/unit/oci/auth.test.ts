import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { credentialsFromDockerConfig, parseWwwAuthenticate, TokenCache } from '../../../shared/oci/index.js';

describe('parseWwwAuthenticate', () => {
  it('parses a distribution Bearer challenge with quoted params containing commas and colons', () => {
    const [c] = parseWwwAuthenticate(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"',
    );
    expect(c).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push' },
    });
  });

  it('parses Basic with realm and several challenges in one header', () => {
    const cs = parseWwwAuthenticate('Basic realm="regprobe", Bearer realm="https://t/x",service=s');
    expect(cs.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(cs[0]?.params.realm).toBe('regprobe');
    expect(cs[1]?.params).toEqual({ realm: 'https://t/x', service: 's' });
  });

  it('handles escaped quotes and unquoted values', () => {
    const [c] = parseWwwAuthenticate('Bearer realm="a\\"b", error=invalid_token');
    expect(c?.params).toEqual({ realm: 'a"b', error: 'invalid_token' });
  });

  it('never throws and round-trips any quoted param value', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        parseWwwAuthenticate(s);
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'abc ,:/=;-_.'.split('')) }), (v) => {
        const header = `Bearer realm="${v}",service="svc"`;
        const [c] = parseWwwAuthenticate(header);
        expect(c?.params.realm).toBe(v);
        expect(c?.params.service).toBe('svc');
      }),
    );
  });
});

describe('credentialsFromDockerConfig', () => {
  const auth = Buffer.from('alice:s3cr:et').toString('base64');
  const provider = credentialsFromDockerConfig({
    auths: {
      'https://reg.example.com:5000/v1/': { auth },
      'other.example': { username: 'bob', password: 'pw' },
      'tok.example': { identitytoken: 'refresh-me' },
    },
  });

  it('looks credentials up by host, normalising scheme and path, splitting auth at the first colon', async () => {
    expect(await provider('reg.example.com:5000')).toEqual({ username: 'alice', password: 's3cr:et' });
    expect(await provider('OTHER.example')).toEqual({ username: 'bob', password: 'pw' });
    expect(await provider('tok.example')).toEqual({ identityToken: 'refresh-me' });
    expect(await provider('unknown:1')).toBeUndefined();
  });

  it('rejects invalid JSON with a clear error that does not echo the content', () => {
    expect(() => credentialsFromDockerConfig('{"auths": {"x": {"auth": "secret')).toThrow(/not valid JSON/);
    try {
      credentialsFromDockerConfig('{"auths":{"h":{"auth":"bm9jb2xvbg=="}}}');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/"auth" of "h"/);
      expect((err as Error).message).not.toContain('nocolon');
    }
  });
});

describe('TokenCache', () => {
  it('caches per scope and expires tokens 10 s before their lifetime', () => {
    let now = 1_000_000;
    const cache = new TokenCache(() => now);
    cache.set('r', 's', 'repository:a:pull', 'T1', 60);
    cache.set('r', 's', 'repository:b:pull', 'T2');
    expect(cache.get('r', 's', 'repository:a:pull')).toBe('T1');
    expect(cache.get('r', 's', 'repository:a:pull,push')).toBeUndefined();
    now += 49_000;
    expect(cache.get('r', 's', 'repository:a:pull')).toBe('T1');
    now += 2_000;
    expect(cache.get('r', 's', 'repository:a:pull')).toBeUndefined();
    cache.delete('r', 's', 'repository:b:pull');
    expect(cache.get('r', 's', 'repository:b:pull')).toBeUndefined();
  });
});
