/**
 * Credentials per registry host: one connector, two registries (plain HTTP without auth; TLS with a private CA
 * and htpasswd), credentials from a dockerconfigjson document keyed by host. Copies a component version from one
 * to the other and reads it back; a wrong password is an auth failure, not a silent empty result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFromDockerConfig } from '../../../shared/oci/index.js';
import {
  fetchWithReferences,
  openRepository,
  openResourceAccess,
  pushComponentVersion,
  registryConnector,
  verifyComponent,
  type ClosableConnector,
  type ComponentVersionInput,
} from '../../../shared/ocm/index.js';
import { readBounded } from '../../../shared/ocm/streams.js';
import { services, type Services } from '../../infra/services.js';
import { APP, sampleGraph } from '../../fixtures/ocm/sample.js';
import { rsaKeys } from '../../support/components.js';

let svc: Services;
const opened: ClosableConnector[] = [];
const keys = rsaKeys({ privateKeyEncoding: 'pkcs1' });

function connectorWith(password: string): ClosableConnector {
  const tls = svc.registry.tls;
  const dockerConfig = JSON.stringify({
    auths: { [tls.host]: { auth: Buffer.from(`${tls.username}:${password}`).toString('base64') } },
  });
  const c = registryConnector({ credentials: credentialsFromDockerConfig(dockerConfig), caFile: tls.caFile, insecureHosts: [svc.registry.fs.host] });
  opened.push(c);
  return c;
}

beforeAll(() => {
  svc = services();
});
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
});

describe('credentials per registry host', () => {
  it('pushes to the authenticated TLS registry and reads back, verified', async () => {
    const oci = connectorWith(svc.registry.tls.password);
    const g = await sampleGraph({ privateKey: keys.privateKey });
    const tlsBase = `https://${svc.registry.tls.host}/creds`;
    for (const cv of g.cvs) await pushComponentVersion(oci.connect, tlsBase, cv);
    // and the public one, through the same connector (no credentials for that host)
    const plainBase = `http://${svc.registry.fs.host}/creds`;
    for (const cv of g.cvs) await pushComponentVersion(oci.connect, plainBase, cv as ComponentVersionInput);
    for (const base of [tlsBase, plainBase]) {
      const repo = await openRepository({ type: 'OCIRegistry', baseUrl: base }, { oci: oci.connect });
      const set = await fetchWithReferences(repo, { name: APP, version: '1.1.0' });
      const res = await verifyComponent(set, { keys: [{ signature: 'acme', publicKey: keys.publicKey }], access: { repository: repo, oci: oci.connect } });
      expect(res.resourcesChecked).toBe(4);
      const data = set.root.resources.find((r) => r.name === 'data')!;
      const a = await openResourceAccess(set.root, data, { repository: repo });
      if (a.kind !== 'blob') throw new Error('expected blob');
      expect((await readBounded(await a.open(), 1 << 24, 'data')).equals(g.contents.data)).toBe(true);
    }
  });

  it('a wrong password fails loudly', async () => {
    const bad = connectorWith('not-the-password');
    const repo = await openRepository({ type: 'OCIRegistry', baseUrl: `https://${svc.registry.tls.host}/creds` }, { oci: bad.connect });
    await expect(repo.listVersions(APP)).rejects.toThrow(/401|auth|denied|unauthorized/i);
  });
});
