/**
 * The set of peer leases as the agent knows it (flannel's LeaseWatcher): own subnet excluded,
 * snapshots turned into diffs, ADD of a known subnet replaces it (a new VtepMAC propagates).
 * Leases of a backend type no active backend serves are kept but reported once as ignored.
 */
import { formatNet } from '../network/ipv4.js';
import { makeSubnetKey, sameLeaseAttrs } from '../network/lease.js';
import type { Ipv4Net, Lease } from '../network/types.js';
import type { LeaseChange } from '../etcd/lease-store.js';

export interface PeerDiff {
  added: Lease[];
  removed: Lease[];
  changed: Lease[];
}

export class PeerSet {
  private readonly peers = new Map<string, Lease>();
  private own: string | undefined;

  setOwnSubnet(sn: Ipv4Net | undefined): void {
    this.own = sn ? makeSubnetKey(sn) : undefined;
    if (this.own) this.peers.delete(this.own);
  }

  get size(): number {
    return this.peers.size;
  }

  list(): Lease[] {
    return [...this.peers.values()];
  }

  /** Peers whose BackendType is `type` (what that backend reconciles to). */
  ofType(type: string): Lease[] {
    return this.list().filter((l) => l.attrs.BackendType === type);
  }

  /** Apply one watch batch; returns what changed (own subnet ignored). */
  apply(changes: readonly LeaseChange[]): PeerDiff {
    const d: PeerDiff = { added: [], removed: [], changed: [] };
    for (const c of changes) {
      const key = makeSubnetKey(c.type === 'put' ? c.lease.subnet : c.subnet);
      if (key === this.own) continue;
      const old = this.peers.get(key);
      if (c.type === 'put') {
        this.peers.set(key, c.lease);
        if (!old) d.added.push(c.lease);
        else if (!sameLeaseAttrs(old.attrs, c.lease.attrs)) d.changed.push(c.lease);
      } else if (old) {
        this.peers.delete(key);
        d.removed.push(old);
      }
    }
    return d;
  }

  /** Replace everything with a snapshot (start, or after a watch had to be re-listed). */
  reset(leases: readonly Lease[]): PeerDiff {
    const next = new Map<string, Lease>();
    for (const l of leases) {
      const k = makeSubnetKey(l.subnet);
      if (k !== this.own) next.set(k, l);
    }
    const d: PeerDiff = { added: [], removed: [], changed: [] };
    for (const [k, l] of next) {
      const old = this.peers.get(k);
      if (!old) d.added.push(l);
      else if (!sameLeaseAttrs(old.attrs, l.attrs)) d.changed.push(l);
    }
    for (const [k, l] of this.peers) if (!next.has(k)) d.removed.push(l);
    this.peers.clear();
    for (const [k, l] of next) this.peers.set(k, l);
    return d;
  }
}

export function describePeer(l: Lease): string {
  return `${formatNet(l.subnet)} via ${l.attrs.PublicIP} (${l.attrs.BackendType ?? 'no BackendType'})`;
}
