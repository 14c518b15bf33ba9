import { createHash } from 'node:crypto';
import { fstatSync, readSync } from 'node:fs';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { InvalidArgumentError, SizeMismatchError } from './errors.js';
import { contentLength, ResponseHeadReader, type ResponseHead } from './http-head.js';
import { PageCacheWriter } from './page-cache-writer.js';
import { defaultPort, type ConnectGuard } from './guarded-connect.js';

/**
 * Large-blob transfers on a raw socket with reused buffers: one HTTP/1.1 request per connection, no per-chunk
 * allocation.
 *
 * Why: undici (like any Node stream) allocates a fresh 64 KiB Buffer per socket read and the file side allocates
 * one per read as well; those are freed only when V8 collects them, which it starts at ~64 MB of external memory.
 * That slack, not the data in flight, set our peak RSS at 126-144 MiB for a 1 GiB transfer, and the per-chunk
 * stream hops and undici's wasm parser cost CPU on pulls (bench/README.md, "Registry traffic"). Here a download
 * reads into one preallocated buffer (the socket `onread` option, also honoured by tls.connect), hashes it and
 * writes it synchronously to the file before the next read (page-cache-writer.ts picks the write size); an upload
 * reads the file into a few rotating buffers and reuses each once the socket has taken it.
 *
 * Only the simple case is handled: a response framed by Content-Length. Anything else (chunked, 1xx, a malformed
 * head) is reported as `unsupported` and the caller repeats the request with undici. Auth, redirects, retries and
 * digest checks stay with the caller (client.ts), which knows the registry.
 */

export interface SocketTransferOptions {
  /** trusted CAs for https (public roots plus the custom CA); undefined: Node's defaults */
  ca?: string[];
  connectTimeoutMs: number;
  /** abort when no byte moved in either direction for this long */
  idleTimeoutMs: number;
  /** size of the reused read buffer of a download, and of each rotating file buffer of an upload */
  bufferBytes: number;
  /** checks the host (and the address it resolves to) before the socket opens; the socket goes to that address */
  guard?: ConnectGuard;
}

/** A response that was not a blob body (redirect, error, or the answer to an upload), with its body text. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** at most the first 64 KiB */
  body: string;
}

export type TransferResult =
  | { kind: 'written'; size: number; digest: string; smallWrites: boolean }
  | { kind: 'response'; response: RawResponse }
  | { kind: 'unsupported'; reason: string };

const MAX_ERROR_BODY = 64 * 1024;
const UPLOAD_BUFFERS = 3;

/** An error isNetworkError() recognises, so the retry policy restarts the transfer. */
function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function requestHead(method: string, url: URL, headers: Record<string, string>): string {
  let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n\0]/.test(value) || !/^[A-Za-z0-9-]+$/.test(name)) {
      throw new InvalidArgumentError(`header ${name} for ${url.host} holds characters not allowed in HTTP`);
    }
    head += `${name}: ${value}\r\n`;
  }
  // one request per connection: the transfer is long, so a fresh connection costs nothing measurable
  return `${head}connection: close\r\n\r\n`;
}

/** `address`: where to connect (the guard's answer); the certificate is still checked against the URL's host. */
function openSocket(url: URL, address: string, opts: SocketTransferOptions, readBuffer: Buffer, onRead: (chunk: Buffer) => void): Socket {
  const https = url.protocol === 'https:';
  const port = Number(url.port) || defaultPort(url.protocol);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const onread = {
    buffer: readBuffer,
    callback: (n: number, buf: Uint8Array): boolean => {
      onRead(Buffer.from(buf.buffer, buf.byteOffset, n));
      return true;
    },
  };
  if (!https) return netConnect({ host: address, port, onread });
  // tls.connect honours `onread` like net.connect (checked on Node 20: plaintext arrives in our buffer, up to
  // 16 KiB per TLS record), but @types/node 20 lists it for net only
  const tlsOpts: ConnectionOptions & { onread: typeof onread } = { host: address, port, onread, ALPNProtocols: ['http/1.1'] };
  if (!isIP(host)) tlsOpts.servername = host;
  if (opts.ca) tlsOpts.ca = opts.ca;
  return tlsConnect(tlsOpts);
}

/**
 * Runs one request on a fresh connection and collects the response. `onBlob` decides, once the head is in,
 * whether the body is the blob (then every body chunk goes to `sink` straight from the read buffer) or an
 * ordinary response to collect. `sendBody` streams a request body after the head.
 */
