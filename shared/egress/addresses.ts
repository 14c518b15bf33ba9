/**
 * IP address ranges the egress policy reasons about, over node:net's BlockList. An IPv4-mapped IPv6 address
 * (`::ffff:127.0.0.1`) counts as its IPv4 address, so it cannot slip past a v4 range.
 */
import { BlockList, isIP } from 'node:net';

/** The address ranges that are never a source or target unless an operator exempts them (EGRESS_ALLOW). */
export const FORBIDDEN_RANGES: readonly { cidr: string; why: string }[] = [
  { cidr: '127.0.0.0/8', why: 'a loopback address (the function pod itself)' },
  { cidr: '::1/128', why: 'a loopback address (the function pod itself)' },
  { cidr: '0.0.0.0/8', why: 'an unspecified address (reaches the pod itself)' },
  { cidr: '::/128', why: 'an unspecified address (reaches the pod itself)' },
  { cidr: '169.254.0.0/16', why: 'a link-local address (cloud metadata endpoints live here)' },
  { cidr: 'fe80::/10', why: 'a link-local address (cloud metadata endpoints live here)' },
  { cidr: '224.0.0.0/4', why: 'a multicast address' },
  { cidr: 'ff00::/8', why: 'a multicast address' },
];

/** `::ffff:1.2.3.4` and `::ffff:102:304` -> `1.2.3.4`; other addresses unchanged (brackets removed). */
export function canonicalAddress(address: string): string {
  const a = address.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted) return dotted[1]!;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return a;
}

export function family(address: string): 'ipv4' | 'ipv6' | undefined {
  const v = isIP(address);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

/** Parses `10.0.0.0/8`, `fd00::/8` or a single address; undefined when it is neither. */
export function parseCidr(text: string): { network: string; prefix: number; type: 'ipv4' | 'ipv6' } | undefined {
  const [addr, bits, ...rest] = text.trim().split('/');
  if (addr === undefined || rest.length > 0) return undefined;
  const network = canonicalAddress(addr);
  const type = family(network);
  if (!type) return undefined;
  const max = type === 'ipv4' ? 32 : 128;
  if (bits === undefined) return { network, prefix: max, type };
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return undefined;
  return { network, prefix: Number(bits), type };
}

/** A set of CIDR ranges, each with the words that say why an address in it matters. */
export class Ranges {
  private readonly lists: { list: BlockList; why: string }[] = [];

  add(cidr: string, why: string): this {
    const c = parseCidr(cidr);
    if (!c) throw new Error(`${JSON.stringify(cidr)} is not an IP address or CIDR range`);
    const list = new BlockList();
    list.addSubnet(c.network, c.prefix, c.type);
    this.lists.push({ list, why });
    return this;
  }

  /** Why `address` is in one of the ranges, or undefined. */
  match(address: string): string | undefined {
    const a = canonicalAddress(address);
    const type = family(a);
    if (!type) return undefined;
    return this.lists.find((l) => l.list.check(a, type))?.why;
  }
}
