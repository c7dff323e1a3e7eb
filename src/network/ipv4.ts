/**
 * IPv4 arithmetic on unsigned 32-bit integers (flannel's ip.IP4 / ip.IP4Net). Parsing goes through
 * ipaddr.js so odd spellings are rejected the same way everywhere; the arithmetic is ours because
 * subnet allocation needs plain integers.
 */
import ipaddr from 'ipaddr.js';
import type { Ipv4Net } from './types.js';

/** Dotted quad -> uint32, or undefined if `s` is not a strict IPv4 address (4 decimal octets). */
export function parseIpv4(s: string): number | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(s)) return undefined;
  const b = ipaddr.IPv4.parse(s).toByteArray();
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

export function formatIpv4(ip: number): string {
  return `${(ip >>> 24) & 255}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

export function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** Number of addresses in a prefix (2^(32-len)); exact as a JS number for every len. */
export function sizeOf(prefixLen: number): number {
  return 2 ** (32 - prefixLen);
}

export function makeNet(ip: number, prefixLen: number): Ipv4Net {
  return { ip: (ip & maskOf(prefixLen)) >>> 0, prefixLen };
}

/**
 * "a.b.c.d/n" -> masked network (host bits dropped, like Go's net.ParseCIDR), or undefined.
 * IPv6 CIDRs are rejected (callers word their own error).
 */
export function parseCidr(s: string): Ipv4Net | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIpv4(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > 32) return undefined;
  return makeNet(ip, len);
}

/** True when `s` parses as an IPv6 CIDR (used to word "invalid IPv4 CIDR format"). */
export function isIpv6Cidr(s: string): boolean {
  try {
    const [addr] = ipaddr.parseCIDR(s);
    return addr.kind() === 'ipv6';
  } catch {
    return false;
  }
}

export function formatNet(n: Ipv4Net): string {
  return `${formatIpv4(n.ip)}/${n.prefixLen}`;
}

export function netContains(n: Ipv4Net, ip: number): boolean {
  const m = maskOf(n.prefixLen);
  return ((n.ip & m) >>> 0) === ((ip & m) >>> 0);
}

/** `inner` lies entirely inside `outer`. */
export function netContainsNet(outer: Ipv4Net, inner: Ipv4Net): boolean {
  return outer.prefixLen <= inner.prefixLen && netContains(outer, inner.ip);
}

/** flannel's IP4Net.Overlaps: compare under the shorter of the two masks. */
export function netOverlaps(a: Ipv4Net, b: Ipv4Net): boolean {
  const m = maskOf(Math.min(a.prefixLen, b.prefixLen));
  return ((a.ip & m) >>> 0) === ((b.ip & m) >>> 0);
}

export function netEquals(a: Ipv4Net, b: Ipv4Net): boolean {
  return a.ip === b.ip && a.prefixLen === b.prefixLen;
}

/** The following network of the same size (wraps at 2^32 like Go's uint32). */
export function nextNet(n: Ipv4Net): Ipv4Net {
  return { ip: (n.ip + sizeOf(n.prefixLen)) >>> 0, prefixLen: n.prefixLen };
}

/** First host address of a subnet (subnet.env FLANNEL_SUBNET uses network + 1). */
export function firstHost(n: Ipv4Net): number {
  return (n.ip + 1) >>> 0;
}
