/**
 * Sockets that open only to addresses a guard has checked (shared/egress decides; this is the plumbing).
 * The guard resolves the host itself and the socket connects to the address it returned, so the address
 * checked is the address reached: a DNS answer that changes between a check and the connect, or a redirect to
 * another host (which opens a new connection through the same connector), cannot get past it.
 */
import type { buildConnector as BuildConnector } from 'undici';
import { buildConnector } from './undici-core.js';

/** Decides where a connection may go. Throws (a refusal) or returns the address to connect to. */
export interface ConnectGuard {
  resolve(host: string, port: number): Promise<string>;
}

export function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

/**
 * An undici connector (`new Agent({ connect })`) that asks `guard` before each socket. TLS still verifies the
 * certificate against the host name: undici derives the servername from `host` (name:port), not `hostname`.
 */
export function guardedConnector(guard: ConnectGuard, options: BuildConnector.BuildOptions): BuildConnector.connector {
  const inner = buildConnector(options);
  return (opts, callback) => {
    const port = Number(opts.port) || defaultPort(opts.protocol);
    guard.resolve(opts.hostname, port).then(
      (address) => inner({ ...opts, hostname: address }, callback),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
    );
  };
}
