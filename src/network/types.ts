/**
 * Core types shared by the CLI and the agent (flannel's data model). Behaviour lives in the sibling
 * modules: config.ts (parse/validate), ipv4.ts (subnet arithmetic), lease.ts (etcd key + JSON),
 * subnet-env.ts (subnet.env text).
 */

/** An IPv4 network: address as an unsigned 32-bit integer, plus prefix length. Always masked. */
export interface Ipv4Net {
  readonly ip: number;
  readonly prefixLen: number;
}

/** Backend types flanprov's agent implements (the list: backends.ts). */
export type SupportedBackendType = import('./backends.js').BackendType;

/** vxlan backend options, decoded case-insensitively from the config's Backend object. */
export interface VxlanOptions {
  vni: number;            // default 1
  port: number;           // default 0 = kernel default (8472)
  mtu: number;            // default 0 = external interface MTU; the device gets mtu - 50
  gbp: boolean;
  learning: boolean;
  directRouting: boolean;
}

/** The network config (`<prefix>/config`), validated and defaulted exactly as flannel does. */
export interface NetworkConfig {
  enableIPv4: boolean;
  enableIPv6: boolean;
  network: Ipv4Net;
  subnetLen: number;
  subnetMin: Ipv4Net;     // prefixLen == subnetLen
  subnetMax: Ipv4Net;
  /** lower-cased Backend.Type; "udp" when Backend is absent (flannel's code default) */
  backendType: string;
  /** the raw Backend object as written (each backend decodes its own fields) */
  backendRaw: Record<string, unknown>;
  enableNFTables: boolean;
  /** present only when EnableIPv6 (validated like flannel; the agent's data path is IPv4-only) */
  ipv6?: Ipv6ConfigPart;
}

/** The IPv6 half of a dual-stack config, defaulted; addresses in compressed text form. */
export interface Ipv6ConfigPart {
  network: string;
  subnetLen: number;
  subnetMin: string;
  subnetMax: string;
}

/** Lease attributes as flannel marshals them (field order matters for byte compatibility). */
export interface LeaseAttrs {
  PublicIP: string;
  PublicIPv6: string | null;
  /** absent for udp/alloc leases and very old agents */
  BackendType?: string;
  /** raw JSON; vxlan: {"VNI":1,"VtepMAC":"aa:bb:..."} */
  BackendData?: unknown;
  BackendV6Data?: unknown;
}

/** A subnet lease read from etcd. */
export interface Lease {
  subnet: Ipv4Net;
  attrs: LeaseAttrs;
  /** etcd lease expiry (ms since epoch); undefined for a reservation (key without an etcd lease) */
  expiresAt?: number;
  /** etcd ModRevision of the key (for compare-and-swap renewals) */
  modRevision?: string;
  /** etcd lease id attached to the key ("0" for none) */
  etcdLeaseId?: string;
}
