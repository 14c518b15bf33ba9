/**
 * Where objects may point the functions: the one egress policy. A tenant names registries, Helm repositories,
 * image references, Publication targets and CTF paths; the functions go there with their own network identity
 * and file system. This decides, before any connection, whether they may:
 *
 * - a CTF path must lie under the operator's root directory (none by default in the cluster: refused);
 * - a host must match the operator's allow-list of host patterns when one is set;
 * - a host (and every address its name resolves to) must not be loopback, unspecified, link-local, multicast,
 *   in an operator-denied range, the Kubernetes API server or the internal registry - unless the operator
 *   exempts it by address range or host pattern.
 *
 * The decision is checked three times: statically at admission (`checkHost`, `checkCtfPath`), when a stage
 * starts (the same), and when a socket is opened (`resolve`, used by the connector of every source client:
 * the address connected to is the one checked, so a DNS answer that changes between check and connect, or a
 * redirect to another host, cannot get past it).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { realpath } from 'node:fs/promises';
import { isAbsolute, normalize, sep } from 'node:path';
import { FORBIDDEN_RANGES, Ranges, canonicalAddress, family, parseCidr } from './addresses.js';

export interface EgressSettings {
  /** `anywhere` (the local runner: its user owns the machine), a root directory, or `refused` (the default) */
  ctf?: { anywhere: true } | { root: string } | 'refused';
  /** allow-list of host patterns (`ghcr.io`, `*.example.com`, `registry.local:5000`); empty = any host not forbidden */
  hosts?: readonly string[];
  /** exemptions from the forbidden set: CIDR ranges (`127.0.0.0/8`) or host patterns (`zot.ocm.svc:5000`) */
  allow?: readonly string[];
  /** more forbidden CIDR ranges (e.g. the cluster's pod and service networks) */
  deny?: readonly string[];
  /** host[:port] of the Kubernetes API server (names or addresses); the usual in-cluster names are always added */
  apiServer?: readonly string[];
  /** host[:port] of the internal registry (its URL and the host Flux uses) */
  internalRegistry?: readonly string[];
  /** resolver (default: the system's, like a socket would); tests never need another */
  lookup?: (host: string) => Promise<string[]>;
}

/** What a refusal is called in a `Ready=False` condition. */
export const SOURCE_NOT_ALLOWED = 'SourceNotAllowed';

export class EgressRefusedError extends Error {
  override name = 'EgressRefusedError';
  constructor(
    readonly location: string,
    readonly why: string,
  ) {
    super(`${location} is not allowed: ${why}`);
  }
}

/** The refusal somewhere in an error's cause chain (clients wrap the connector's error). */
export function egressRefusal(err: unknown): EgressRefusedError | undefined {
  for (let e = err, i = 0; e && typeof e === 'object' && i < 8; e = (e as { cause?: unknown }).cause, i++) {
    if (e instanceof EgressRefusedError) return e;
  }
  return undefined;
}

/** `kubernetes.default.svc` and friends: the API server under the names every pod can resolve. */
const API_SERVER_NAMES = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];

interface HostPattern {
  /** lowercase name or address; `*.` prefix = any subdomain */
  host: string;
  port?: number;
}

/** `name`, `*.suffix`, `1.2.3.4`, `[::1]`, each with an optional `:port`. */
export function parseHostPattern(text: string): HostPattern {
  const t = text.trim().toLowerCase();
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(t);
  if (v6) return { host: canonicalAddress(v6[1]!), ...(v6[2] ? { port: Number(v6[2]) } : {}) };
  const m = /^(\*\.)?([a-z0-9_-]+(?:\.[a-z0-9_-]+)*)\.?(?::(\d{1,5}))?$/.exec(t);
  if (!m) throw new Error(`${JSON.stringify(text)} is not a host pattern (host, *.domain or [v6], each with an optional :port)`);
  return { host: `${m[1] ?? ''}${canonicalAddress(m[2]!)}`, ...(m[3] ? { port: Number(m[3]) } : {}) };
}

function matches(p: HostPattern, host: string, port: number | undefined): boolean {
  if (p.port !== undefined && p.port !== port) return false;
  if (p.host.startsWith('*.')) return host.endsWith(p.host.slice(1)) && host.length > p.host.length - 1;
  return p.host === host;
}

