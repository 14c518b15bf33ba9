import { describe, expect, it } from 'vitest';
import { EgressPolicy, EgressRefusedError, egressIssues, egressRefusal, splitHostPort } from '../../../shared/egress/index.js';
import { egressConfigSchema, egressPolicyFrom } from '../../../shared/config/egress.js';
import { ConfigError, loadConfig } from '../../../shared/config/index.js';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof EgressRefusedError) return err.message;
    throw err;
  }
  return 'allowed';
}

async function refusalOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof EgressRefusedError) return err.message;
    throw err;
  }
  return 'allowed';
}

const strict = new EgressPolicy({
  apiServer: ['https://10.96.0.1:443'],
  internalRegistry: ['https://zot.ocm-knative-registry.svc:5000'],
  // a fixed resolver: these unit tests decide on given answers; tests/integration/egress resolves for real
  lookup: async (host) => {
    if (host.startsWith('kubernetes')) throw Object.assign(new Error(`${host} not found`), { code: 'ENOTFOUND' });
    const answers: Record<string, string[]> = {
      'meta.example': ['169.254.169.254'],
      'mixed.example': ['203.0.113.7', '127.0.0.1'],
      'zot.alias.example': ['10.0.0.5'],
      'zot.ocm-knative-registry.svc': ['10.0.0.5'],
    };
    return answers[host] ?? ['203.0.113.10'];
  },
});

describe('EgressPolicy: hosts', () => {
  it.each([
    ['169.254.169.254', 'a link-local address'],
    ['[fe80::1]', 'a link-local address'],
    ['127.0.0.1', 'a loopback address'],
    ['127.9.9.9', 'a loopback address'],
    ['[::1]', 'a loopback address'],
    ['[::ffff:127.0.0.1]', 'a loopback address'],
    ['[::ffff:a9fe:a9fe]', 'a link-local address'],
    ['0.0.0.0', 'an unspecified address'],
    ['localhost', 'a loopback address'],
    ['registry.localhost', 'a loopback address'],
    ['224.0.0.1', 'a multicast address'],
    ['kubernetes.default.svc', 'the Kubernetes API server'],
    ['KUBERNETES.default.svc.cluster.local.', 'the Kubernetes API server'],
    ['10.96.0.1:443', 'the Kubernetes API server'],
    ['zot.ocm-knative-registry.svc:5000', 'the internal registry'],
  ])('refuses %s (%s) without DNS', (text, why) => {
    const { host, port } = splitHostPort(text);
    expect(refusal(() => strict.checkHost(host, port))).toContain(why);
  });

  it('allows a public registry', () => {
    expect(refusal(() => strict.checkHost('ghcr.io', 443))).toBe('allowed');
  });

  it('refuses a name whose DNS answers include a forbidden address, and names the address', async () => {
    expect(await refusalOf(strict.resolve('meta.example', 80))).toBe('meta.example:80 is not allowed: it resolves to 169.254.169.254, a link-local address (cloud metadata endpoints live here)');
    expect(await refusalOf(strict.resolve('mixed.example', 443))).toContain('it resolves to 127.0.0.1, a loopback address');
  });

  it('refuses another name for the internal registry by its address and port', async () => {
    expect(await refusalOf(strict.resolve('zot.alias.example', 5000))).toContain('it resolves to 10.0.0.5, the internal registry');
    // the same address on another port is some other service
    expect(await strict.resolve('zot.alias.example', 8080)).toBe('10.0.0.5');
  });

  it('returns the checked address to connect to', async () => {
    expect(await strict.resolve('ghcr.io', 443)).toBe('203.0.113.10');
    expect(await strict.resolve('203.0.113.9', 443)).toBe('203.0.113.9');
  });

  it('an allow-list of host patterns refuses every other host', () => {
    const p = new EgressPolicy({ hosts: ['ghcr.io', '*.example.com', 'registry.local:5000'] });
    expect(refusal(() => p.checkHost('ghcr.io', 443))).toBe('allowed');
    expect(refusal(() => p.checkHost('a.b.example.com', 443))).toBe('allowed');
    expect(refusal(() => p.checkHost('example.com', 443))).toContain("not in the operator's allow-list");
    expect(refusal(() => p.checkHost('registry.local', 5000))).toBe('allowed');
    expect(refusal(() => p.checkHost('registry.local', 5001))).toContain("not in the operator's allow-list");
    expect(refusal(() => p.checkHost('evil-ghcr.io', 443))).toContain("not in the operator's allow-list");
  });

  it('a CIDR exemption allows loopback but never the API server or the internal registry on it', async () => {
    const p = new EgressPolicy({ allow: ['127.0.0.0/8'], apiServer: ['https://127.0.0.1:6443'], internalRegistry: ['http://127.0.0.1:5000'] });
    expect(refusal(() => p.checkHost('127.0.0.1', 5001))).toBe('allowed');
    expect(await p.resolve('localhost', 5001)).toMatch(/^(127\.0\.0\.1|::1)$/);
    expect(refusal(() => p.checkHost('127.0.0.1', 6443))).toContain('the Kubernetes API server');
    expect(refusal(() => p.checkHost('127.0.0.1', 5000))).toContain('the internal registry');
    expect(refusal(() => p.checkHost('169.254.169.254', 80))).toContain('link-local');
  });

  it('a host exemption names exactly what it allows', () => {
    const p = new EgressPolicy({ allow: ['zot.ocm-knative-registry.svc:5000'], internalRegistry: ['https://zot.ocm-knative-registry.svc:5000'] });
    expect(refusal(() => p.checkHost('zot.ocm-knative-registry.svc', 5000))).toBe('allowed');
    expect(refusal(() => p.checkHost('127.0.0.1', 5000))).toContain('loopback');
  });

  it('EGRESS_DENY adds ranges', () => {
    const p = new EgressPolicy({ deny: ['10.0.0.0/8'] });
    expect(refusal(() => p.checkHost('10.1.2.3', 443))).toContain('in a denied range (10.0.0.0/8)');
  });

  it('the unrestricted policy (local runner) allows everything', async () => {
    const p = EgressPolicy.unrestricted();
    expect(refusal(() => p.checkHost('169.254.169.254', 80))).toBe('allowed');
    expect(refusal(() => p.checkCtfPath('/var/run/secrets/kubernetes.io/serviceaccount'))).toBe('allowed');
    expect(p.guardsConnections).toBe(false);
  });

  it('finds a refusal in a cause chain', () => {
    const inner = new EgressRefusedError('x', 'y');
    expect(egressRefusal(new Error('outer', { cause: new Error('mid', { cause: inner }) }))).toBe(inner);
    expect(egressRefusal(new Error('plain'))).toBeUndefined();
  });
});

