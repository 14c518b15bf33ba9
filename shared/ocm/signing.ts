/**
 * RSA signatures over component-version digests, as the OCM library makes them: the signature is computed over
 * the raw digest bytes (not hashed again). RSASSA-PKCS1-V1_5 (DigestInfo + type-1 padding) and RSASSA-PSS
 * (EMSA-PSS with MGF1, verification auto-detects the salt length like Go). Values are hex, or a PEM `SIGNATURE`
 * block followed by the signer's certificate chain (media type application/x-pem-file).
 */
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  privateDecrypt,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  randomBytes,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { CertificateError, SignatureInvalidError, UnsupportedSignatureError } from './errors.js';
import type { SignatureSpec } from './model.js';
import { nodeHashName } from './normalise.js';

export const RSA_PKCS1_V15 = 'RSASSA-PKCS1-V1_5';
export const RSA_PSS = 'RSASSA-PSS';
export const MEDIA_TYPE_RSA = 'application/vnd.ocm.signature.rsa';
export const MEDIA_TYPE_RSA_PSS = 'application/vnd.ocm.signature.rsa.pss';
export const MEDIA_TYPE_PEM = 'application/x-pem-file';
export const SIGSTORE_ALGORITHMS = ['sigstore', 'sigstore-v2'];
export const MEDIA_TYPE_SIGSTORE = 'application/vnd.ocm.signature.sigstore';

// DER prefixes of DigestInfo (RFC 8017 §9.2 note 1)
const DIGEST_INFO: Record<'sha256' | 'sha512', Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

function modulusBytes(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (!bits) throw new CertificateError('key is not an RSA key');
  return Math.ceil(bits / 8);
}

function mgf1(seed: Buffer, len: number, hash: 'sha256' | 'sha512'): Buffer {
  const out: Buffer[] = [];
  let n = 0;
  for (let c = 0; n < len; c++) {
    const cnt = Buffer.alloc(4);
    cnt.writeUInt32BE(c);
    const h = createHash(hash).update(seed).update(cnt).digest();
    out.push(h);
    n += h.length;
  }
  return Buffer.concat(out).subarray(0, len);
}

function emsaPssEncode(mHash: Buffer, emBits: number, hash: 'sha256' | 'sha512', saltLen: number): Buffer {
  const hLen = mHash.length;
  const emLen = Math.ceil(emBits / 8);
  if (emLen < hLen + saltLen + 2) throw new CertificateError('RSA key too small for PSS');
  const salt = randomBytes(saltLen);
  const h = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - saltLen - hLen - 2), Buffer.from([1]), salt]);
  const mask = mgf1(h, emLen - hLen - 1, hash);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

function emsaPssVerify(mHash: Buffer, em: Buffer, emBits: number, hash: 'sha256' | 'sha512'): boolean {
  const hLen = mHash.length;
  const emLen = Math.ceil(emBits / 8);
  if (em.length !== emLen || emLen < hLen + 2 || em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topMask = 0xff >> (8 * emLen - emBits);
  if ((maskedDb[0]! & ~topMask) !== 0) return false;
  const mask = mgf1(h, maskedDb.length, hash);
  const db = Buffer.from(maskedDb.map((b, i) => b ^ mask[i]!));
  db[0]! &= topMask;
  const one = db.indexOf(1);
  if (one < 0 || db.subarray(0, one).some((b) => b !== 0)) return false;
  const salt = db.subarray(one + 1);
  const h2 = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  return h2.equals(h);
}

export function loadPrivateKey(pem: string | Buffer): KeyObject {
  try {
    const k = createPrivateKey(pem);
    if (k.asymmetricKeyType !== 'rsa') throw new Error(`${k.asymmetricKeyType} key`);
    return k;
  } catch (err) {
    throw new CertificateError(`invalid RSA private key: ${(err as Error).message}`);
  }
}

function pemBlocks(pem: string): { type: string; headers: Record<string, string>; body: Buffer; text: string }[] {
  const out: { type: string; headers: Record<string, string>; body: Buffer; text: string }[] = [];
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
      else if (b.type === 'RSA PRIVATE KEY' || b.type === 'PRIVATE KEY') keys.push(createPublicKey(createPrivateKey(b.text)));
    }
  } catch (err) {
    throw new CertificateError(`invalid key/certificate PEM: ${(err as Error).message}`);
  }
  if (!keys.length && !certs.length) throw new CertificateError('no public key or certificate found in the given PEM');
  return { keys, certs };
}

