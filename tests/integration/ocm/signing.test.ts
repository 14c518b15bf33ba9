/**
 * RSA signatures with an X.509 chain as the real OCM CLI makes them, verified by our code (shared/ocm/signing.ts
 * and the descriptor stage), offline.
 *
 * The OCM CLI (services().bin.ocm, v0.48.0) makes the whole PKI (`ocm create rsakeypair --ca`: a root CA, an
 * intermediate CA, a code-signing certificate) and signs a component version in a CTF with the certificate chain
 * (`ocm sign componentversions --public-key <chain> --ca-cert <root>`), which writes an
 * `application/x-pem-file` signature whose `issuer` is the signer's DN. We verify it against the root CA with
 * and without an expected issuer, refuse another CA and another issuer, and refuse tampered copies, which the CLI
 * itself (`ocm verify componentversions`) refuses too.
 *
 * The CLI's sigstore signer needs the online Fulcio and Rekor, so sigstore signatures are checked through OCM's
 * own upstream test data and signatures made in its format (tests/unit/ocm/sigstore.test.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateError,
  DigestMismatchError,
  fetchWithReferences,
  openRepository,
  SignatureInvalidError,
  verifyComponent,
  writeCtfDirectory,
  type ComponentDescriptor,
  type DescriptorSet,
  type VerificationKey,
} from '../../../shared/ocm/index.js';
import { services } from '../../infra/services.js';
import { ready } from '../../support/ready.js';
import { harness, NS } from '../../support/stage-harness.js';

const run = promisify(execFile);
const COMPONENT = 'acme.org/signed';
/** OCM expects the signing certificate's CN to be the signature name unless told otherwise */
const SIGNATURE = 'acme-signer';
const DATA = 'signed data\n';

let work: string;
let ocm: (args: string[]) => Promise<string>;
let ctf: string;
let rootCa: string;

async function readSigned(path = ctf): Promise<DescriptorSet> {
  const repo = await openRepository({ type: 'CommonTransportFormat', filePath: path });
  try {
    return await fetchWithReferences(repo, { name: COMPONENT, version: '1.0.0' });
  } finally {
    await repo.close();
  }
}

const check = async (keys: VerificationKey[], set?: DescriptorSet) => verifyComponent(set ?? (await readSigned()), { keys, skipResourceDigests: true });

/**
 * A consistent CTF (written by our CTF writer, which the OCM CLI reads too) holding the CLI-signed component version
 * after `change`: every blob matches its name, so only the signature can tell.
 */
