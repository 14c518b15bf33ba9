import { afterAll, describe, expect, it } from 'vitest';
import { AuthError, credentialsFromDockerConfig, defaultRetryPolicy, RegistryClient } from '../../../shared/oci/index.js';
import { requestToken, type TokenRequester } from '../../../shared/oci/token-request.js';
import { Agent } from '../../../shared/oci/undici-core.js';
import { ROBOT, useBearerProxy } from './bearer-proxy.js';
import { repoName } from './helpers.js';

describe('token requests at the token server of a test-local proxy (distribution token flow)', () => {
  const fx = useBearerProxy('token-request');
  const agent = new Agent();
  afterAll(async () => {
    await agent.close();
  });
  const via = (): TokenRequester => ({
    host: new URL(fx.proxy.url).host,
    userAgent: 'ocm-knative-test',
    dispatcher: agent,
    retryPolicy: { ...defaultRetryPolicy, maxAttempts: 1 },
  });

  it('GET with Basic credentials and every scope: a token and its lifetime', async () => {
    const before = fx.proxy.tokenRequests.length;
    const scopes = ['repository:a/b:pull', 'repository:c/d:pull,push'];
    const got = await requestToken(via(), { realm: `${fx.proxy.url}/token`, service: 'test-registry', scopes, credential: ROBOT, what: 'GET x' });
    expect(got.token).toMatch(/^[0-9a-f]{32}$/);
    expect(got.expiresIn).toBe(300);
    expect(fx.proxy.tokenRequests.slice(before)).toEqual([
      { scope: scopes.join(' '), service: 'test-registry', grant: 'basic', basicUser: 'robot' },
    ]);
  });

  it('an identity token: the OAuth2 refresh-token grant (POST), whose access_token is the token', async () => {
    const before = fx.proxy.tokenRequests.length;
    const got = await requestToken(via(), {
      realm: `${fx.proxy.url}/token`,
      service: 'test-registry',
      scopes: ['repository:a/b:pull'],
      credential: { identityToken: fx.proxy.refreshToken },
      what: 'GET x',
    });
    expect(got).toMatchObject({ expiresIn: 300 });
    expect(got.token).toMatch(/^[0-9a-f]{32}$/);
    expect(fx.proxy.tokenRequests.slice(before)).toEqual([{ scope: 'repository:a/b:pull', service: 'test-registry', grant: 'refresh_token' }]);
  });

  it('refusals are AuthErrors in words: a realm that is no URL, an anonymous request the server turns down', async () => {
    const request = { service: 'test-registry', scopes: ['repository:a/b:pull'], credential: undefined, what: 'HEAD manifest a/b:v1' };
    await expect(requestToken(via(), { ...request, realm: 'not a url' })).rejects.toThrow('HEAD manifest a/b:v1: token realm "not a url" is not a URL');
    const err = await requestToken(via(), { ...request, realm: `${fx.proxy.url}/token` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(
      /^HEAD manifest a\/b:v1: the token server 127\.0\.0\.1:\d+ rejected the anonymous request for 127\.0\.0\.1:\d+ \(HTTP 401, scope "repository:a\/b:pull"\)$/,
    );
  });

  it('wrong credentials at the token server => AuthError naming the token server, without the password', async () => {
    const client = new RegistryClient({ url: fx.proxy.url, credentials: { username: 'robot', password: 'nope-pw' } });
    fx.keep(client);
    const err = await client.repository('x/y').manifests.resolve('v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(/token server 127\.0\.0\.1:\d+ rejected the configured credentials/);
    expect((err as Error).message).not.toContain('nope-pw');
  });

  it('dockerconfigjson identitytoken: OAuth2 refresh-token grant (POST) at the token server', async () => {
    const client = new RegistryClient({
      url: fx.proxy.url,
      credentials: credentialsFromDockerConfig({ auths: { [new URL(fx.proxy.url).host]: { identitytoken: fx.proxy.refreshToken } } }),
    });
    fx.keep(client);
    const before = fx.proxy.tokenRequests.length;
    const repo = client.repository(repoName('oauth'));
    expect(await repo.manifests.resolve('v1')).toBeUndefined();
    expect(fx.proxy.tokenRequests.slice(before)).toEqual([
      { scope: `repository:${repo.repository}:pull`, service: 'test-registry', grant: 'refresh_token' },
    ]);
    const bad = new RegistryClient({ url: fx.proxy.url, credentials: { identityToken: 'stale' } });
    fx.keep(bad);
    await expect(bad.repository('x/y').manifests.resolve('v1')).rejects.toBeInstanceOf(AuthError);
  });
});