async function exchange(
  url: URL,
  head: string,
  opts: SocketTransferOptions,
  readBytes: number,
  handlers: {
    /** a sink for the body when it is the blob, else undefined (collect it as a response) */
    blobSink?: (head: ResponseHead, length: number) => ((chunk: Buffer) => void) | undefined;
    /** the result when the blob body is complete */
    blobDone?: () => TransferResult;
    sendBody?: (socket: Socket, failed: (err: Error) => void, stopped: () => boolean) => void;
  },
): Promise<TransferResult> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const address = opts.guard ? await opts.guard.resolve(host, Number(url.port) || defaultPort(url.protocol)) : host;
  return new Promise<TransferResult>((resolve, reject) => {
    const reader = new ResponseHeadReader();
    let phase: 'connecting' | 'head' | 'blob' | 'other' | 'done' = 'connecting';
    let length = 0;
    let received = 0;
    let status = 0;
    let headers: Record<string, string> = {};
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let sink: ((chunk: Buffer) => void) | undefined;

    const finish = (result: TransferResult | undefined, err?: unknown): void => {
      if (phase === 'done') return;
      phase = 'done';
      clearTimeout(connectTimer);
      socket.destroy();
      if (err !== undefined) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(result as TransferResult);
    };
    const collected = (): TransferResult => ({
      kind: 'response',
      response: { status, headers, body: Buffer.concat(kept).toString('utf8') },
    });

    const onRead = (chunk: Buffer): void => {
      if (phase === 'done') return;
      try {
        let body = chunk;
        if (phase === 'head' || phase === 'connecting') {
          const got = reader.push(chunk);
          if (!got) return;
          status = got.head.status;
          headers = got.head.headers;
          body = chunk.subarray(got.bodyOffset);
          const len = contentLength(got.head);
          if (status < 200) return finish({ kind: 'unsupported', reason: `HTTP ${status} interim response` });
          if (len === undefined) return finish({ kind: 'unsupported', reason: `HTTP ${status} body not framed by Content-Length` });
          length = len;
          sink = handlers.blobSink?.(got.head, len);
          phase = sink ? 'blob' : 'other';
        }
        if (received + body.length > length) {
          // more bytes than announced (no pipelining on this connection): a broken response
          throw networkError('ECONNRESET', `${url.host} sent more than the announced ${length} bytes`);
        }
        received += body.length;
        if (phase === 'blob') {
          if (body.length > 0) sink?.(body);
          if (received === length) finish(handlers.blobDone?.());
        } else {
          if (keptBytes < MAX_ERROR_BODY && body.length > 0) {
            // copied: the read buffer is reused for the next read
            const part = Buffer.from(body.subarray(0, MAX_ERROR_BODY - keptBytes));
            kept.push(part);
            keptBytes += part.length;
          }
          if (received === length) finish(collected());
        }
      } catch (err) {
        finish(undefined, err);
      }
    };

    const socket = openSocket(url, address, opts, Buffer.allocUnsafe(readBytes), onRead);
    const connectTimer = setTimeout(
      () => finish(undefined, networkError('ETIMEDOUT', `connecting to ${url.host} timed out after ${opts.connectTimeoutMs} ms`)),
      opts.connectTimeoutMs,
    );
    socket.setNoDelay(true);
    socket.setTimeout(opts.idleTimeoutMs, () =>
      finish(undefined, networkError('ETIMEDOUT', `${url.host}: no data for ${opts.idleTimeoutMs} ms`)),
    );
    socket.on('error', (err) => finish(undefined, err));
    socket.on('close', () => {
      if (phase !== 'done') {
        finish(undefined, networkError('ECONNRESET', `${url.host} closed the connection after ${received} of ${length || '?'} body bytes`));
      }
    });
    socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      clearTimeout(connectTimer);
      if (phase === 'connecting') phase = 'head';
      socket.write(head);
      handlers.sendBody?.(socket, (err) => finish(undefined, err), () => phase === 'done' || phase === 'other');
    });
  });
}

/**
 * GET `url` and, when the answer is 200 with a Content-Length, write the body into `fd` (at its current position)
 * while hashing it. Any other answer comes back as a response (redirects, errors) or as `unsupported`.
 * The caller checks the returned digest and size against what it expected.
 */
export function getToFile(
  url: URL,
  headers: Record<string, string>,
  fd: number,
  algorithm: 'sha256' | 'sha512',
  expectedSize: number,
  what: string,
  opts: SocketTransferOptions,
): Promise<TransferResult> {
  const hash = createHash(algorithm);
  const file = new PageCacheWriter(fd);
  let size = 0;
  return exchange(url, requestHead('GET', url, headers), opts, opts.bufferBytes, {
    blobSink: (head, length) => {
      if (head.status !== 200) return undefined;
      if (length !== expectedSize) throw new SizeMismatchError(`${what}: Content-Length`, expectedSize, length);
      return (chunk) => {
        hash.update(chunk);
        file.write(chunk);
        size += chunk.length;
      };
    },
    blobDone: () => ({ kind: 'written', size, digest: `${algorithm}:${hash.digest('hex')}`, smallWrites: file.small }),
  });
}

/**
 * PUT the first `size` bytes of the file `fd` (which must hold exactly `size` bytes) as the request body, read
 * into a few rotating buffers, each reused once the socket has written it. Returns the registry's answer,
 * which may arrive before the body is complete (an early error stops the sending).
 */
export function putFromFile(
  url: URL,
  headers: Record<string, string>,
  fd: number,
  size: number,
  what: string,
  opts: SocketTransferOptions,
): Promise<TransferResult> {
  const actual = fstatSync(fd).size;
  if (actual !== size) return Promise.reject(new SizeMismatchError(`${what}: source file`, size, actual));
  const head = requestHead('PUT', url, { ...headers, 'content-length': String(size) });
  return exchange(url, head, opts, 16 * 1024, {
    sendBody: (socket, failed, stopped) => {
      const buffers = Array.from({ length: UPLOAD_BUFFERS }, () => Buffer.allocUnsafe(Math.min(opts.bufferBytes, Math.max(size, 1))));
      let offset = 0;
      let inFlight = 0;
      let next = 0;
      const pump = (): void => {
        try {
          // socket writes complete in order, so with fewer than UPLOAD_BUFFERS in flight the next buffer is free
          while (!stopped() && inFlight < buffers.length && offset < size) {
            const buf = buffers[next] as Buffer;
            next = (next + 1) % buffers.length;
            const n = readSync(fd, buf, 0, Math.min(buf.length, size - offset), offset);
            if (n <= 0) throw new SizeMismatchError(`${what}: source file`, size, offset);
            offset += n;
            inFlight++;
            socket.write(n === buf.length ? buf : buf.subarray(0, n), (err) => {
              inFlight--;
              // a write error also surfaces as the socket's 'error'
              if (!err) pump();
            });
          }
        } catch (err) {
          failed(err instanceof Error ? err : new Error(String(err)));
        }
      };
      pump();
    },
  });
}
