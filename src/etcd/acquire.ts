/**
 * Lease acquisition (flannel's AcquireLease loop) over LeaseStore + the pure plan in
 * network/allocate.ts. Each attempt lists, plans and writes with a conditional transaction; a lost
 * race marks that subnet "avoid" and tries again after a short random pause, so N agents started at
 * the same moment end up with N distinct subnets.
 */
import { planAllocation } from '../network/allocate.js';
import { describeRange } from '../network/config.js';
import { formatNet } from '../network/ipv4.js';
import type { Ipv4Net, Lease, LeaseAttrs, NetworkConfig } from '../network/types.js';
import type { LeaseStore } from './lease-store.js';

export interface AcquireOptions {
  config: NetworkConfig;
  attrs: LeaseAttrs;
  previousSubnet?: Ipv4Net;
  log: { info(m: string): void; warn(m: string): void };
  /** flannel tries 10 times; a burst of simultaneous agents deserves a few more */
  maxAttempts?: number;
  random?: () => number;
}

export interface Acquired {
  lease: Lease;
  how: 'reused-lease' | 'reused-previous' | 'allocated';
}

export class OutOfSubnetsError extends Error {
  constructor() {
    super('out of subnets');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The parts of LeaseStore acquisition uses. */
export type AcquireStore = Pick<LeaseStore, 'list' | 'delete' | 'putIf' | 'create' | 'revoke'>;

export async function acquireLease(store: AcquireStore, o: AcquireOptions): Promise<Acquired> {
  const avoid: Ipv4Net[] = [];
  const attempts = o.maxAttempts ?? 30;
  const rnd = o.random ?? Math.random;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(5 + Math.floor(rnd() * 50));
    const listing = await store.list();
    const same = listing.leases.filter((l) => l.attrs.PublicIP === o.attrs.PublicIP);
    if (same.length > 1) {
      o.log.warn(`${same.length} leases carry this node's PublicIP ${o.attrs.PublicIP} (${same.map((l) => formatNet(l.subnet)).join(', ')}): two nodes may share one address (NAT?); use -public-ip/-iface`);
    }
    const plan = planAllocation({
      config: o.config, leases: listing.leases, publicIp: o.attrs.PublicIP, avoid, random: rnd,
      ...(o.previousSubnet ? { previousSubnet: o.previousSubnet } : {}),
    });
    if (i === 0) plan.log.forEach((m) => o.log.info(m));
    for (const d of plan.deletes) await store.delete(d.subnet, d.modRevision);
    switch (plan.kind) {
      case 'reuse-lease': {
        const old = plan.lease;
        const l = await store.putIf(old.subnet, o.attrs, old.modRevision, old.etcdLeaseId === '0');
        if (l) {
          if (old.etcdLeaseId && old.etcdLeaseId !== '0' && old.etcdLeaseId !== l.etcdLeaseId) {
            await store.revoke(old.etcdLeaseId);
          }
          return { lease: l, how: 'reused-lease' };
        }
        break; // changed under us: look again
      }
      case 'reuse-previous':
      case 'allocate': {
        if (plan.kind === 'allocate' && i === 0) o.log.info(`Picking subnet in range ${describeRange(o.config)}`);
        const l = await store.create(plan.subnet, o.attrs);
        if (l) {
          o.log.info(`Allocated lease (ip: ${formatNet(l.subnet)} ipv6: ::/0) to current node (${o.attrs.PublicIP})`);
          return { lease: l, how: plan.kind === 'allocate' ? 'allocated' : 'reused-previous' };
        }
        avoid.push(plan.subnet);
        break;
      }
      case 'exhausted':
        if (avoid.length) { avoid.length = 0; break; } // our avoid list may be stale; re-list once more
        throw new OutOfSubnetsError();
    }
  }
  throw new Error('max retries reached trying to acquire a subnet');
}
