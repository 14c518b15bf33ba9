import { InvalidArgumentError } from './errors.js';

/** A parsed WWW-Authenticate challenge. Scheme is lower-cased; parameter names too. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate header (RFC 7235): one or more challenges, each `scheme` followed by
 * comma-separated auth-params (`k=v` or `k="quoted, with commas"`) or a token68.
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const s = header;
  const skipWs = (): void => {
    while (i < s.length && /[\s,]/.test(s[i] ?? '')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < s.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(s[i] ?? '')) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    skipWs();
    const scheme = readToken();
    if (!scheme) {
      i++;
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    // params until the next scheme (a token followed by whitespace and not by '=')
    for (;;) {
      while (i < s.length && /[\s,]/.test(s[i] ?? '')) i++;
      const save = i;
      const name = readToken();
      if (!name) break;
      let j = i;
      while (j < s.length && s[j] === ' ') j++;
      if (s[j] !== '=') {
        i = save; // next challenge's scheme
        break;
      }
      i = j + 1;
      while (i < s.length && s[i] === ' ') i++;
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++; // closing quote
      } else {
        const start = i;
        while (i < s.length && s[i] !== ',' && s[i] !== ' ') i++;
        value = s.slice(start, i);
        // token68 padding like "abc==" ends up here as well
      }
      challenge.params[name.toLowerCase()] = value;
    }
  }
  return challenges;
}

/** Credentials for one registry host. */
export type Credential =
  | { username: string; password: string }
  /** an OAuth2 refresh token (dockerconfigjson `identitytoken`) used with the token endpoint */
  | { identityToken: string; username?: string }
  /** a registry token used as Bearer as-is (dockerconfigjson `registrytoken`) */
  | { registryToken: string };

/** Looks up credentials for a registry host (`host[:port]`). */
export type CredentialProvider = (host: string) => Credential | undefined | Promise<Credential | undefined>;

interface DockerConfigAuth {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** Normalises a dockerconfig key ("https://host:5000/v1/", "host:5000") to "host:5000". */
export function normaliseRegistryHost(key: string): string {
  let k = key.trim().replace(/^[a-z]+:\/\//i, '');
  k = k.split('/')[0] ?? k;
  if (k === 'index.docker.io' || k === 'registry-1.docker.io') return 'docker.io';
  return k.toLowerCase();
}

/**
 * Parses a `.dockerconfigjson` (or legacy `.dockercfg`) document into a provider looking up credentials by host.
 * Never includes secrets in error messages.
 */
export function credentialsFromDockerConfig(json: string | Buffer | object): CredentialProvider {
  let doc: unknown;
  try {
    doc = typeof json === 'object' && !Buffer.isBuffer(json) ? json : JSON.parse(json.toString());
  } catch {
    throw new InvalidArgumentError('dockerconfigjson: not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null) throw new InvalidArgumentError('dockerconfigjson: not a JSON object');
  const root = doc as Record<string, unknown>;
  const auths = (typeof root.auths === 'object' && root.auths !== null ? root.auths : root) as Record<string, unknown>;
  const table = new Map<string, Credential>();
  for (const [key, raw] of Object.entries(auths)) {
    if (typeof raw !== 'object' || raw === null) continue;
    const entry = raw as DockerConfigAuth;
    let cred: Credential | undefined;
    if (entry.registrytoken) cred = { registryToken: entry.registrytoken };
    else if (entry.identitytoken) {
      cred = { identityToken: entry.identitytoken, ...(entry.username ? { username: entry.username } : {}) };
    } else if (entry.username !== undefined && entry.password !== undefined) {
      cred = { username: entry.username, password: entry.password };
    } else if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new InvalidArgumentError(`dockerconfigjson: "auth" of "${key}" is not base64("user:password")`);
      cred = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (cred) table.set(normaliseRegistryHost(key), cred);
  }
  return (host) => table.get(normaliseRegistryHost(host));
}

/** Scope string for a repository (distribution token spec). */
export function repositoryScope(repository: string, actions: readonly string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Bearer tokens cached per (realm, service, scope); expired entries are dropped on read. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  constructor(private readonly now: () => number = Date.now) {}
  private key(realm: string, service: string, scope: string): string {
    return `${realm}\u0000${service}\u0000${scope}`;
  }
  get(realm: string, service: string, scope: string): string | undefined {
    const k = this.key(realm, service, scope);
    const entry = this.tokens.get(k);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.tokens.delete(k);
      return undefined;
    }
    return entry.token;
  }
  /** Tokens are kept 10 s less than their lifetime (default 60 s, the spec's minimum). */
  set(realm: string, service: string, scope: string, token: string, expiresInSec?: number): void {
    const life = Math.max(1, (expiresInSec ?? 60) - 10) * 1000;
    this.tokens.set(this.key(realm, service, scope), { token, expiresAt: this.now() + life });
  }
  delete(realm: string, service: string, scope: string): void {
    this.tokens.delete(this.key(realm, service, scope));
  }
}
