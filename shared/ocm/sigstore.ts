/**
 * OCM `sigstore` and `sigstore-v2` signatures, verified offline (nothing is fetched from Rekor or Fulcio).
 *
 * The format is OCM's (api/tech/signing/handlers/sigstore in the OCM library): the signature value is the base64 of
 * the JSON Rekor answer `{"<entry uuid>": {body, integratedTime, logID, logIndex, verification}}`, each `body` the
 * base64 of a `hashedrekord` v0.0.1 entry whose `data.hash` is the normalised component digest (SHA-256, hex) and
 * whose `signature.content` is an ASN.1 ECDSA signature over that digest itself (not hashed again) by the key in
 * `signature.publicKey.content`: a PEM `PUBLIC KEY` (`sigstore`) or the signer's Fulcio `CERTIFICATE` (`sigstore-v2`).
 *
 * OCM trusts whatever key the entry carries and asks Rekor's public log about it. We trust only what the user
 * configured instead (verify[]): a public key the entry's key must equal, or CA certificates the entry's certificate
 * must chain to, together with the identity Fulcio certified (OIDC issuer and subject), so that any certificate
 * from the same CA for somebody else does not pass. Given Rekor's public key, the entry's signed entry timestamp
 * is checked too, and the certificate must have been valid when Rekor logged the entry; the inclusion proof is not
 * checked (it needs a current signed tree head from Rekor).
 */
import { createHash, createPublicKey, verify as verifySignature, X509Certificate, type KeyObject } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { ASN1Obj, json as canonicalJson, X509Certificate as SigstoreCertificate } from '@sigstore/core';
import { CertificateError, SignatureInvalidError } from './errors.js';
import type { SignatureSpec } from './model.js';
import { verifyChain, rfc2253 } from './certificates.js';

export const SIGSTORE = 'sigstore';
export const SIGSTORE_V2 = 'sigstore-v2';
export const SIGSTORE_ALGORITHMS: readonly string[] = [SIGSTORE, SIGSTORE_V2];

/** Fulcio's certificate extensions for the OIDC issuer: v2 (DER UTF8String) and the deprecated v1 (raw bytes). */
const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const OID_FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';

/** What the user trusts for one signature (Component.spec.verify[]). */
export interface SigstoreTrust {
  /** public keys: the entry's key (or its certificate's key) must be one of them */
  keys: KeyObject[];
  /** CA certificates (Fulcio root and intermediates): the entry's certificate must chain to one of them */
  roots: X509Certificate[];
  /** the OIDC issuer Fulcio recorded in the certificate (required with `roots`) */
  issuer?: string;
  /** the certified identity: an email or URI subject alternative name (required with `roots`) */
  subject?: string;
  /**
   * Rekor's public key(s): when given, every entry's signedEntryTimestamp must verify with the key whose log ID it
   * names, and a certificate must have been valid at the entry's integratedTime (then a proven time)
   */
  rekorKeys?: KeyObject[];
}

/** One hashedrekord entry of the signature value, decoded. */
export interface HashedRekordEntry {
  uuid: string;
  /** hex digest the entry says was signed */
  digestHex: string;
  hashAlgorithm: string;
  /** DER (ASN.1) ECDSA signature */
  signature: Buffer;
  /** the key material in the entry, PEM (PUBLIC KEY or CERTIFICATE) */
  publicMaterial: string;
  /** seconds since the epoch, as Rekor recorded it (proven only by the signed entry timestamp) */
  integratedTime?: number;
  /** what Rekor signed in its signedEntryTimestamp: canonical JSON of body, integratedTime, logID and logIndex */
  timestamp?: { payload: Buffer; signature: Buffer; logID: string };
}

type Invalid = (detail: string) => SignatureInvalidError;

function record(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function base64(s: unknown, what: string, invalid: Invalid): Buffer {
  if (typeof s !== 'string' || s.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw invalid(`${what} is not base64`);
  return Buffer.from(s, 'base64');
}

function json(b: Buffer, what: string, invalid: Invalid): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    throw invalid(`${what} is not JSON`);
  }
}