export interface SignOptions {
  algorithm?: typeof RSA_PKCS1_V15 | typeof RSA_PSS;
  /** hash algorithm of the digest (default SHA-256) */
  hashAlgorithm?: string;
  /** signer certificate chain PEM (leaf first): produces a PEM signature with issuer = leaf subject */
  certificateChain?: string;
}

/** Sign a hex digest. Deterministic for PKCS#1 v1.5 (reproduces the upstream sign-hash vector). */
export function signDigest(digestHex: string, privateKeyPem: string | Buffer, opts: SignOptions = {}): SignatureSpec {
  const algorithm = opts.algorithm ?? RSA_PKCS1_V15;
  const hash = nodeHashName(opts.hashAlgorithm ?? 'SHA-256');
  const key = loadPrivateKey(privateKeyPem);
  const digest = Buffer.from(digestHex, 'hex');
  let sig: Buffer;
  if (algorithm === RSA_PKCS1_V15) {
    sig = privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([DIGEST_INFO[hash], digest]));
  } else if (algorithm === RSA_PSS) {
    const bits = key.asymmetricKeyDetails!.modulusLength!;
    const em = emsaPssEncode(digest, bits - 1, hash, digest.length);
    const padded = Buffer.concat([Buffer.alloc(modulusBytes(key) - em.length), em]);
    sig = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, padded);
  } else {
    throw new UnsupportedSignatureError(algorithm);
  }
  if (opts.certificateChain) {
    const certs = pemBlocks(opts.certificateChain).filter((b) => b.type === 'CERTIFICATE');
    if (!certs.length) throw new CertificateError('certificateChain contains no CERTIFICATE block');
    const leaf = new X509Certificate(certs[0]!.text);
    const b64 = sig.toString('base64').replace(/.{1,64}/g, '$&\n');
    const value = `-----BEGIN SIGNATURE-----\nSignature Algorithm: ${algorithm}\n\n${b64}-----END SIGNATURE-----\n${certs.map((c) => `${c.text}\n`).join('')}`;
    return { algorithm, value, mediaType: MEDIA_TYPE_PEM, issuer: rfc2253(leaf.subject) };
  }
  return { algorithm, value: sig.toString('hex'), mediaType: algorithm === RSA_PSS ? MEDIA_TYPE_RSA_PSS : MEDIA_TYPE_RSA };
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

function rawRsaVerify(algorithm: string, key: KeyObject, digest: Buffer, sig: Buffer, hash: 'sha256' | 'sha512'): boolean {
  const k = modulusBytes(key);
  if (sig.length !== k) return false;
  try {
    if (algorithm === RSA_PKCS1_V15) {
      const decoded = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, sig);
      return decoded.equals(Buffer.concat([DIGEST_INFO[hash], digest]));
    }
    const em = publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, sig);
    const bits = key.asymmetricKeyDetails!.modulusLength!;
    const emLen = Math.ceil((bits - 1) / 8);
    return emsaPssVerify(digest, em.subarray(em.length - emLen), bits - 1, hash);
  } catch {
    return false;
  }
}

/** Verify a certificate chain (leaf first) up to one of `roots`; dates checked at `now`. Returns the leaf. */
export function verifyChain(chain: X509Certificate[], roots: X509Certificate[], now = new Date()): X509Certificate {
  const leaf = chain[0];
  if (!leaf) throw new CertificateError('signature carries no certificate');
  const all = [...chain];
  for (const c of all) {
    if (new Date(c.validFrom) > now || new Date(c.validTo) < now) throw new CertificateError(`certificate ${rfc2253(c.subject)} is not valid now (${c.validFrom} .. ${c.validTo})`);
  }
  let cur = leaf;
  for (let depth = 0; depth < 10; depth++) {
    const root = roots.find((r) => cur.checkIssued(r) && cur.verify(r.publicKey));
    if (root) {
      if (new Date(root.validFrom) > now || new Date(root.validTo) < now) throw new CertificateError(`root certificate ${rfc2253(root.subject)} is not valid now`);
      return leaf;
    }
    if (roots.some((r) => r.fingerprint256 === cur.fingerprint256)) return leaf;
    const parent = all.find((c) => c !== cur && cur.checkIssued(c) && cur.verify(c.publicKey));
    if (!parent) throw new CertificateError(`certificate ${rfc2253(cur.subject)} is not issued by a trusted certificate`);
    if (!parent.ca) throw new CertificateError(`certificate ${rfc2253(parent.subject)} is not a CA`);
    cur = parent;
  }
  throw new CertificateError('certificate chain too long');
}

