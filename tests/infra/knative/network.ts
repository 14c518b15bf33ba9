/**
 * The cluster network of one Knative-as-processes run, without fixed host ports or addresses.
 *
 * Every pod (a Knative process) runs in its own network and mount namespace (`unshare --net --mount`), so the
 * ports Knative binds unconditionally (:8080 health, :8443 ...) never meet another run's. Inside, the pod agent
 * (pod-agent.mjs) answers DNS for `*.svc.cluster.local` from this run's table, relays TCP to a service's
 * virtual address (127.77.x.y, private to the pod's namespace) to a unix socket, and exposes the pod's own
 * ports as unix sockets. Unix sockets live in the run's folder: the file system is what the namespaces share.
 * The harness side (this class) keeps the table and serves the sockets that lead back to the host's loopback:
 * the API server and the test's function processes (which listen on free 127.0.0.1 ports as usual).
 *
 * Only loopback addresses and the pods' own namespaces are ever connected to.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

/** What pod-agent.mjs reads (JSON). */
export interface PodAgentConfig {
  tablePath: string;
  apiPort: number;
  apiSocket: string;
  /** ports the pod may dial on a virtual address (a Service's port) */
  servicePorts: number[];
  /** the pod's own ports, each exposed as a unix socket */
  exports: Array<{ port: number; socket: string }>;
  readyFile: string;
}

/** The run's name/address table (pod-agent.mjs reads it on every lookup and connection). */
interface Table {
  /** fully qualified service name -> virtual address */
  names: Record<string, string>;
  /** "<virtual address>:<port>" -> unix socket */
  routes: Record<string, string>;
}

/** Service ports pods dial: HTTP on 80 is all Knative's data plane and our sinks use. */
export const SERVICE_PORTS = [80];

function pipe(a: Socket, b: Socket): void {
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.pipe(b);
  b.pipe(a);
}

export class ClusterNetwork {
  private readonly table: Table = { names: {}, routes: {} };
  private readonly servers: Server[] = [];
  private readonly podIds = new Map<string, string>();
  private nextAddress = 1;
  readonly tablePath: string;
  readonly socketDir: string;
  readonly apiSocket: string;

  /** `dir`: the run's folder (short: unix socket paths are limited to 107 bytes) */
  constructor(
    readonly dir: string,
    readonly apiPort: number,
  ) {
    this.socketDir = join(dir, 's');
    mkdirSync(this.socketDir, { recursive: true });
    this.tablePath = join(dir, 'table.json');
    this.apiSocket = join(this.socketDir, 'api');
    this.write();
  }

  /** Serves the unix socket every pod's API relay connects to. */
  async start(): Promise<void> {
    await this.relay(this.apiSocket, { host: '127.0.0.1', port: this.apiPort });
  }

  /** The agent configuration of a pod whose own ports are `ports` (sockets under the run's folder). */
  podAgentConfig(pod: string, ports: number[]): PodAgentConfig {
    const podDir = this.podDir(pod);
    mkdirSync(podDir, { recursive: true });
    return {
      tablePath: this.tablePath,
      apiPort: this.apiPort,
      apiSocket: this.apiSocket,
      servicePorts: SERVICE_PORTS,
      exports: ports.map((port) => ({ port, socket: this.podSocket(pod, port) })),
      readyFile: join(podDir, 'ready'),
    };
  }

  podSocket(pod: string, port: number): string {
    return join(this.podDir(pod), String(port));
  }

  /** A pod's folder: a short id, not its name (Deployment names make pod names too long for socket paths). */
  podDir(pod: string): string {
    let id = this.podIds.get(pod);
    if (!id) {
      id = `p${this.podIds.size}`;
      this.podIds.set(pod, id);
    }
    return join(this.socketDir, id);
  }

  /** `<name>.<namespace>.svc.cluster.local` */
  static fqdn(name: string, namespace: string): string {
    return `${name}.${namespace}.svc.cluster.local`;
  }

  /** Points a service name's ports at unix sockets (a pod's exported port, or a host relay). Replaces earlier routes. */
  route(fqdn: string, ports: Record<number, string>): void {
    const address = this.addressOf(fqdn);
    for (const key of Object.keys(this.table.routes)) if (key.startsWith(`${address}:`)) delete this.table.routes[key];
    for (const [port, socket] of Object.entries(ports)) this.table.routes[`${address}:${port}`] = socket;
    this.write();
  }

  /** A name that resolves like another (an ExternalName Service). */
  alias(fqdn: string, target: string): void {
    this.table.names[fqdn.toLowerCase()] = this.addressOf(target);
    this.write();
  }

  unroute(fqdn: string): void {
    const address = this.table.names[fqdn.toLowerCase()];
    if (!address) return;
    for (const key of Object.keys(this.table.routes)) if (key.startsWith(`${address}:`)) delete this.table.routes[key];
    this.write();
  }

  /**
   * Makes a process on the host's loopback (e.g. a function server at http://127.0.0.1:PORT/) reachable from the
   * pods as http://<fqdn>/ (port 80), the way a Knative Service's address would be. Returns that URL.
   */
  async exposeHost(fqdn: string, target: { host: string; port: number }): Promise<string> {
    const socket = join(this.socketDir, `h-${this.servers.length}`);
    await this.relay(socket, target);
    this.route(fqdn, { 80: socket });
    return `http://${fqdn}/`;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private addressOf(fqdn: string): string {
    const name = fqdn.toLowerCase();
    let address = this.table.names[name];
    if (!address) {
      // private to the pods' namespaces (never bound on the host): any 127/8 address reaches their own lo
      const n = this.nextAddress++;
      address = `127.77.${n >> 8}.${n & 0xff}`;
      this.table.names[name] = address;
    }
    return address;
  }

  private async relay(socket: string, target: { host: string; port: number }): Promise<void> {
    if (existsSync(socket)) rmSync(socket);
    const server = createServer((s) => {
      s.pause();
      const up = connect(target, () => s.resume());
      pipe(s, up);
    });
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
  }

  private write(): void {
    const tmp = `${this.tablePath}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.table));
    renameSync(tmp, this.tablePath);
  }
}
