/**
 * The OciConnector backed by shared/oci's RegistryClient: one client per registry host, credentials looked up
 * per host (dockerconfigjson), plain HTTP only for hosts the caller marks insecure (or `http://` baseUrls).
 */
import { RegistryClient, type ConnectGuard, type CredentialProvider, type Credential } from '../oci/index.js';
import type { OciConnector, RegistryLocation } from './ports.js';

export interface RegistryConnectorOptions {
  credentials?: Credential | CredentialProvider;
  /** extra CA (PEM contents) trusted for TLS registries */
  ca?: string | Buffer;
  caFile?: string;
  /** hosts (host:port) reached over plain HTTP even without an http:// prefix */
  insecureHosts?: string[];
  /** asked before every connection (the egress policy) */
  guard?: ConnectGuard;
}

export interface ClosableConnector {
  connect: OciConnector;
  close(): Promise<void>;
}

export function registryConnector(opts: RegistryConnectorOptions = {}): ClosableConnector {
  const clients = new Map<string, RegistryClient>();
  const insecure = new Set(opts.insecureHosts ?? []);
  const clientFor = (loc: RegistryLocation): RegistryClient => {
    const plain = loc.insecure === true || insecure.has(loc.host);
    const key = `${plain ? 'http' : 'https'}://${loc.host}`;
    let c = clients.get(key);
    if (!c) {
      c = new RegistryClient({
        url: key,
        ...(opts.credentials ? { credentials: opts.credentials } : {}),
        ...(opts.ca ? { ca: opts.ca } : {}),
        ...(opts.caFile ? { caFile: opts.caFile } : {}),
        ...(opts.guard ? { guard: opts.guard } : {}),
      });
      clients.set(key, c);
    }
    return c;
  };
  return {
    connect: (loc, repository) => clientFor(loc).repository(repository),
    close: async () => {
      await Promise.all([...clients.values()].map((c) => c.close()));
      clients.clear();
    },
  };
}
