import { OciError } from './errors.js';

/**
 * The HTTP/1.1 response-head parsing the raw-socket blob transfers need (socket-transfer.ts): status line and
 * header fields up to the blank line, and the body length from Content-Length. Anything beyond that (chunked
 * bodies, 1xx, obsolete line folding) is reported, not handled: the caller then falls back to undici.
 */

/** The response head is malformed or larger than the limit. */
export class ResponseHeadError extends OciError {
  override readonly name = 'ResponseHeadError';
}

export interface ResponseHead {
  status: number;
  /** field names lower-cased; repeated fields joined with ", " (RFC 9110 §5.3) */
  headers: Record<string, string>;
}

const STATUS_LINE = /^HTTP\/1\.[01] ([1-5]\d\d)(?: [^\r\n]*)?$/;
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** field values may hold visible ASCII, obs-text, spaces and tabs; CR, LF and NUL never */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Parses a response head (the text before the blank line, without it). Throws ResponseHeadError. */
export function parseResponseHead(head: string): ResponseHead {
  const lines = head.split('\r\n');
  const statusLine = lines[0] ?? '';
  const m = STATUS_LINE.exec(statusLine);
  if (!m) throw new ResponseHeadError(`malformed HTTP status line "${statusLine.slice(0, 80)}"`);
  // no prototype: a header named "constructor" or "__proto__" must be an ordinary field
  const headers = Object.create(null) as Record<string, string>;
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    if (line.startsWith(' ') || line.startsWith('\t')) throw new ResponseHeadError('obsolete line folding in the response head');
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!FIELD_NAME.test(name)) throw new ResponseHeadError(`malformed header line "${line.slice(0, 80)}"`);
    const value = line.slice(colon + 1).trim();
    if (!FIELD_VALUE.test(value)) throw new ResponseHeadError(`header ${name} holds control characters`);
    const key = name.toLowerCase();
    headers[key] = Object.hasOwn(headers, key) ? `${headers[key]}, ${value}` : value;
  }
  return { status: Number(m[1]), headers };
}

/**
 * The body length the head announces: Content-Length, when that is how the body is framed. undefined when the
 * body is framed otherwise (Transfer-Encoding, or read until close). Repeated equal values are allowed
 * (RFC 9110 §8.6); differing or non-numeric ones throw.
 */
export function contentLength(head: ResponseHead): number | undefined {
  if (head.headers['transfer-encoding'] !== undefined) return undefined;
  const raw = head.headers['content-length'];
  if (raw === undefined) return undefined;
  const values = new Set(raw.split(',').map((v) => v.trim()));
  const [only] = values;
  if (values.size !== 1 || only === undefined || !/^\d{1,15}$/.test(only)) {
    throw new ResponseHeadError(`invalid Content-Length "${raw.slice(0, 80)}"`);
  }
  return Number(only);
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Collects the bytes of a response head as they arrive in (reused) read buffers. `push` copies what it keeps, so
 * the caller may reuse its buffer, and returns the parsed head and where the body starts in that chunk.
 */
export class ResponseHeadReader {
  private buf: Buffer;
  private len = 0;

  constructor(private readonly maxBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.min(4096, maxBytes));
  }

  /** Returns undefined while the head is incomplete; throws ResponseHeadError when malformed or too large. */
  push(chunk: Buffer): { head: ResponseHead; bodyOffset: number } | undefined {
    // the terminator may straddle two reads: search from 3 bytes before the new data
    const searchFrom = Math.max(0, this.len - 3);
    const take = Math.min(chunk.length, this.maxBytes - this.len);
    if (this.len + take > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.maxBytes, Math.max(this.buf.length * 2, this.len + take)));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    chunk.copy(this.buf, this.len, 0, take);
    const before = this.len;
    this.len += take;
    const end = this.buf.subarray(0, this.len).indexOf(CRLFCRLF, searchFrom);
    if (end < 0) {
      if (this.len >= this.maxBytes) throw new ResponseHeadError(`response head larger than ${this.maxBytes} bytes`);
      return undefined;
    }
    const head = parseResponseHead(this.buf.toString('latin1', 0, end));
    return { head, bodyOffset: end + 4 - before };
  }
}
