/**
 * The set of peer leases as the agent knows it (flannel's LeaseWatcher): own subnet excluded,
 * snapshots turned into diffs, ADD of a known subnet replaces it (a new VtepMAC propagates).
 *
 * Live backend switch (issue 5): each peer is programmed by the backend matching *its* BackendType,
 * when that backend is active here. When a peer moves to a backend this node does not run (yet) — it
 * saw the new config first — its previous lease of a type that *is* active here is remembered and used
 * instead, so the route to it stays as it was (the peer keeps the old datapath until everyone moved)
 * rather than disappearing until this node catches up.
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

/** Which active backend programs which peer. */
export interface PeerAssignment {
  /** backend type -> the leases it must program (a remembered lease stands in for a moved peer) */
  byType: Map<string, Lease[]>;
  /** peers no active backend can program (current type inactive, nothing remembered) */
  ignored: Lease[];
  /** peers programmed through a remembered lease of an earlier backend type */
  fallback: Lease[];
}

export class PeerSet {
  private readonly peers = new Map<string, Lease>();
  /** per peer: its last lease of each other BackendType, with a sequence number (newest wins) */
  private readonly previous = new Map<string, Map<string, { lease: Lease; seq: number }>>();
  private seq = 0;
  private own: string | undefined;

  setOwnSubnet(sn: Ipv4Net | undefined): void {
    this.own = sn ? makeSubnetKey(sn) : undefined;
    if (this.own) {
      this.peers.delete(this.own);
      this.previous.delete(this.own);
    }
  }

  get size(): number {
    return this.peers.size;
  }

  list(): Lease[] {
    return [...this.peers.values()];
  }

  /** Peers whose BackendType is `type`. */
  ofType(type: string): Lease[] {
    return this.list().filter((l) => l.attrs.BackendType === type);
  }

  /** Number of peers per BackendType ('' for leases without one). */
  countByType(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const l of this.peers.values()) {
      const t = l.attrs.BackendType ?? '';
      out[t] = (out[t] ?? 0) + 1;
    }
    return out;
  }

  /**
   * Splits the peers among the active backends: by the peer's own BackendType when that backend is
   * active, else by its newest remembered lease of an active type, else ignored.
   */
  assign(activeTypes: readonly string[]): PeerAssignment {
    const byType = new Map<string, Lease[]>(activeTypes.map((t) => [t, []]));
    const ignored: Lease[] = [];
    const fallback: Lease[] = [];
    for (const [k, l] of this.peers) {
      const t = l.attrs.BackendType ?? '';
      const mine = byType.get(t);
      if (mine) {
        mine.push(l);
        continue;
      }
      let best: { lease: Lease; seq: number } | undefined;
      for (const [pt, p] of this.previous.get(k) ?? []) {
        if (byType.has(pt) && (!best || p.seq > best.seq)) best = p;
      }
      if (best) {
        byType.get(best.lease.attrs.BackendType ?? '')!.push(best.lease);
        fallback.push(l);
      } else {
        ignored.push(l);
      }
    }
    return { byType, ignored, fallback };
  }

  /** Drop remembered leases of `type` (its backend was torn down here). */
  forgetType(type: string): void {
    for (const [k, m] of this.previous) {
      m.delete(type);
      if (m.size === 0) this.previous.delete(k);
    }
  }

  private remember(key: string, old: Lease, next: Lease): void {
    const ot = old.attrs.BackendType ?? '';
    const m = this.previous.get(key) ?? new Map<string, { lease: Lease; seq: number }>();
    // the current type never needs a stand-in
    m.delete(next.attrs.BackendType ?? '');
    if (ot !== (next.attrs.BackendType ?? '')) m.set(ot, { lease: old, seq: ++this.seq });
    if (m.size) this.previous.set(key, m);
    else this.previous.delete(key);
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
        else if (!sameLeaseAttrs(old.attrs, c.lease.attrs)) {
          this.remember(key, old, c.lease);
          d.changed.push(c.lease);
        }
      } else if (old) {
        this.peers.delete(key);
        this.previous.delete(key);
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
      else if (!sameLeaseAttrs(old.attrs, l.attrs)) {
        this.remember(k, old, l);
        d.changed.push(l);
      }
    }
    for (const [k, l] of this.peers) {
      if (!next.has(k)) {
        d.removed.push(l);
        this.previous.delete(k);
      }
    }
    this.peers.clear();
    for (const [k, l] of next) this.peers.set(k, l);
    return d;
  }
}

export function describePeer(l: Lease): string {
  return `${formatNet(l.subnet)} via ${l.attrs.PublicIP} (${l.attrs.BackendType ?? 'no BackendType'})`;
}
