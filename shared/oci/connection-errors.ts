/**
 * Connection and TLS failures in words. Node reports them as OpenSSL or libuv codes (e.g.
 * `ssl3_get_record:wrong version number`), which tell a user nothing about what to change; these messages say
 * what happened at which registry and what to do.
 */

export interface ConnectionProblem {
  message: string;
  /** worth retrying later (the registry may come up); a protocol or trust mismatch is not */
  transient: boolean;
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

const BAD_RECORD = 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC';

/** What went wrong connecting to `host`, when `err` (or a cause) is a connection or TLS failure; else undefined. */
export function describeConnectionError(err: unknown, host: string): ConnectionProblem | undefined {
  const chain: unknown[] = [];
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 6; e = (e as { cause?: unknown }).cause, depth++) chain.push(e);
  // checked first, because undici reports it as a closed socket with the TLS error as the cause. Go's TLS (zot)
  // sends its close_notify after a write that timed out, numbered as if that write had gone out, so an answer cut
  // off by the server's own request timeout looks like a corrupt record to OpenSSL
  if (chain.some((e) => (e as { code?: unknown }).code === BAD_RECORD || /decryption failed or bad record mac/i.test(String((e as { message?: unknown }).message)))) {
    return {
      message: `registry ${host} broke off the TLS stream mid-request (a record out of sequence); zot does this when its http.readTimeout or http.writeTimeout (60 s unless set) ends a long transfer`,
      transient: true,
    };
  }
  for (const e of chain) {
    const code = typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : '';
    const msg = typeof (e as { message?: unknown }).message === 'string' ? (e as { message: string }).message : '';
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || /wrong version number|packet length too long/i.test(msg)) {
      return {
        message: `registry ${host} answered plain HTTP on a TLS connection; write the reference with http:// or list ${host} as an insecure (plain HTTP) registry`,
        transient: false,
      };
    }
    if (UNTRUSTED.has(code)) {
      return { message: `the TLS certificate of registry ${host} is not trusted (${code}); give the CA that signed it`, transient: false };
    }
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
      return { message: `the TLS certificate of registry ${host} is not valid now (${code})`, transient: false };
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return { message: `the TLS certificate of registry ${host} does not name ${host.replace(/:\d+$/, '')}`, transient: false };
    }
    if (code === 'ECONNREFUSED') return { message: `registry ${host} refused the connection (nothing listens there)`, transient: true };
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { message: `registry host ${host.replace(/:\d+$/, '')} cannot be resolved`, transient: true };
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return { message: `registry ${host} closed the connection`, transient: true };
    if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return { message: `connecting to registry ${host} timed out`, transient: true };
  }
  return undefined;
}