/** Decodes the signature value into its hashedrekord entries (every field checked, in words). */
export function parseSigstoreValue(value: string, invalid: Invalid): HashedRekordEntry[] {
  const log = record(json(base64(value.trim(), 'the sigstore signature value', invalid), 'the sigstore signature value', invalid));
  if (!log || Object.keys(log).length === 0) throw invalid('the sigstore signature value holds no Rekor log entry');
  return Object.entries(log).map(([uuid, raw]) => {
    const entry = record(raw);
    const at = `Rekor entry ${uuid}`;
    if (!entry) throw invalid(`${at} is not an object`);
    const body = record(json(base64(entry['body'], `${at} body`, invalid), `${at} body`, invalid));
    if (body?.['kind'] !== 'hashedrekord' || body['apiVersion'] !== '0.0.1') {
      throw invalid(`${at} is a ${String(body?.['kind'] ?? 'unknown')} ${String(body?.['apiVersion'] ?? '')} entry, expected hashedrekord 0.0.1`.replace(/ +/g, ' '));
    }
    const spec = record(body['spec']);
    const hash = record(record(spec?.['data'])?.['hash']);
    const sig = record(spec?.['signature']);
    const key = record(sig?.['publicKey']);
    if (typeof hash?.['value'] !== 'string' || typeof hash['algorithm'] !== 'string') throw invalid(`${at} has no data.hash`);
    const integratedTime = entry['integratedTime'];
    const set = record(entry['verification'])?.['signedEntryTimestamp'];
    const logID = entry['logID'];
    const timestamp =
      typeof set === 'string' && typeof logID === 'string' && typeof integratedTime === 'number' && typeof entry['logIndex'] === 'number'
        ? {
            payload: Buffer.from(canonicalJson.canonicalize({ body: entry['body'], integratedTime, logID, logIndex: entry['logIndex'] })),
            signature: base64(set, `${at} signedEntryTimestamp`, invalid),
            logID,
          }
        : undefined;
    return {
      uuid,
      digestHex: hash['value'],
      hashAlgorithm: hash['algorithm'],
      signature: base64(sig?.['content'], `${at} signature.content`, invalid),
      publicMaterial: base64(key?.['content'], `${at} signature.publicKey.content`, invalid).toString('utf8'),
      ...(typeof integratedTime === 'number' ? { integratedTime } : {}),
      ...(timestamp ? { timestamp } : {}),
    };
  });
}

/** ECDSA over a digest as Go's ecdsa.VerifyASN1 does it: the digest is the hash (truncated to the order), DER signature. */
function verifyEcdsaDigest(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const jwk = key.export({ format: 'jwk' });
  const curve = { 'P-256': p256, 'P-384': p384, 'P-521': p521 }[jwk.crv ?? ''];
  if (!curve || !jwk.x || !jwk.y) return false;
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  try {
    // lowS false: Go and OpenSSL accept either half of s
    return curve.verify(signature, digest, point, { prehash: false, lowS: false, format: 'der' });
  } catch {
    return false;
  }
}

/** The OIDC issuer Fulcio wrote into a certificate, if any. */
export function fulcioIssuer(cert: SigstoreCertificate): string | undefined {
  const v2 = cert.extension(OID_FULCIO_ISSUER_V2);
  // the extension's value is a DER UTF8String (v2); v1 held the bare bytes
  if (v2) return ASN1Obj.parseBuffer(Buffer.from(v2.value)).value.toString('utf8');
  return cert.extension(OID_FULCIO_ISSUER_V1)?.value.toString('utf8');
}

/** The identity Fulcio certified: the email or URI subject alternative name. */
export function fulcioSubject(cert: SigstoreCertificate): string | undefined {
  const san = cert.extSubjectAltName;
  return san?.rfc822Name ?? san?.uri;
}

const sameKey = (a: KeyObject, b: KeyObject): boolean =>
  a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));

export interface VerifySigstoreInput {
  component: string;
  signatureName: string;
  digestHex: string;
  hashAlgorithm: string;
  signature: SignatureSpec;
  trust: SigstoreTrust;
}

/** Verifies a sigstore / sigstore-v2 signature offline; SignatureInvalidError or CertificateError otherwise. */
export function verifySigstoreSignature(input: VerifySigstoreInput): void {
  const { component, signatureName: name, trust } = input;
  const invalid: Invalid = (detail) => new SignatureInvalidError(component, name, detail);
  if (input.hashAlgorithm.toUpperCase().replace('-', '') !== 'SHA256') {
    throw invalid(`${input.signature.algorithm} signatures cover SHA-256 digests only (Rekor's hashedrekord), this one is ${input.hashAlgorithm}`);
  }
  if (!trust.keys.length && (!trust.issuer || !trust.subject)) {
    // a CA alone would accept any identity it ever certified
    throw invalid('verifying against CA certificates needs the expected identity: set both issuer (the OIDC issuer) and subject (email or URI) in verify[]');
  }
  const digest = Buffer.from(input.digestHex, 'hex');
  for (const entry of parseSigstoreValue(input.signature.value, invalid)) {
    const at = `Rekor entry ${entry.uuid}`;
    if (entry.hashAlgorithm !== 'sha256') throw invalid(`${at} hashes with ${entry.hashAlgorithm}, expected sha256`);
    if (entry.digestHex !== input.digestHex) throw invalid(`${at} is for digest ${entry.digestHex}, not the component digest ${input.digestHex}`);
    const integrated = trust.rekorKeys?.length ? provenIntegratedTime(entry, trust.rekorKeys, invalid) : undefined;
    const key = entryKey(entry, trust, input.signature.algorithm, invalid, integrated);
    if (!verifyEcdsaDigest(key, digest, entry.signature)) throw invalid(`the ECDSA signature in ${at} does not verify with its key`);
  }
}

