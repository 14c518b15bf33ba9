/**
 * `ocm-knative tenant add NAMESPACE`: a read-only registry identity for one tenant namespace. zot's access
 * control gives user `tenant-<namespace>` read on `<namespace>/**` only (the longest matching pattern wins in
 * zot, so the entry repeats the push identity's grants from `**`), its bcrypt hash goes into the htpasswd file,
 * and the tenant's pull Secret (the only place the password is written) is returned for the tenant namespace.
 * Idempotent: adding a tenant again replaces its password.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import { stringify } from 'yaml';

export const PULL_SECRET = 'ocm-knative-registry-pull';

export interface TenantAddOptions {
  namespace: string;
  /** zot's config.json (registry/config.json), edited in place */
  zotConfig: string;
  /** zot's htpasswd file, edited in place (created when missing) */
  htpasswd: string;
  /** host[:port] Flux uses for the registry (REGISTRY_PUBLIC_HOST of the functions) */
  registryHost: string;
  /** default: 32 random bytes, base64url */
  password?: string;
}

export interface TenantAdded {
  user: string;
  password: string;
  /** the tenant's Secret (kubernetes.io/dockerconfigjson) as YAML, to apply in the namespace */
  secretYaml: string;
}

interface AccessPolicy {
  users?: string[];
  groups?: string[];
  actions?: string[];
}
interface RepoPolicy {
  policies?: AccessPolicy[];
  defaultPolicy?: string[];
  anonymousPolicy?: string[];
}
interface ZotConfigAccess {
  http?: { accessControl?: { repositories?: Record<string, RepoPolicy> } };
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function tenantUser(namespace: string): string {
  return `tenant-${namespace}`;
}

/** The zot config with the tenant's repository entry; throws when the config has no `**` entry to start from. */
export function withTenant<C extends object>(config: C, namespace: string): C {
  const repos = (config as ZotConfigAccess).http?.accessControl?.repositories;
  const all = repos?.['**'];
  if (!repos || !all) throw new Error('the zot config has no http.accessControl.repositories["**"] entry (the push identity)');
  // only write grants are carried over: a reader of every repository must not read this tenant's too
  const writers = (all.policies ?? []).filter((p) => (p.actions ?? []).some((a) => a !== 'read'));
  const next = structuredClone(config);
  (next as ZotConfigAccess).http!.accessControl!.repositories![`${namespace}/**`] = {
    policies: [...structuredClone(writers), { users: [tenantUser(namespace)], actions: ['read'] }],
    defaultPolicy: [],
  };
  return next;
}

/** htpasswd text with `user`'s line replaced (or added). */
export function withUser(htpasswd: string, user: string, hash: string): string {
  const lines = htpasswd.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(`${user}:`));
  return `${[...lines, `${user}:${hash}`].join('\n')}\n`;
}

export function pullSecret(namespace: string, registryHost: string, user: string, password: string): string {
  const auth = Buffer.from(`${user}:${password}`).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: PULL_SECRET, namespace, labels: { 'app.kubernetes.io/part-of': 'ocm-knative' } },
    type: 'kubernetes.io/dockerconfigjson',
    stringData: { '.dockerconfigjson': JSON.stringify({ auths: { [registryHost]: { username: user, password, auth } } }) },
  });
}

export async function addTenant(opts: TenantAddOptions): Promise<TenantAdded> {
  if (!NAMESPACE.test(opts.namespace)) throw new Error(`"${opts.namespace}" is not a namespace name (lowercase letters, digits and -, at most 63)`);
  if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(opts.registryHost)) throw new Error(`--registry-host must be host[:port], not "${opts.registryHost}"`);
  const user = tenantUser(opts.namespace);
  const password = opts.password ?? randomBytes(32).toString('base64url');
  let config: ZotConfigAccess;
  try {
    config = JSON.parse(await readFile(opts.zotConfig, 'utf8')) as ZotConfigAccess;
  } catch (err) {
    throw new Error(`cannot read the zot config ${opts.zotConfig}: ${(err as Error).message}`);
  }
  const htpasswd = await readFile(opts.htpasswd, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  const hash = await bcrypt.hash(password, 10);
  await writeFile(opts.zotConfig, `${JSON.stringify(withTenant(config, opts.namespace), null, 2)}\n`);
  await writeFile(opts.htpasswd, withUser(htpasswd, user, hash), { mode: 0o600 });
  return { user, password, secretYaml: pullSecret(opts.namespace, opts.registryHost, user, password) };
}
