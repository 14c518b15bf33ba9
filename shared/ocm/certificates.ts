/**
 * PEM blocks, distinguished names and certificate chains: what RSA signatures with an X.509 chain (signing.ts) and
 * sigstore signatures with a Fulcio certificate (sigstore.ts) share.
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { CertificateError } from './errors.js';

export interface PemBlock {
  type: string;
  headers: Record<string, string>;
  body: Buffer;
  /** the whole block, BEGIN to END */
  text: string;
}

/** Every PEM block of `pem`, with RFC 1421 headers (`Signature Algorithm: ...` in OCM's SIGNATURE block). */
export function pemBlocks(pem: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(pem); m; m = re.exec(pem)) {
    const lines = m[2]!.split(/\r?\n/);
    const headers: Record<string, string> = {};
    let i = 0;
    for (; i < lines.length && lines[i]!.includes(':'); i++) {
      const idx = lines[i]!.indexOf(':');
      headers[lines[i]!.slice(0, idx).trim()] = lines[i]!.slice(idx + 1).trim();
    }
    out.push({ type: m[1]!, headers, body: Buffer.from(lines.slice(i).join(''), 'base64'), text: m[0] });
  }
  return out;
}

/** Public key(s) and/or certificates from PEM text (PKCS#1, SPKI, or CERTIFICATE blocks). */
export function loadVerificationMaterial(pem: string | Buffer): { keys: KeyObject[]; certs: X509Certificate[] } {
  const text = pem.toString();
  const blocks = pemBlocks(text);
  const keys: KeyObject[] = [];
  const certs: X509Certificate[] = [];
  try {
    for (const b of blocks) {
      if (b.type === 'CERTIFICATE') certs.push(new X509Certificate(b.text));
      else if (b.type === 'RSA PUBLIC KEY' || b.type === 'PUBLIC KEY') keys.push(createPublicKey(b.text));
      else if (b.type === 'RSA PRIVATE KEY' || b.type === 'PRIVATE KEY' || b.type === 'EC PRIVATE KEY') keys.push(createPublicKey(createPrivateKey(b.text)));
    }
  } catch (err) {
    throw new CertificateError(`invalid key/certificate PEM: ${(err as Error).message}`);
  }
  if (!keys.length && !certs.length) throw new CertificateError('no public key or certificate found in the given PEM');
  return { keys, certs };
}

/** Node prints DNs as `C=DE\nO=Acme\nCN=x` (cert order); RFC 2253 lists them reversed, comma separated. */
export function rfc2253(nodeDn: string): string {
  return nodeDn.split('\n').filter((s) => s).reverse().join(',');
}

function parseDn(dn: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const parts = dn.includes('=') ? dn.split(/[,\n+]/) : [`CN=${dn}`];
  for (const p of parts) {
    const i = p.indexOf('=');
    if (i < 0) continue;
    const k = p.slice(0, i).trim().toUpperCase();
    const v = p.slice(i + 1).trim();
    out.set(k, [...(out.get(k) ?? []), v]);
  }
  return out;
}

/** Every attribute of `expected` (a DN or a bare common name) must be present in `actual`. */
export function matchDn(expected: string, actual: string): boolean {
  const e = parseDn(expected);
  const a = parseDn(actual);
  for (const [k, vs] of e) for (const v of vs) if (!(a.get(k) ?? []).includes(v)) return false;
  return true;
}

const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

function validAt(c: X509Certificate, at: Date): boolean {
  return new Date(c.validFrom) <= at && at <= new Date(c.validTo);
}

/**
 * Verify a certificate chain (leaf first) up to one of `roots`, every certificate valid at `at`. With `codeSigning`,
 * a certificate that names extended key usages must allow code signing (as Go's x509 verification with
 * ExtKeyUsageCodeSigning, which OCM uses: no extension at all allows any usage). Returns the leaf.
 */
export function verifyChain(chain: X509Certificate[], roots: X509Certificate[], at = new Date(), opts: { codeSigning?: boolean } = {}): X509Certificate {
  const leaf = chain[0];
  if (!leaf) throw new CertificateError('signature carries no certificate');
  const all = [...chain];
  const when = at.toISOString();
  const usable = (c: X509Certificate): void => {
    if (!validAt(c, at)) throw new CertificateError(`certificate ${rfc2253(c.subject)} is not valid at ${when} (${c.validFrom} .. ${c.validTo})`);
    const eku = c.keyUsage;
    if (opts.codeSigning && eku?.length && !eku.includes(CODE_SIGNING) && !eku.includes(ANY_EXTENDED_KEY_USAGE)) {
      throw new CertificateError(`certificate ${rfc2253(c.subject)} is not for code signing (extended key usage ${eku.join(', ')})`);
    }
  };
  let cur = leaf;
  for (let depth = 0; depth < 10; depth++) {
    usable(cur);
    if (roots.some((r) => r.fingerprint256 === cur.fingerprint256)) return leaf;
    const root = roots.find((r) => cur.checkIssued(r) && cur.verify(r.publicKey));
    if (root) {
      if (!validAt(root, at)) throw new CertificateError(`root certificate ${rfc2253(root.subject)} is not valid at ${when}`);
      return leaf;
    }
    const parent = all.find((c) => c !== cur && cur.checkIssued(c) && cur.verify(c.publicKey));
    if (!parent) throw new CertificateError(`certificate ${rfc2253(cur.subject)} is not issued by a trusted certificate`);
    if (!parent.ca) throw new CertificateError(`certificate ${rfc2253(parent.subject)} is not a CA`);
    cur = parent;
  }
  throw new CertificateError('certificate chain too long');
}