describe('EgressPolicy: CTF paths', () => {
  it('refuses every CTF path by default', () => {
    expect(refusal(() => strict.checkCtfPath('/data/ctf'))).toContain('the operator has set no CTF_ROOT');
  });

  it('with a root, allows paths under it only', () => {
    const p = new EgressPolicy({ ctf: { root: '/data/ctf' } });
    expect(refusal(() => p.checkCtfPath('/data/ctf/a.tgz'))).toBe('allowed');
    expect(refusal(() => p.checkCtfPath('/data/ctf/../../var/run/secrets/token'))).toContain('must be an absolute path under /data/ctf');
    expect(refusal(() => p.checkCtfPath('/data/ctf-other'))).toContain('under /data/ctf');
    expect(refusal(() => p.checkCtfPath('relative/a.tgz'))).toContain('absolute path');
  });
});

describe('egressIssues (admission)', () => {
  it('names the field', () => {
    const repo = { spec: { repositorySpec: { type: 'OCIRegistry', baseUrl: 'http://169.254.169.254/latest' } } };
    expect(egressIssues('OCMRepository', repo, strict)).toEqual([
      { path: 'spec.repositorySpec.baseUrl', message: '169.254.169.254:80 is not allowed: it is a link-local address (cloud metadata endpoints live here)' },
    ]);
    const ctf = { spec: { repositorySpec: { type: 'CommonTransportFormat', filePath: '/var/run/secrets' } } };
    expect(egressIssues('OCMRepository', ctf, strict)[0]?.path).toBe('spec.repositorySpec.filePath');
    const pub = { spec: { source: { kind: 'Resource', name: 'a' }, target: { url: 'oci://zot.ocm-knative-registry.svc:5000/other-tenant/x' } } };
    expect(egressIssues('Publication', pub, strict)).toEqual([
      { path: 'spec.target.url', message: 'zot.ocm-knative-registry.svc:5000 is not allowed: it is the internal registry (snapshots of every tenant)' },
    ]);
    expect(egressIssues('Publication', { spec: { target: { url: 'oci://ghcr.io/acme/x' } } }, strict)).toEqual([]);
  });
});

describe('egress config', () => {
  it('checks every entry at start and builds the strict policy by default', () => {
    const err = (() => {
      try {
        loadConfig(egressConfigSchema, { EGRESS_ALLOW: '127.0.0.0/33', EGRESS_DENY: 'not-a-range', EGRESS_HOSTS: 'a b', CTF_ROOT: 'rel' });
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(err?.issues.map((i) => i.variable).sort()).toEqual(['CTF_ROOT', 'EGRESS_ALLOW', 'EGRESS_DENY', 'EGRESS_HOSTS']);
    const policy = egressPolicyFrom(loadConfig(egressConfigSchema, {}), {});
    expect(policy.ctfAllowed).toBe(false);
    expect(refusal(() => policy.checkHost('127.0.0.1', 80))).toContain('loopback');
  });
});
