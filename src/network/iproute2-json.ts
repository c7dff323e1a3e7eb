/**
 * What iproute2 prints with `-j` (only the fields flanprov uses; iproute2 6.1 names) and the conclusions both
 * halves draw from it: the agent reads its own kernel, the CLI reads the hosts' through the facts script,
 * and they must agree on what "on-link" or a route's destination means.
 */
import { parseIpv4 } from './ipv4.js';

export interface IpLinkInfoData {
  id?: number;
  local?: string;
  link?: string;
  port?: number;
  learning?: boolean;
  gbp?: boolean;
  group?: string;
  l2miss?: boolean;
  l3miss?: boolean;
  [k: string]: unknown;
}

export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate?: string;
  address?: string;
  link_type?: string;
  /** with -d */
  linkinfo?: { info_kind?: string; info_data?: IpLinkInfoData; info_slave_kind?: string };
  /** underlying link (vxlan `dev`) as a name when resolvable */
  link?: string;
  [k: string]: unknown;
}

export interface IpAddrInfo {
  family: 'inet' | 'inet6' | string;
  local: string;
  prefixlen: number;
  scope?: string;
  label?: string;
  [k: string]: unknown;
}

export interface IpAddr {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate?: string;
  addr_info: IpAddrInfo[];
}

export interface IpRoute {
  /** normalised: always "a.b.c.d/len" ("default" → "0.0.0.0/0", host routes get "/32") */
  dst: string;
  gateway?: string;
  dev?: string;
  /** as printed: "kernel", "boot", "static", or a number as a string ("241"); absent = boot */
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  type?: string;
  flags: string[];
  [k: string]: unknown;
}

export interface IpNeigh {
  dst: string;
  dev?: string;
  lladdr?: string;
  state: string[];
  [k: string]: unknown;
}

export interface FdbEntry {
  mac: string;
  dst?: string;
  ifname?: string;
  flags: string[];
  state?: string;
  vlan?: number;
  [k: string]: unknown;
}

export interface RouteGet {
  dst: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  type?: string;
  /** ["local"] for the host's own addresses */
  cache?: string[];
}

/** An interface with its IPv4 addresses, for interface selection (-iface, -iface-regex, default route). */
export interface Ipv4Interface {
  name: string;
  index: number;
  mtu: number;
  up: boolean;
  loopback: boolean;
  /** IPv4 addresses in kernel order: [{ ip, prefixLen }] */
  addrs: { ip: string; prefixLen: number }[];
}

// ---------------------------------------------------------------------------------------------------
// low level

/** Normalises a route dst: "default" → "0.0.0.0/0", "10.1.2.3" → "10.1.2.3/32". */
export function normaliseDst(dst: string): string {
  if (dst === 'default') return '0.0.0.0/0';
  return dst.includes('/') ? dst : `${dst}/32`;
}

/**
 * Whether `ip` is reachable on-link (directly connected, no gateway) — the DirectRouting and host-gw test.
 * flannel: exactly one route and it has no gateway. Local addresses are not "on-link peers".
 */
export function isOnLink(r: RouteGet | Error | undefined): boolean {
  if (!r || r instanceof Error) return false;
  if (r.cache?.includes('local') || r.type === 'local') return false;
  return !r.gateway;
}

/** Dotted-quad IPv4 syntax check (no leading zeros, each octet 0..255): network/ipv4's strict parser. */
export function isIpv4(s: string): boolean {
  return parseIpv4(s) !== undefined;
}
