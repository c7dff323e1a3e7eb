/**
 * The backends flanprov implements and the numbers that follow from them: one home for the backend list,
 * vxlan's defaults and the MTU a backend gives containers. The agent, the inventory schema, preflight,
 * switch-backend and the lab all read these; none of them re-types a literal.
 */
import { decodeVxlanOptions } from './config.js';
import type { NetworkConfig } from './types.js';

/** Backend types flanprov's agent implements (primary first); flannel knows more (udp, ipip, wireguard, ...). */
export const BACKEND_TYPES = ['vxlan', 'host-gw'] as const;
export type BackendType = (typeof BACKEND_TYPES)[number];

/** flannel backends this agent does not implement (named so an error can say so rather than "unknown"). */
export const FLANNEL_BACKENDS_NOT_IMPLEMENTED = ['udp', 'ipip', 'wireguard', 'ipsec', 'alloc', 'extension', 'tencent-vpc', 'ali-vpc', 'aws-vpc', 'gce'] as const;

export function isBackendType(t: string): t is BackendType {
  return (BACKEND_TYPES as readonly string[]).includes(t);
}

/** Linux's VXLAN UDP port, which flannel uses when the config's Port is 0 (IANA's 4789 is not the default). */
export const VXLAN_DEFAULT_PORT = 8472;
/** flannel's default VNI (the device is flannel.<VNI>). */
export const VXLAN_DEFAULT_VNI = 1;
/** Bytes vxlan adds to each packet: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;

/** The UDP port a vxlan config's traffic uses (Port, or the kernel default when 0). */
export function vxlanPort(port: number): number {
  return port || VXLAN_DEFAULT_PORT;
}

/**
 * The MTU flannel gives containers (subnet.env FLANNEL_MTU) with `cfg` on an underlay interface of
 * `ifaceMtu`: vxlan = (Backend.MTU or the interface's) − 50, host-gw = the interface's.
 */
export function containerMtu(cfg: NetworkConfig, ifaceMtu: number): number {
  if (cfg.backendType === 'vxlan') return (decodeVxlanOptions(cfg.backendRaw).mtu || ifaceMtu) - VXLAN_OVERHEAD;
  return ifaceMtu;
}
