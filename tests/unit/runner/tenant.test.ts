import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { main } from '../../../functions/runner/cli.js';
import { addTenant, PULL_SECRET } from '../../../functions/runner/tenant.js';

const REPO = join(import.meta.dirname, '../../..');

async function scratch(): Promise<{ config: string; htpasswd: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ocmk-tenant-'));
  const config = join(dir, 'config.json');
  await writeFile(config, await readFile(join(REPO, 'registry/config.json'), 'utf8'));
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, 'ocm-knative:$2y$05$x\nmetrics:$2y$05$y\n');
  return { config, htpasswd };
}

interface Repos {
  http: { accessControl: { repositories: Record<string, { policies: { users: string[]; actions: string[] }[]; defaultPolicy: string[] }> } };
}

describe('ocm-knative tenant add', () => {
  it("gives the namespace a read-only user scoped to its own repositories, and returns the only copy of the password in the tenant's Secret", async () => {
    const f = await scratch();
    const added = await addTenant({ namespace: 'team-a', zotConfig: f.config, htpasswd: f.htpasswd, registryHost: 'zot.ocm-knative-registry.svc:5000' });
    const cfg = JSON.parse(await readFile(f.config, 'utf8')) as Repos;
    expect(cfg.http.accessControl.repositories['team-a/**']).toEqual({
      policies: [
        { users: ['ocm-knative'], actions: ['read', 'create', 'update', 'delete'] },
        { users: ['tenant-team-a'], actions: ['read'] },
      ],
      defaultPolicy: [],
    });
    // nobody but the functions reads everything
    expect(cfg.http.accessControl.repositories['**']!.policies.flatMap((p) => p.users)).toEqual(['ocm-knative']);
    const lines = (await readFile(f.htpasswd, 'utf8')).trim().split('\n');
    expect(lines.map((l) => l.split(':')[0])).toEqual(['ocm-knative', 'metrics', 'tenant-team-a']);
    expect(await bcrypt.compare(added.password, lines[2]!.split(':')[1]!)).toBe(true);
    const secret = parse(added.secretYaml) as { metadata: { name: string; namespace: string }; type: string; stringData: Record<string, string> };
    expect(secret.metadata).toMatchObject({ name: PULL_SECRET, namespace: 'team-a' });
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    const auths = (JSON.parse(secret.stringData['.dockerconfigjson']!) as { auths: Record<string, { username: string; password: string }> }).auths;
    expect(auths['zot.ocm-knative-registry.svc:5000']).toMatchObject({ username: 'tenant-team-a', password: added.password });
    expect(await readFile(f.config, 'utf8')).not.toContain(added.password);

    // again: a new password replaces the old one, nothing is duplicated
    const again = await addTenant({ namespace: 'team-a', zotConfig: f.config, htpasswd: f.htpasswd, registryHost: 'zot.ocm-knative-registry.svc:5000' });
    const lines2 = (await readFile(f.htpasswd, 'utf8')).trim().split('\n');
    expect(lines2.filter((l) => l.startsWith('tenant-team-a:'))).toHaveLength(1);
    expect(again.password).not.toBe(added.password);
  });

  it('refuses a bad namespace or host, and the CLI says what is missing (exit 2)', async () => {
    const f = await scratch();
    await expect(addTenant({ namespace: 'Team_A', zotConfig: f.config, htpasswd: f.htpasswd, registryHost: 'zot:5000' })).rejects.toThrow('is not a namespace name');
    await expect(addTenant({ namespace: 'a', zotConfig: f.config, htpasswd: f.htpasswd, registryHost: 'https://zot:5000' })).rejects.toThrow('--registry-host must be host[:port]');
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (stderr.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      expect(await main(['tenant', 'add', 'team-a', '--zot-config', f.config])).toBe(2);
      expect(await main(['tenant', 'remove', 'team-a'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(stderr.join('')).toContain('--htpasswd, --registry-host required');
    expect(stderr.join('')).toContain('unknown tenant command "remove"');
  });
});
