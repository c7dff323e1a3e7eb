/**
 * Which subnet a node should take, as pure logic over a snapshot of leases (flannel's
 * tryAcquireLease, minus the etcd I/O): reuse the lease holding my PublicIP, then my previous
 * subnet from subnet.env if nobody holds it, else one at random among the first 100 free subnets.
 */
import { formatNet, netEquals, netOverlaps, nextNet } from './ipv4.js';
import type { Ipv4Net, Lease, NetworkConfig } from './types.js';

/** flannel's isSubnetConfigCompat: inside SubnetMin..SubnetMax and of SubnetLen. */
export function isSubnetCompatible(cfg: NetworkConfig, sn: Ipv4Net): boolean {
  return sn.prefixLen === cfg.subnetLen && sn.ip >= cfg.subnetMin.ip && sn.ip <= cfg.subnetMax.ip;
}

/** Up to `limit` subnets between SubnetMin and SubnetMax that overlap no lease, in address order. */
export function freeSubnets(cfg: NetworkConfig, leases: readonly Lease[], limit = 100): Ipv4Net[] {
  const out: Ipv4Net[] = [];
  const taken = leases.map((l) => l.subnet);
  for (let sn: Ipv4Net = { ip: cfg.subnetMin.ip, prefixLen: cfg.subnetLen }; sn.ip <= cfg.subnetMax.ip && out.length < limit;) {
    if (!taken.some((t) => netOverlaps(t, sn))) out.push(sn);
    const nx = nextNet(sn);
    if (nx.ip <= sn.ip) break; // wrapped past 255.255.255.255
    sn = nx;
  }
  return out;
}

export type AllocationPlan =
  /** my PublicIP already holds a compatible lease: re-put it (keeps the subnet across restarts) */
  | { kind: 'reuse-lease'; lease: Lease; deletes: Lease[]; log: string[] }
  /** the subnet.env subnet is free and compatible: create it */
  | { kind: 'reuse-previous'; subnet: Ipv4Net; deletes: Lease[]; log: string[] }
  /** a new subnet, picked at random among the first 100 free ones */
  | { kind: 'allocate'; subnet: Ipv4Net; deletes: Lease[]; log: string[] }
  | { kind: 'exhausted'; deletes: Lease[]; log: string[] };

export interface PlanInput {
  config: NetworkConfig;
  leases: readonly Lease[];
  publicIp: string;
  previousSubnet?: Ipv4Net;
  /** subnets to avoid this round (lost a create race for them) */
  avoid?: readonly Ipv4Net[];
  /** [0,1) source of randomness; injectable for tests */
  random?: () => number;
}

export function planAllocation(inp: PlanInput): AllocationPlan {
  const { config, publicIp } = inp;
  const log: string[] = [];
  const deletes: Lease[] = [];
  let leases = [...inp.leases];

  const mine = leases.find((l) => l.attrs.PublicIP === publicIp);
  if (mine) {
    if (isSubnetCompatible(config, mine.subnet)) {
      log.push(`Found lease (ip: ${formatNet(mine.subnet)} ipv6: ::/0) for current IP (${publicIp}), reusing`);
      return { kind: 'reuse-lease', lease: mine, deletes, log };
    }
    log.push(`Found lease (ip: ${formatNet(mine.subnet)} ipv6: ::/0) for current IP (${publicIp}) but not compatible with current config, deleting`);
    deletes.push(mine);
    leases = leases.filter((l) => l !== mine);
  }

  const prev = inp.previousSubnet;
  if (prev) {
    if (!isSubnetCompatible(config, prev)) {
      log.push(`Found previously leased subnet (${formatNet(prev)}) that is not compatible with the Etcd network config, ignoring`);
    } else if (!leases.some((l) => netOverlaps(l.subnet, prev)) && !(inp.avoid ?? []).some((a) => netEquals(a, prev))) {
      log.push(`Found previously leased subnet (${formatNet(prev)}), reusing`);
      return { kind: 'reuse-previous', subnet: prev, deletes, log };
    } else {
      log.push(`Previously leased subnet (${formatNet(prev)}) is held by another node, allocating a new one`);
    }
  }

  const avoid = inp.avoid ?? [];
  const free = freeSubnets(config, leases).filter((sn) => !avoid.some((a) => netEquals(a, sn)));
  if (free.length === 0) return { kind: 'exhausted', deletes, log };
  const rnd = inp.random ?? Math.random;
  const subnet = free[Math.min(free.length - 1, Math.floor(rnd() * free.length))]!;
  return { kind: 'allocate', subnet, deletes, log };
}
