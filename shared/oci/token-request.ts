/**
 * Asks a registry's token server for a Bearer token (distribution token spec): GET with the scopes and Basic
 * credentials, or the OAuth2 refresh-token grant (POST) for an identity token from a dockerconfigjson.
 * The client caches what this returns (auth.ts, TokenCache).
 */
import type { Dispatcher } from 'undici';
import type { Credential } from './auth.js';
import { AuthError, errorForResponse } from './errors.js';
import { drain, readLimited, readText } from './registry-response.js';
import { isRetryableStatus, parseRetryAfter, RetryableError, withRetry, type OnRetry, type RetryPolicy } from './retry.js';
import { request } from './undici-core.js';

/** What a token request goes through: the registry client's connection pool, identity and retry policy. */
export interface TokenRequester {
  /** the registry's host[:port], named in errors */
  readonly host: string;
  readonly userAgent: string;
  readonly dispatcher: Dispatcher;
  readonly retryPolicy: RetryPolicy;
  readonly onRetry?: OnRetry | undefined;
}

export interface TokenRequest {
  /** the challenge's realm: the token server's URL */
  realm: string;
  /** the challenge's service ('' when absent) */
  service: string;
  /** repository scopes, e.g. `repository:ns/a:pull,push` */
  scopes: string[];
  credential: Credential | undefined;
  /** the operation that needs the token, named in errors */
  what: string;
}

/** One token for `scopes`; 429/5xx retried, a refusal is an AuthError naming the token server (never the secret). */
export async function requestToken(via: TokenRequester, req: TokenRequest): Promise<{ token: string; expiresIn?: number }> {
  const { realm, service, scopes, credential: cred, what } = req;
  const scope = scopes.join(' ');
  let realmUrl: URL;
  try {
    realmUrl = new URL(realm);
  } catch {
    throw new AuthError(`${what}: token realm "${realm}" is not a URL`);
  }
  const attempt = async (): Promise<Dispatcher.ResponseData> => {
    const headers: Record<string, string> = { 'user-agent': via.userAgent };
    if (cred && 'identityToken' in cred) {
      // OAuth2 refresh-token grant (distribution token spec, "oauth")
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.identityToken, client_id: via.userAgent });
      if (service) form.set('service', service);
      // the OAuth2 form takes space-separated scopes
      if (scope) form.set('scope', scope);
      headers['content-type'] = 'application/x-www-form-urlencoded';
      return request(realmUrl, { method: 'POST', headers, body: form.toString(), dispatcher: via.dispatcher });
    }
    const u = new URL(realmUrl);
    if (service) u.searchParams.set('service', service);
    for (const sc of scopes) u.searchParams.append('scope', sc);
    if (cred && 'username' in cred && 'password' in cred) {
      headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
    }
    return request(u, { method: 'GET', headers, dispatcher: via.dispatcher });
  };
  const res = await withRetry(
    via.retryPolicy,
    async () => {
      const r = await attempt();
      if (isRetryableStatus(r.statusCode)) {
        const text = await readText(r);
        throw new RetryableError(errorForResponse(`${what}: token request`, r.statusCode, text), parseRetryAfter(r.headers['retry-after']));
      }
      return r;
    },
    via.onRetry,
  );
  if (res.statusCode === 401 || res.statusCode === 403) {
    await drain(res);
    throw new AuthError(
      `${what}: the token server ${realmUrl.host} rejected the ${cred ? 'configured credentials' : 'anonymous request'} for ${via.host} (HTTP ${res.statusCode}, scope "${scope}")`,
      { status: res.statusCode },
    );
  }
  if (res.statusCode !== 200) {
    throw errorForResponse(`${what}: token request to ${realmUrl.host}`, res.statusCode, await readText(res));
  }
  const body = JSON.parse((await readLimited(res, 1024 * 1024, 'token response')).toString('utf8')) as {
    token?: string;
    access_token?: string;
    expires_in?: number;
  };
  const token = body.token ?? body.access_token;
  if (!token) throw new AuthError(`${what}: token server ${realmUrl.host} answered without a token`);
  return { token, ...(typeof body.expires_in === 'number' ? { expiresIn: body.expires_in } : {}) };
}
