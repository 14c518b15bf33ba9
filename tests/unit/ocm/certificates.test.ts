/**
 * shared/ocm/certificates.ts: PEM blocks, DN matching as OCM's `--issuer` does it, and chain checks at a given time
 * with the code-signing usage Go's x509 verification asks for in OCM.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateError } from '../../../shared/ocm/errors.js';
import { loadVerificationMaterial, matchDn, pemBlocks, rfc2253, verifyChain } from '../../../shared/ocm/certificates.js';
import { createPki, type Issued, type Pki } from '../../fixtures/ocm/pki.js';

describe('certificates', () => {
  let pki: Pki;
  let root: Issued;
  let intermediate: Issued;
  let leaf: Issued;
  beforeAll(async () => {
    pki = await createPki();
    root = await pki.ca('root');
    intermediate = await pki.issue('int', 'root', '/CN=int', ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign']);
    leaf = await pki.issue('leaf', 'int', '/C=DE/O=Acme/CN=signer', ['basicConstraints=critical,CA:FALSE', 'extendedKeyUsage=codeSigning']);
  });
  afterAll(async () => pki.close());
  const x = (i: Issued): X509Certificate => new X509Certificate(i.cert);

  it('reads PEM blocks with headers, and keys and certificates from one text', () => {
    const blocks = pemBlocks(`-----BEGIN SIGNATURE-----\nSignature Algorithm: RSASSA-PSS\n\nAAEC\n-----END SIGNATURE-----\n${leaf.cert}`);
    expect(blocks.map((b) => b.type)).toEqual(['SIGNATURE', 'CERTIFICATE']);
    expect(blocks[0]!.headers).toEqual({ 'Signature Algorithm': 'RSASSA-PSS' });
    expect(blocks[0]!.body).toEqual(Buffer.from([0, 1, 2]));
    const m = loadVerificationMaterial(`${root.cert}${leaf.key}`);
    expect([m.certs.length, m.keys.length]).toEqual([1, 1]);
    expect(() => loadVerificationMaterial('nothing')).toThrow(CertificateError);
  });

  it('names DNs as RFC 2253 and matches them like OCM (every given attribute, a bare name is the CN)', () => {
    const dn = rfc2253(x(leaf).subject);
    expect(dn).toBe('CN=signer,O=Acme,C=DE');
    expect(matchDn('signer', dn)).toBe(true);
    expect(matchDn('CN=signer,O=Acme', dn)).toBe(true);
    expect(matchDn('CN=signer,O=Evil', dn)).toBe(false);
    expect(matchDn('other', dn)).toBe(false);
  });

  it('verifies a chain up to a root at a given time, and says why not', () => {
    expect(verifyChain([x(leaf), x(intermediate)], [x(root)], new Date(), { codeSigning: true }).subject).toBe(x(leaf).subject);
    expect(() => verifyChain([x(leaf)], [x(root)])).toThrow(/certificate CN=signer,O=Acme,C=DE is not issued by a trusted certificate/);
    expect(() => verifyChain([x(leaf), x(intermediate)], [x(root)], new Date(Date.now() - 86_400_000))).toThrow(/is not valid at/);
    // a trusted intermediate is an anchor of its own
    expect(() => verifyChain([x(leaf)], [x(intermediate)])).not.toThrow();
  });

  it('with codeSigning, refuses a certificate whose extended key usage excludes it (none at all allows any)', async () => {
    const server = await pki.issue('server', 'root', '/CN=server', ['extendedKeyUsage=serverAuth']);
    expect(() => verifyChain([x(server)], [x(root)], new Date(), { codeSigning: true })).toThrow(/CN=server is not for code signing \(extended key usage 1.3.6.1.5.5.7.3.1\)/);
    expect(() => verifyChain([x(server)], [x(root)])).not.toThrow();
    const plain = await pki.issue('plain', 'root', '/CN=plain', ['basicConstraints=critical,CA:FALSE']);
    expect(() => verifyChain([x(plain)], [x(root)], new Date(), { codeSigning: true })).not.toThrow();
  });

  it('a non-CA certificate cannot issue', async () => {
    const fake = await pki.issue('fake', 'leaf', '/CN=fake', ['basicConstraints=critical,CA:FALSE']);
    expect(() => verifyChain([x(fake), x(leaf), x(intermediate)], [x(root)])).toThrow(/CN=signer,O=Acme,C=DE is not a CA/);
  });
});
