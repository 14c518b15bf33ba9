/**
 * The egress policy where connections are made: the stages' real adapters (OCM source, artifact store) and the
 * OCI client, configured with a policy, against the real docker-registry and real loopback listeners that record
 * every connection. Each forbidden location is refused with its reason in words and the listener standing in for
 * it sees no connection; redirects from an allowed host to a forbidden one are refused the same way.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { lookup } from 'node:dns/promises';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactStoreAdapter } from '../../../functions/adapters/artifact-store.js';
import { ocmSourceAdapter } from '../../../functions/adapters/ocm-source.js';
import { EgressPolicy } from '../../../shared/egress/index.js';
import { RegistryClient } from '../../../shared/oci/index.js';
import { writeCtfDirectory } from '../../../shared/ocm/ctf-write.js';
import type { ComponentDescriptor } from '../../../shared/ocm/index.js';
import { ObjectFailure, type RepositoryAccess } from '../../../shared/ports/index.js';
import { LayoutStore } from '../../../shared/snapshot/index.js';
import { services } from '../../infra/services.js';

/** A TCP listener on loopback that counts connections (and closes them): stands in for a forbidden place. */
interface Recorder {
  host: string;
  url: string;
  connections(): number;
  close(): Promise<void>;
}

async function recorder(): Promise<Recorder> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    n++;
    sockets.add(s);
    s.destroy();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: `http://${host}`,
    connections: () => n,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** An HTTP server that answers every request with a 307 to `target` + the same path, counting requests. */
async function redirector(target: () => string): Promise<{ host: string; url: string; requests(): number; close(): Promise<void> }> {
  let n = 0;
  const server: HttpServer = createHttpServer((req, res) => {
    n++;
    res.writeHead(307, { location: `${target()}${req.url ?? '/'}`, 'content-length': '0' }).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, url: `http://${host}`, requests: () => n, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

async function failure(p: Promise<unknown>): Promise<ObjectFailure> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ObjectFailure) return err;
    throw err;
  }
  throw new Error('was allowed');
}

async function refusal(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('was allowed');
}

const oci = (baseUrl: string): RepositoryAccess => ({ spec: { type: 'OCIRegistry', baseUrl } });
const ctf = (filePath: string): RepositoryAccess => ({ spec: { type: 'CommonTransportFormat', filePath } });
const versionOf = (repo: RepositoryAccess) => ({ repo, component: 'acme.org/app', semver: '*', downgradePolicy: 'Allow' as const });

function descriptor(helmRepository: string): ComponentDescriptor {
  return {
    schemaVersion: 'v2',
    name: 'acme.org/app',
    version: '1.0.0',
    provider: { name: 'acme' },
    repositoryContexts: [],
    sources: [],
    references: [],
    signatures: [],
    resources: [
      { name: 'chart', version: '1.0.0', type: 'helmChart', relation: 'external', access: { type: 'helm', helmRepository, helmChart: 'app:1.0.0' } },
    ],
  } as ComponentDescriptor;
}