/** The entry's key, once it is bound to what the user trusts (a configured key, or a certificate of the trusted CA for the expected identity). */
function entryKey(entry: HashedRekordEntry, trust: SigstoreTrust, algorithm: string, invalid: Invalid, integrated: Date | undefined): KeyObject {
  const at = `Rekor entry ${entry.uuid}`;
  const pem = entry.publicMaterial;
  let cert: X509Certificate | undefined;
  let key: KeyObject;
  try {
    if (pem.includes('-----BEGIN CERTIFICATE-----')) {
      cert = new X509Certificate(pem);
      key = cert.publicKey;
    } else if (pem.includes('-----BEGIN PUBLIC KEY-----')) {
      key = createPublicKey(pem);
    } else {
      throw new Error('neither a PUBLIC KEY nor a CERTIFICATE');
    }
  } catch (err) {
    throw invalid(`${at} carries no usable key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ec') throw invalid(`${at} carries a ${key.asymmetricKeyType ?? 'unknown'} key; sigstore signatures are ECDSA`);
  if (trust.keys.length) {
    if (!trust.keys.some((k) => sameKey(k, key))) {
      throw invalid(`the key in ${at} is not the public key given in verify[] (${algorithm} signs with a key of its own; give that key, or the CA with issuer and subject)`);
    }
  }
  if (!cert) {
    if (!trust.keys.length) throw invalid(`${at} carries a bare public key, no certificate to check against the given CA (algorithm ${algorithm}); give the public key instead`);
    if (trust.issuer || trust.subject) throw invalid(`${at} carries a bare public key, so the identity (issuer/subject) cannot be checked`);
    return key;
  }
  if (integrated && (integrated < new Date(cert.validFrom) || integrated > new Date(cert.validTo))) {
    throw invalid(`the certificate in ${at} was not valid when Rekor logged the entry (${integrated.toISOString()}, certificate ${cert.validFrom} .. ${cert.validTo})`);
  }
  if (trust.roots.length) {
    // Fulcio certificates live for minutes: the chain must have held when Rekor logged the entry (a time its key
    // proves), or else, like OCM for X.509 signatures, when the certificate was issued
    try {
      verifyChain([cert], trust.roots, integrated ?? new Date(cert.validFrom), { codeSigning: true });
    } catch (err) {
      if (err instanceof CertificateError) throw new CertificateError(`signature certificate in ${at} (${rfc2253(cert.subject) || 'no subject'}): ${err.message}`);
      throw err;
    }
  }
  if (trust.issuer || trust.subject) {
    let parsed: SigstoreCertificate;
    try {
      parsed = SigstoreCertificate.parse(pem);
    } catch (err) {
      throw invalid(`the certificate in ${at} cannot be read for its identity: ${(err as Error).message}`);
    }
    const issuer = fulcioIssuer(parsed);
    const subject = fulcioSubject(parsed);
    if (trust.issuer && issuer !== trust.issuer) throw invalid(`certificate in ${at} was issued for OIDC issuer ${issuer ?? '(none)'}, expected ${trust.issuer}`);
    if (trust.subject && subject !== trust.subject) throw invalid(`certificate in ${at} certifies ${subject ?? '(no email or URI)'}, expected ${trust.subject}`);
  }
  return key;
}

/** The entry's integratedTime, once its signedEntryTimestamp verifies with the Rekor key its logID names. */
function provenIntegratedTime(entry: HashedRekordEntry, rekorKeys: KeyObject[], invalid: Invalid): Date {
  const at = `Rekor entry ${entry.uuid}`;
  const t = entry.timestamp;
  if (!t || entry.integratedTime === undefined) throw invalid(`${at} has no signed entry timestamp, which the given Rekor key asks for`);
  // a log's ID is the SHA-256 of its public key (DER SubjectPublicKeyInfo)
  const key = rekorKeys.find((k) => createHash('sha256').update(k.export({ type: 'spki', format: 'der' })).digest('hex') === t.logID);
  if (!key) throw invalid(`${at} was logged by Rekor log ${t.logID}, not by the log whose key is given`);
  if (!verifySignature('sha256', t.payload, key, t.signature)) throw invalid(`the signed entry timestamp of ${at} does not verify with the given Rekor key`);
  return new Date(entry.integratedTime * 1000);
}
