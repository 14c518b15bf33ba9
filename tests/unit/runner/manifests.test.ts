import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifests } from '../../../functions/runner/manifests.js';

async function files(contents: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'runner-manifests-'));
  for (const [name, text] of Object.entries(contents)) await writeFile(path.join(dir, name), text);
  return dir;
}

const repo = `apiVersion: serverless.ocm.software/v1alpha1
kind: OCMRepository
metadata: {name: repo}
spec:
  repositorySpec: {type: CommonTransportFormat, filePath: ./ctf}
`;

describe('runner manifests', () => {
  it('reads multi-document files in a directory, applies defaults and resolves CTF paths next to the manifest', async () => {
    const dir = await files({
      'a.yaml': `${repo}---\napiVersion: serverless.ocm.software/v1alpha1\nkind: Component\nmetadata: {name: c, namespace: team}\nspec:\n  repositoryRef: {name: repo}\n  component: ocm.software/x\n  semver: ">=1.0.0"\n---\n`,
      'notes.txt': 'ignored',
    });
    const got = await loadManifests([dir]);
    expect(got.problems).toEqual([]);
    expect(got.objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['OCMRepository/default/repo', 'Component/team/c']);
    const spec = got.objects[0]!.spec as { repositorySpec: { filePath: string } };
    expect(spec.repositorySpec.filePath).toBe(path.join(dir, 'ctf'));
    const comp = got.objects[1]!.spec as { downgradePolicy?: string };
    expect(comp.downgradePolicy).toBe('Deny');
  });

  it('names file, document and field of every invalid object, and reads nothing else as valid', async () => {
    const dir = await files({
      'bad.yaml': `${repo}---\napiVersion: serverless.ocm.software/v1alpha1\nkind: Component\nmetadata: {name: c}\nspec:\n  repositoryRef: {name: repo}\n  component: ocm.software/x\n  semver: "not a range"\n  downgradePolicy: Sometimes\n`,
      'broken.yaml': 'kind: [unclosed\n',
    });
    const got = await loadManifests([path.join(dir, 'bad.yaml'), path.join(dir, 'broken.yaml')]);
    const byPath = got.problems.map((p) => `${path.basename(p.file)}#${p.document} ${p.path}`);
    expect(byPath).toContain('bad.yaml#1 spec.downgradePolicy');
    expect(got.problems.find((p) => p.path === 'spec.downgradePolicy')!.message).toMatch(/Allow|Deny|Enforce/);
    expect(byPath).toContain('broken.yaml#0 ');
    expect(got.problems.find((p) => p.file.endsWith('broken.yaml'))!.message).toMatch(/not valid YAML/);
  });

  it('rejects unknown kinds, duplicates, alias bombs and missing files with a reason', async () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const dir = await files({
      'a.yaml': `${repo}---\n${repo}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n`,
      'bomb.yaml': `${bomb.join('\n')}\n`,
    });
    const got = await loadManifests([path.join(dir, 'a.yaml'), path.join(dir, 'bomb.yaml'), path.join(dir, 'missing.yaml')]);
    const messages = got.problems.map((p) => `${path.basename(p.file)}#${p.document} ${p.path}: ${p.message}`);
    expect(messages.some((m) => /a\.yaml#1 metadata\.name: .*defined twice/.test(m))).toBe(true);
    expect(messages.some((m) => /a\.yaml#2 kind: Unsupported value: "Deployment"/.test(m))).toBe(true);
    expect(messages.some((m) => /bomb\.yaml#0 : not valid YAML: .*alias/i.test(m))).toBe(true);
    expect(messages.some((m) => /missing\.yaml#0 : no such file/.test(m))).toBe(true);
  });

  it('keeps Secrets in memory, decoded', async () => {
    const dir = await files({
      's.yaml': 'apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\ndata: {a: aGVsbG8=}\nstringData: {b: world}\n',
    });
    const got = await loadManifests([dir]);
    expect(got.secrets).toEqual([{ namespace: 'default', name: 'creds', data: { a: Buffer.from('hello'), b: Buffer.from('world') } }]);
  });
});
