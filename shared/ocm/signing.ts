/**
 * RSA signatures over component-version digests, as the OCM library makes them: the signature is computed over
 * the raw digest bytes (not hashed again). RSASSA-PKCS1-V1_5 (DigestInfo + type-1 padding) and RSASSA-PSS
 * (EMSA-PSS with MGF1, verification auto-detects the salt length like Go). Values are hex, or a PEM `SIGNATURE`
 * block followed by the signer's certificate chain (media type application/x-pem-file). verifySignatureValue also
 * hands sigstore signatures to sigstore.ts.
 */
import { constants, createHash, createPrivateKey, privateDecrypt, privateEncrypt, publicDecrypt, publicEncrypt, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { loadVerificationMaterial, matchDn, pemBlocks, rfc2253, verifyChain } from './certificates.js';
import { CertificateError, SignatureInvalidError, UnsupportedSignatureError } from './errors.js';
import type { SignatureSpec } from './model.js';
import { nodeHashName } from './normalise.js';
import { SIGSTORE_ALGORITHMS, verifySigstoreSignature } from './sigstore.js';
import { MediaType } from '../oci/media-types.js';

export const RSA_PKCS1_V15 = 'RSASSA-PKCS1-V1_5';
export const RSA_PSS = 'RSASSA-PSS';

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
    return { algorithm, value, mediaType: MediaType.SignaturePem, issuer: rfc2253(leaf.subject) };
  }
  return { algorithm, value: sig.toString('hex'), mediaType: algorithm === RSA_PSS ? MediaType.SignatureRsaPss : MediaType.SignatureRsa };
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

export interface VerifySignatureInput {
  component: string;
  signatureName: string;
  digestHex: string;
  hashAlgorithm: string;
  signature: SignatureSpec;
  /** PEM public key(s) or trusted certificate(s) */
  key: string | Buffer;
  /** who must have signed: an X.509 DN/CN the signing certificate's subject must match; for sigstore, the OIDC issuer */
  issuer?: string;
  /** sigstore only: the identity (email or URI) the Fulcio certificate certifies */
  subject?: string;
  /** sigstore only: PEM public key(s) of the Rekor log, to check each entry's signed entry timestamp */
  rekorKey?: string | Buffer;
}

export const SUPPORTED_SIGNATURE_ALGORITHMS: readonly string[] = [RSA_PKCS1_V15, RSA_PSS, ...SIGSTORE_ALGORITHMS];

/**
 * Verify one signature value, offline; SignatureInvalidError / UnsupportedSignatureError / CertificateError
 * otherwise, each naming the signature.
 */
export function verifySignatureValue(input: VerifySignatureInput): void {
  const { signature: s, component, signatureName: name } = input;
  const which = `signature "${name}" of ${component}`;
  if (!SUPPORTED_SIGNATURE_ALGORITHMS.includes(s.algorithm)) {
    throw new UnsupportedSignatureError(s.algorithm, `ocm-knative verifies ${SUPPORTED_SIGNATURE_ALGORITHMS.join(', ')}`, which);
  }
  try {
    if (SIGSTORE_ALGORITHMS.includes(s.algorithm)) {
      if (s.mediaType && s.mediaType !== MediaType.SignatureSigstore) throw new SignatureInvalidError(component, name, `media type ${s.mediaType} is not a sigstore signature's (${MediaType.SignatureSigstore})`);
      const material = loadVerificationMaterial(input.key);
      const rekorKeys = input.rekorKey ? loadVerificationMaterial(input.rekorKey).keys : [];
      verifySigstoreSignature({
        component,
        signatureName: name,
        digestHex: input.digestHex,
        hashAlgorithm: input.hashAlgorithm,
        signature: s,
        trust: { keys: material.keys, roots: material.certs, ...(input.issuer ? { issuer: input.issuer } : {}), ...(input.subject ? { subject: input.subject } : {}), rekorKeys },
      });
      return;
    }
    if (input.subject || input.rekorKey) {
      throw new SignatureInvalidError(component, name, `${input.subject ? 'subject' : 'a Rekor key'} applies to sigstore signatures only; name the signer of a ${s.algorithm} signature with issuer`);
    }
    verifyRsaSignature(input);
  } catch (err) {
    // chain problems come from shared helpers that do not know which signature they were checking
    if (err instanceof CertificateError && !err.message.startsWith(which)) throw new CertificateError(`${which}: ${err.message}`);
    throw err;
  }
}

function verifyRsaSignature(input: VerifySignatureInput): void {
  const { signature: s, component, signatureName: name } = input;
  const hash = nodeHashName(input.hashAlgorithm);
  const digest = Buffer.from(input.digestHex, 'hex');
  const material = loadVerificationMaterial(input.key);
  let sigBytes: Buffer;
  let keys = material.keys;
  let subject: string | undefined;
  if (s.mediaType === MediaType.SignaturePem) {
    const blocks = pemBlocks(s.value);
    const sigBlock = blocks.find((b) => b.type === 'SIGNATURE');
    if (!sigBlock) throw new SignatureInvalidError(component, name, 'PEM signature has no SIGNATURE block');
    const algo = sigBlock.headers['Signature Algorithm'];
    if (algo && algo !== s.algorithm) throw new SignatureInvalidError(component, name, `PEM says algorithm ${algo}, descriptor says ${s.algorithm}`);
    sigBytes = sigBlock.body;
    let chain: X509Certificate[];
    try {
      chain = blocks.filter((b) => b.type === 'CERTIFICATE').map((b) => new X509Certificate(b.text));
    } catch (err) {
      throw new SignatureInvalidError(component, name, `a certificate in the PEM signature does not parse: ${(err as Error).message}`);
    }
    if (chain.length) {
      if (material.certs.length) {
        // as OCM (signutils.VerifyCertificate): the chain must have held when the signing certificate was issued, so
        // a signature outlives its certificate; certificates naming extended key usages must allow code signing
        const leaf = verifyChain(chain, material.certs, new Date(chain[0]!.validFrom), { codeSigning: true });
        keys = [leaf.publicKey];
        subject = rfc2253(leaf.subject);
      } else {
        // a configured public key wins; the chain then only names the subject for the issuer check
        subject = rfc2253(chain[0]!.subject);
      }
    }
  } else if (s.mediaType === MediaType.SignatureRsa || s.mediaType === MediaType.SignatureRsaPss || s.mediaType === '') {
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