export interface VerifySignatureInput {
  component: string;
  signatureName: string;
  digestHex: string;
  hashAlgorithm: string;
  signature: SignatureSpec;
  /** PEM public key(s) or trusted certificate(s) */
  key: string | Buffer;
  /** additionally required issuer DN/CN */
  issuer?: string;
}

/** Verify one signature value; SignatureInvalidError / UnsupportedSignatureError / CertificateError otherwise. */
export function verifySignatureValue(input: VerifySignatureInput): void {
  const { signature: s, component, signatureName: name } = input;
  if (SIGSTORE_ALGORITHMS.includes(s.algorithm) || s.mediaType === MEDIA_TYPE_SIGSTORE) {
    throw new UnsupportedSignatureError(s.algorithm, 'sigstore (keyless, Fulcio/Rekor) verification is not supported by ocm-knative; sign with RSA');
  }
  if (s.algorithm !== RSA_PKCS1_V15 && s.algorithm !== RSA_PSS) throw new UnsupportedSignatureError(s.algorithm);
  const hash = nodeHashName(input.hashAlgorithm);
  const digest = Buffer.from(input.digestHex, 'hex');
  const material = loadVerificationMaterial(input.key);
  let sigBytes: Buffer;
  let keys = material.keys;
  let subject: string | undefined;
  if (s.mediaType === MEDIA_TYPE_PEM) {
    const blocks = pemBlocks(s.value);
    const sigBlock = blocks.find((b) => b.type === 'SIGNATURE');
    if (!sigBlock) throw new SignatureInvalidError(component, name, 'PEM signature has no SIGNATURE block');
    const algo = sigBlock.headers['Signature Algorithm'];
    if (algo && algo !== s.algorithm) throw new SignatureInvalidError(component, name, `PEM says algorithm ${algo}, descriptor says ${s.algorithm}`);
    sigBytes = sigBlock.body;
    const chain = blocks.filter((b) => b.type === 'CERTIFICATE').map((b) => new X509Certificate(b.text));
    if (chain.length) {
      if (material.certs.length) {
        const leaf = verifyChain(chain, material.certs);
        keys = [leaf.publicKey];
        subject = rfc2253(leaf.subject);
      } else {
        // a configured public key wins; the chain then only names the subject for the issuer check
        subject = rfc2253(chain[0]!.subject);
      }
    }
  } else if (s.mediaType === MEDIA_TYPE_RSA || s.mediaType === MEDIA_TYPE_RSA_PSS || s.mediaType === '') {
    if (!/^[0-9a-fA-F]*$/.test(s.value) || s.value.length % 2) throw new SignatureInvalidError(component, name, 'signature value is not hex');
    sigBytes = Buffer.from(s.value, 'hex');
  } else {
    throw new SignatureInvalidError(component, name, `unknown signature media type ${s.mediaType}`);
  }
  if (!keys.length && material.certs.length) {
    keys = material.certs.map((c) => c.publicKey);
    subject ??= rfc2253(material.certs[0]!.subject);
  }
  for (const want of [s.issuer, input.issuer]) {
    if (!want) continue;
    if (!subject) throw new SignatureInvalidError(component, name, `issuer "${want}" required but no certificate available`);
    if (!matchDn(want, subject)) throw new SignatureInvalidError(component, name, `issuer "${want}" does not match certificate subject "${subject}"`);
  }
  if (!keys.some((k) => k.asymmetricKeyType === 'rsa' && rawRsaVerify(s.algorithm, k, digest, sigBytes, hash))) {
    throw new SignatureInvalidError(component, name, `${s.algorithm} signature does not verify with the given key`);
  }
}