describe('egress policy at connect time (real registry, recording listeners)', () => {
  let forbidden: Recorder;
  let apiServer: Recorder;
  let internal: Recorder;
  let redirect: Awaited<ReturnType<typeof redirector>>;
  let root: string;
  let outside: string;
  let policy: EgressPolicy;

  beforeAll(async () => {
    const s = services();
    [forbidden, apiServer, internal] = await Promise.all([recorder(), recorder(), recorder()]);
    redirect = await redirector(() => forbidden.url);
    root = await mkdtemp(join(s.workDir, 'egress-ctf-'));
    outside = await mkdtemp(join(s.workDir, 'egress-outside-'));
    // strict except what an operator named: the real source registry and the redirecting host
    policy = new EgressPolicy({
      ctf: { root },
      allow: [s.registry.fs.host, redirect.host],
      apiServer: [s.kube.server],
      internalRegistry: [s.registry.s3.url],
    });
  });

  afterAll(async () => {
    await Promise.all([forbidden?.close(), apiServer?.close(), internal?.close(), redirect?.close()]);
  });

  it('refuses loopback, a name resolving to loopback, link-local, the API server and the internal registry as OCMRepository; nothing connects', async () => {
    const s = services();
    const ocm = ocmSourceAdapter({ egress: policy });
    // a name the system resolver answers with 127.0.0.1 (/etc/hosts): only the DNS answer shows it is loopback
    const name = (await lookup(hostname())).address.startsWith('127.') ? hostname() : 'localhost';
    const port = forbidden.host.split(':')[1];
    const cases: [string, string][] = [
      [forbidden.url, 'is not allowed: it is a loopback address'],
      [`http://${name}:${port}`, name === 'localhost' ? 'a loopback address' : 'it resolves to 127.0.0.1, a loopback address'],
      ['http://169.254.169.254/latest', 'it is a link-local address (cloud metadata endpoints live here)'],
      [s.kube.server, 'it is the Kubernetes API server'],
      [s.registry.s3.url, 'it is the internal registry'],
    ];
    for (const [baseUrl, why] of cases) {
      const err = await failure(ocm.resolveVersion(versionOf(oci(baseUrl))));
      expect(err.reason, baseUrl).toBe('SourceNotAllowed');
      expect(err.message, baseUrl).toContain(why);
    }
    expect(forbidden.connections()).toBe(0);
  });

  it('the API server and the internal registry are refused by address and port even with loopback exempted; nothing connects', async () => {
    const p = new EgressPolicy({ allow: ['127.0.0.0/8'], apiServer: [apiServer.url], internalRegistry: [internal.url] });
    const ocm = ocmSourceAdapter({ egress: p });
    expect((await failure(ocm.resolveVersion(versionOf(oci(apiServer.url))))).message).toContain('the Kubernetes API server');
    expect((await failure(ocm.resolveVersion(versionOf(oci(internal.url))))).message).toContain('the internal registry');
    // another name for the same address and port: caught on the resolved address
    const port = internal.host.split(':')[1];
    expect((await failure(ocm.resolveVersion(versionOf(oci(`http://localhost:${port}`))))).message).toContain('the internal registry');
    expect(apiServer.connections() + internal.connections()).toBe(0);
    // loopback itself is exempted here: a registry on it is reached (the recorder closes the connection)
    const reached = await refusal(ocm.resolveVersion(versionOf(oci(forbidden.url))));
    expect(reached).not.toHaveProperty('reason', 'SourceNotAllowed');
    expect(forbidden.connections()).toBeGreaterThan(0);
  });

  it('refuses an ociArtifact image reference (copyIn) and a Publication target (copyOut); nothing connects', async () => {
    const before = forbidden.connections();
    const dir = await mkdtemp(join(services().workDir, 'egress-store-'));
    const layout = new LayoutStore(dir);
    const store = artifactStoreAdapter(layout, { egress: policy, insecureHosts: [forbidden.host] });
    try {
      const copyIn = await failure(store.copyIn({ source: `${forbidden.host}/acme/image:1.0`, repository: 'ns/resource/img', tag: '1.0' }));
      expect(copyIn.reason).toBe('SourceNotAllowed');
      expect(copyIn.message).toContain(`${forbidden.host} is not allowed: it is a loopback address`);
      const file = join(dir, 'content.txt');
      await writeFile(file, 'hello');
      const pushed = await layout.pushArtifact('ns/resource/a', { content: { path: file }, mediaType: 'text/plain', name: 'content.txt', kind: 'archive' }, { tag: 'v1' });
      const copyOut = await failure(
        store.copyOut({ repository: 'ns/resource/a', digest: pushed.manifest.digest, target: `oci://${forbidden.host}/acme/out`, tag: 'v1', insecure: true }),
      );
      expect(copyOut.reason).toBe('TargetNotAllowed');
      expect(copyOut.message).toContain('a loopback address');
      const internalTarget = await failure(
        store.copyOut({ repository: 'ns/resource/a', digest: pushed.manifest.digest, target: `oci://${services().registry.s3.host}/tenant-b/x`, tag: 'v1', insecure: true }),
      );
      expect(internalTarget.message).toContain('the internal registry');
    } finally {
      await store.close();
    }
    expect(forbidden.connections()).toBe(before);
  });

  it('follows a Helm repository redirect only to allowed hosts: the redirect to a forbidden one is refused', async () => {
    const before = forbidden.connections();
    const dir = join(root, 'helm');
    await mkdir(dir);
    await writeCtfDirectory(dir, [{ descriptor: descriptor(`${redirect.url}/charts`) }]);
    const ocm = ocmSourceAdapter({ egress: policy });
    const set = await ocm.fetchComponentSet({ repo: ctf(dir), component: 'acme.org/app', version: '1.0.0', verify: [] });
    const resolved = ocm.resolveResource({ setYaml: set.yaml, identity: { name: 'chart' } });
    const err = await failure(ocm.fetchResource({ repo: ctf(dir), resolved, skipVerify: false }));
    expect(err.reason).toBe('SourceNotAllowed');
    expect(err.message).toContain(`${forbidden.host} is not allowed: it is a loopback address`);
    expect(redirect.requests()).toBeGreaterThan(0); // the allowed host was asked
    expect(forbidden.connections()).toBe(before); // the forbidden one never
  });

  it('refuses a registry redirect of a blob download to a forbidden host, on the undici path and on the raw-socket path', async () => {
    const before = forbidden.connections();
    const client = new RegistryClient({ url: redirect.url, guard: policy, retry: { maxAttempts: 1 } });
    const digest = `sha256:${'a'.repeat(64)}`;
    try {
      const small = await refusal(client.repository('acme/app').blobs.fetch({ digest, size: 10 }));
      expect(String(small.message) + String((small.cause as Error | undefined)?.message)).toContain('is not allowed: it is a loopback address');
      const big = await refusal(client.repository('acme/app').blobs.fetchToFile({ digest, size: 64 * 1024 ** 2 }, join(outside, 'blob')));
      expect(String(big.message) + String((big.cause as Error | undefined)?.message)).toContain('is not allowed: it is a loopback address');
    } finally {
      await client.close();
    }
    expect(forbidden.connections()).toBe(before);
  });

  it('reads an allowed registry and a CTF under CTF_ROOT; refuses CTF paths without a root, outside it, or leading out by a link', async () => {
    const s = services();
    const ocm = ocmSourceAdapter({ egress: policy, insecureHosts: [s.registry.fs.host] });
    // an operator-allowed registry is reached (no components there: an empty version list is its answer)
    const err = await failure(ocm.resolveVersion(versionOf(oci(`${s.registry.fs.url}/egress-empty`))));
    expect(err.reason).not.toBe('SourceNotAllowed');
    const dir = join(root, 'ok');
    await mkdir(dir);
    await writeCtfDirectory(dir, [{ descriptor: descriptor('https://charts.example.com') }]);
    expect(await ocm.resolveVersion(versionOf(ctf(dir)))).toBe('1.0.0');

    const strict = ocmSourceAdapter({ egress: new EgressPolicy({}) });
    expect((await failure(strict.checkRepository(ctf(dir)))).message).toContain('the operator has set no CTF_ROOT');
    const other = join(outside, 'ctf');
    await mkdir(other);
    await writeCtfDirectory(other, [{ descriptor: descriptor('https://charts.example.com') }]);
    expect((await failure(ocm.checkRepository(ctf(other)))).message).toContain(`it must be an absolute path under ${root}`);
    await symlink(other, join(root, 'link'));
    const linked = await failure(ocm.resolveVersion(versionOf(ctf(join(root, 'link')))));
    expect(linked.reason).toBe('SourceNotAllowed');
    expect(linked.message).toContain(`it leads to ${other}, outside ${root}`);
  });
});
