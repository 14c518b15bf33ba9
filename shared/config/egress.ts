/**
 * The egress policy's variables (shared/egress), read by the stage functions and the admission webhook alike,
 * so both decide the same way. Defaults are strict: no CTF paths, no loopback, link-local, API server or
 * internal registry. Every entry is checked at start, so a typo stops the process instead of opening a hole.
 */
import { parseCidr } from '../egress/addresses.js';
import { EgressPolicy, parseHostPattern } from '../egress/policy.js';
import { env, type ConfigOf, type VarSpec } from './index.js';

/** A comma-separated list whose every entry `check` accepts (it throws with a message for people). */
function list(description: string, what: string, check: (entry: string) => void): VarSpec<string[]> {
  return {
    description,
    typeText: `comma-separated ${what}`,
    required: false,
    parse(raw) {
      const entries = (raw ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const e of entries) check(e);
      return entries;
    },
  };
}

const cidr = (e: string): void => {
  if (!parseCidr(e)) throw new Error(`${JSON.stringify(e)} is not an IP address or CIDR range`);
};
const hostPattern = (e: string): void => void parseHostPattern(e);
const cidrOrHost = (e: string): void => (parseCidr(e) ? undefined : hostPattern(e));

export const egressConfigSchema = {
  CTF_ROOT: env.string({
    description:
      'directory CommonTransportFormat repositories must live under (also after following links); unset = CTF repositories are refused',
    optional: true,
    pattern: /^\//,
  }),
  EGRESS_HOSTS: list(
    'allow-list of the hosts tenants may name as registries, Helm repositories and targets (ghcr.io, *.example.com, host:port); empty = any host that is not forbidden. Hosts a registry redirects to (storage) must be listed too',
    'host patterns',
    hostPattern,
  ),
  EGRESS_ALLOW: list(
    'exemptions from the forbidden set: a CIDR range (127.0.0.0/8) exempts loopback, link-local and EGRESS_DENY addresses in it; a host[:port] pattern exempts that host entirely (the only way to allow the API server or the internal registry)',
    'CIDR ranges or host patterns',
    cidrOrHost,
  ),
  EGRESS_DENY: list("CIDR ranges that are forbidden too, e.g. the cluster's pod and service networks", 'CIDR ranges', cidr),
} as const;

export type EgressConfig = ConfigOf<typeof egressConfigSchema>;

/** The policy for this process: `apiServer` and `internalRegistry` are host[:port] or URLs. */
export function egressPolicyFrom(config: EgressConfig, where: { apiServer?: string[]; internalRegistry?: string[] }): EgressPolicy {
  return new EgressPolicy({
    ctf: config.CTF_ROOT ? { root: config.CTF_ROOT } : 'refused',
    hosts: config.EGRESS_HOSTS,
    allow: config.EGRESS_ALLOW,
    deny: config.EGRESS_DENY,
    apiServer: where.apiServer ?? [],
    internalRegistry: where.internalRegistry ?? [],
  });
}