/** Lowercase, no brackets, no trailing dot, IPv4-mapped addresses as IPv4. */
export function canonicalHost(host: string): string {
  return canonicalAddress(host.trim().toLowerCase().replace(/\.$/, ''));
}

/** `host[:port]` or a URL -> host and port (the scheme's default port when none is given; undefined without scheme). */
export function splitHostPort(text: string): { host: string; port?: number } {
  const url = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  const rest = url ? text.slice(url[0].length) : text;
  const authority = rest.split(/[/?#]/, 1)[0]!.replace(/^.*@/, '');
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(authority);
  const host = canonicalHost(m?.[1] ?? authority);
  const scheme = url?.[1]!.toLowerCase();
  const port = m?.[2] ? Number(m[2]) : scheme === 'http' ? 80 : scheme === 'https' ? 443 : undefined;
  return { host, ...(port !== undefined ? { port } : {}) };
}

export class EgressPolicy {
  /** No checks at all: the local runner, whose user owns the machine and every file the runner could read. */
  static unrestricted(): EgressPolicy {
    return new EgressPolicy({ ctf: { anywhere: true } }, true);
  }

  /** False for the unrestricted policy: its clients need no guarded connector. */
  get guardsConnections(): boolean {
    return !this.open;
  }

  private readonly hosts: HostPattern[];
  private readonly allowHosts: HostPattern[];
  private readonly allowRanges = new Ranges();
  private readonly forbiddenRanges = new Ranges();
  /** API server and internal registry, by name or address, each with why it is forbidden */
  private readonly named: { pattern: HostPattern; why: string }[] = [];
  private readonly lookup: (host: string) => Promise<string[]>;
  private resolvedNamed: { at: number; entries: { address: string; port?: number; why: string }[] } | undefined;

  constructor(
    readonly settings: EgressSettings,
    private readonly open = false,
  ) {
    this.hosts = (settings.hosts ?? []).map(parseHostPattern);
    this.allowHosts = [];
    for (const a of settings.allow ?? []) {
      if (parseCidr(a)) this.allowRanges.add(a, 'exempted');
      else this.allowHosts.push(parseHostPattern(a));
    }
    for (const r of FORBIDDEN_RANGES) this.forbiddenRanges.add(r.cidr, r.why);
    for (const d of settings.deny ?? []) this.forbiddenRanges.add(d, `in a denied range (${d.trim()})`);
    const named = (list: readonly string[] | undefined, why: string): void => {
      for (const entry of list ?? []) this.named.push({ pattern: { ...splitHostPort(entry) }, why });
    };
    named(settings.apiServer, 'the Kubernetes API server');
    named(API_SERVER_NAMES, 'the Kubernetes API server');
    named(settings.internalRegistry, 'the internal registry (snapshots of every tenant)');
    this.lookup =
      settings.lookup ??
      (async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address));
  }

  get ctfAllowed(): boolean {
    return this.settings.ctf !== undefined && this.settings.ctf !== 'refused';
  }

  /** A CTF path, read lexically (admission, stage start). */
  checkCtfPath(path: string): void {
    const ctf = this.settings.ctf ?? 'refused';
    if (ctf === 'refused') {
      throw new EgressRefusedError(
        `CommonTransportFormat path ${path}`,
        'this installation reads components only from OCI registries (the operator has set no CTF_ROOT)',
      );
    }
    if ('anywhere' in ctf) return;
    if (!isAbsolute(path) || !underRoot(normalize(path), ctf.root)) {
      throw new EgressRefusedError(`CommonTransportFormat path ${path}`, `it must be an absolute path under ${ctf.root}`);
    }
  }

  /** A CTF path on disk: also after following symbolic links (a link under the root must not lead out of it). */
  async checkCtfFile(path: string): Promise<void> {
    this.checkCtfPath(path);
    const ctf = this.settings.ctf;
    if (ctf === undefined || ctf === 'refused' || 'anywhere' in ctf) return;
    let real: string;
    let root: string;
    try {
      [real, root] = await Promise.all([realpath(path), realpath(ctf.root)]);
    } catch {
      return; // missing: opening it fails with its own message, and nothing was read
    }
    if (!underRoot(real, root)) throw new EgressRefusedError(`CommonTransportFormat path ${path}`, `it leads to ${real}, outside ${ctf.root}`);
  }

  /** Host checks that need no DNS: allow-list, forbidden names, literal addresses, `localhost`. */
  checkHost(hostText: string, port?: number): void {
    if (this.open) return;
    const host = canonicalHost(hostText);
    const where = port !== undefined ? `${formatHost(host)}:${port}` : formatHost(host);
    if (this.hosts.length > 0 && !this.hosts.some((p) => matches(p, host, port))) {
      throw new EgressRefusedError(where, `the host is not in the operator's allow-list (${(this.settings.hosts ?? []).join(', ')})`);
    }
    if (this.exemptHost(host, port)) return;
    // an unknown port (a bare host at admission) matches the named host on any port: better refused than missed
    const named = this.named.find((n) => n.pattern.host === host && (n.pattern.port === undefined || port === undefined || n.pattern.port === port));
    if (named) throw new EgressRefusedError(where, `it is ${named.why}`);
    if (family(host)) {
      const why = this.addressProblem(host);
      if (why) throw new EgressRefusedError(where, `it is ${why}`);
    } else if ((host === 'localhost' || host.endsWith('.localhost')) && this.addressProblem('127.0.0.1')) {
      // always loopback (RFC 6761): refused before any DNS, unless loopback is exempted (then its answers are checked)
      throw new EgressRefusedError(where, `it is ${this.addressProblem('127.0.0.1')}`);
    }
  }

  /**
   * The address to connect to for `host:port`, after every check: the static ones and each address the name
   * resolves to (all must pass, so a name cannot mix an allowed and a forbidden answer). Sockets connect to the
   * returned address, so what was checked is what is reached.
   */
  async resolve(hostText: string, port: number): Promise<string> {
    const host = canonicalHost(hostText);
    this.checkHost(host, port);
    if (family(host)) return host;
    const addresses = await this.lookup(host);
    if (this.open) return addresses[0] ?? host;
    if (!this.exemptHost(host, port)) {
      for (const address of addresses) {
        const why = this.addressProblem(address) ?? (await this.namedAddress(address, port));
        if (why) throw new EgressRefusedError(`${host}:${port}`, `it resolves to ${address}, ${why}`);
      }
    }
    const first = addresses[0];
    if (first === undefined) throw Object.assign(new Error(`${host} has no addresses`), { code: 'ENOTFOUND' });
    return canonicalAddress(first);
  }

  private exemptHost(host: string, port: number | undefined): boolean {
    return this.allowHosts.some((p) => matches(p, host, port));
  }

  /** Why a forbidden range holds `address` (unless an exempted range holds it too). */
  private addressProblem(address: string): string | undefined {
    const why = this.forbiddenRanges.match(address);
    return why !== undefined && this.allowRanges.match(address) === undefined ? why : undefined;
  }

  /** The API server or internal registry at this address and port (their names resolved, cached for 30 s). */
  private async namedAddress(address: string, port: number): Promise<string | undefined> {
    const now = Date.now();
    if (!this.resolvedNamed || now - this.resolvedNamed.at > 30_000) {
      const entries: { address: string; port?: number; why: string }[] = [];
      await Promise.all(
        this.named.map(async (n) => {
          const addrs = family(n.pattern.host) ? [n.pattern.host] : await this.lookup(n.pattern.host).catch(() => []);
          for (const a of addrs) entries.push({ address: canonicalAddress(a), ...(n.pattern.port !== undefined ? { port: n.pattern.port } : {}), why: n.why });
        }),
      );
      this.resolvedNamed = { at: now, entries };
    }
    const a = canonicalAddress(address);
    return this.resolvedNamed.entries.find((e) => e.address === a && (e.port === undefined || e.port === port))?.why;
  }
}

function underRoot(path: string, root: string): boolean {
  const r = normalize(root).replace(/[/\\]+$/, '');
  return path === r || path.startsWith(r + sep);
}

function formatHost(host: string): string {
  return family(host) === 'ipv6' ? `[${host}]` : host;
}