async function tamperedCopy(name: string, change: (cd: ComponentDescriptor) => void): Promise<string> {
  const cd = structuredClone((await readSigned()).root);
  change(cd);
  const copy = join(work, name);
  await writeCtfDirectory(copy, [{ descriptor: cd, blobs: [{ mediaType: 'text/plain', data: Buffer.from(DATA) }] }]);
  return copy;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ocm-cli-x509-'));
  const bin = services().bin.ocm;
  const env = { ...process.env, HOME: work };
  ocm = async (args) => {
    try {
      return (await run(bin, args, { cwd: work, env, maxBuffer: 16 << 20 })).stdout;
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(`ocm ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    }
  };
  await ocm(['create', 'rsakeypair', '--ca', 'root.priv', 'root.cert', 'CN=acme root']);
  await ocm(['create', 'rsakeypair', '--ca', 'int.priv', 'int.cert', '--ca-cert', 'root.cert', '--ca-key', 'root.priv', 'CN=acme intermediate']);
  await ocm(['create', 'rsakeypair', 'signer.priv', 'signer.cert', '--ca-cert', 'int.cert', '--ca-key', 'int.priv', '--root-certs', 'root.cert', `CN=${SIGNATURE}`]);
  rootCa = await readFile(join(work, 'root.cert'), 'utf8');
  await writeFile(join(work, 'data.txt'), DATA);
  await writeFile(
    join(work, 'constructor.yaml'),
    `components:\n- name: ${COMPONENT}\n  version: 1.0.0\n  provider: { name: acme.org }\n  resources:\n  - name: data\n    type: blob\n    input: { type: file, path: data.txt, mediaType: text/plain }\n`,
  );
  ctf = join(work, 'ctf');
  await ocm(['add', 'componentversions', '--create', '--file', ctf, 'constructor.yaml']);
  await ocm(['sign', 'componentversions', '--signature', SIGNATURE, '--private-key', 'signer.priv', '--public-key', 'signer.cert', '--ca-cert', 'root.cert', '--repo', ctf, `${COMPONENT}:1.0.0`]);
});
afterAll(async () => rm(work, { recursive: true, force: true }));

describe('RSA with an X.509 chain, signed by the OCM CLI', () => {
  it('is the PEM form with the chain and the signer as issuer', async () => {
    const sig = (await readSigned()).root.signatures.find((s) => s.name === SIGNATURE)!;
    expect(sig.signature).toMatchObject({ algorithm: 'RSASSA-PKCS1-V1_5', mediaType: 'application/x-pem-file', issuer: `CN=${SIGNATURE}` });
    expect(sig.signature.value).toMatch(/^-----BEGIN SIGNATURE-----\nSignature Algorithm: RSASSA-PKCS1-V1_5\n/);
    expect(sig.signature.value.match(/BEGIN CERTIFICATE/g)?.length).toBeGreaterThanOrEqual(2);
  });

  it('verifies against the root CA, with and without the expected issuer', async () => {
    const res = await check([{ signature: SIGNATURE, publicKey: rootCa }]);
    expect(res.signatures).toEqual([expect.objectContaining({ name: SIGNATURE, algorithm: 'RSASSA-PKCS1-V1_5' })]);
    await expect(check([{ signature: SIGNATURE, publicKey: rootCa, issuer: `CN=${SIGNATURE}` }])).resolves.toBeTruthy();
    await expect(check([{ signature: SIGNATURE, publicKey: rootCa, issuer: SIGNATURE }])).resolves.toBeTruthy();
  });

  it('refuses another CA and another issuer, naming the signature', async () => {
    await ocm(['create', 'rsakeypair', '--ca', 'other.priv', 'other.cert', 'CN=other root']);
    const other = await readFile(join(work, 'other.cert'), 'utf8');
    const foreign = await check([{ signature: SIGNATURE, publicKey: other }]).catch((e: unknown) => e as Error);
    expect(foreign).toBeInstanceOf(CertificateError);
    expect((foreign as Error).message).toMatch(new RegExp(`^signature "${SIGNATURE}" of ${COMPONENT}:1.0.0: certificate .* is not issued by a trusted certificate`));
    const wrong = await check([{ signature: SIGNATURE, publicKey: rootCa, issuer: 'CN=mallory' }]).catch((e: unknown) => e as Error);
    expect(wrong).toBeInstanceOf(SignatureInvalidError);
    expect((wrong as Error).message).toMatch(/issuer "CN=mallory" does not match certificate subject "CN=acme-signer"/);
  });

  it('refuses tampered copies, as the OCM CLI does', async () => {
    const changedContent = await tamperedCopy('ctf-content', (cd) => {
      cd.provider = { name: 'mallory.org' };
    });
    // the untouched copy is fine for both: the writer is not what fails below
    const untouched = await tamperedCopy('ctf-untouched', () => undefined);
    await expect(check([{ signature: SIGNATURE, publicKey: rootCa }], await readSigned(untouched))).resolves.toBeTruthy();
    await ocm(['verify', 'componentversions', '--signature', SIGNATURE, '--ca-cert', 'root.cert', `${untouched}//${COMPONENT}:1.0.0`]);
    await expect(check([{ signature: SIGNATURE, publicKey: rootCa }], await readSigned(changedContent))).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(ocm(['verify', 'componentversions', '--signature', SIGNATURE, '--ca-cert', 'root.cert', `${changedContent}//${COMPONENT}:1.0.0`])).rejects.toThrow(/signature digest \([0-9a-f]{64}\) does not match found digest/);

    // the signature value changed, the digest left as it was: only the signature check can tell
    const changedSignature = await tamperedCopy('ctf-signature', (cd) => {
      const sig = cd.signatures.find((s) => s.name === SIGNATURE)!;
      const lines = sig.signature.value.split('\n');
      const i = lines.findIndex((l) => /^[A-Za-z0-9+/]{64}$/.test(l));
      lines[i] = (lines[i]![0] === 'A' ? 'B' : 'A') + lines[i]!.slice(1);
      sig.signature.value = lines.join('\n');
    });
    const e = await check([{ signature: SIGNATURE, publicKey: rootCa }], await readSigned(changedSignature)).catch((x: unknown) => x as Error);
    expect(e).toBeInstanceOf(SignatureInvalidError);
    expect((e as Error).message).toMatch(/RSASSA-PKCS1-V1_5 signature does not verify/);
    await expect(ocm(['verify', 'componentversions', '--signature', SIGNATURE, '--ca-cert', 'root.cert', `${changedSignature}//${COMPONENT}:1.0.0`])).rejects.toThrow(/signature "acme-signer": signature verification failed, crypto\/rsa: verification error/);
  });

  it('takes a Component to Ready through the descriptor stage with the CA in a Secret; a wrong issuer is ComponentVerificationFailed', async () => {
    const h = await harness();
    try {
      h.kube.setSecret(NS, 'acme-ca', { [SIGNATURE]: rootCa });
      await h.apply('OCMRepository', 'repo', { repositorySpec: { type: 'CommonTransportFormat', filePath: ctf } });
      const component = (issuer: string) =>
        h.apply('Component', 'signed', { repositoryRef: { name: 'repo' }, component: COMPONENT, semver: '1.0.0', verify: [{ signature: SIGNATURE, secretRef: { name: 'acme-ca' }, issuer }] });
      await component(`CN=${SIGNATURE}`);
      await h.bus.drain();
      expect(ready(await h.get('Component', 'signed'))).toMatchObject({ status: 'True', reason: 'Succeeded' });
      await component('CN=mallory');
      await h.bus.drain();
      const r = ready(await h.get('Component', 'signed'));
      expect(r).toMatchObject({ status: 'False', reason: 'ComponentVerificationFailed' });
      expect(r.message).toMatch(new RegExp(`signature "${SIGNATURE}" of ${COMPONENT}:1.0.0 is invalid: issuer "CN=mallory"`));
    } finally {
      await h.close();
    }
  });
});
