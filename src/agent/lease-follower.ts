/**
 * Follows `<prefix>/subnets/`: lists the leases at start, then watches from the listing's revision and
 * feeds every batch into the PeerSet (flannel's LeaseWatcher). Changes to this node's own key go to the
 * own-subnet manager (a deleted or overwritten lease is re-acquired). When the watch had to re-list
 * (compaction, a cancelled watch) or etcd answered again after an outage (`resync`), the listing
 * replaces the peer set as a whole and a full reconcile follows.
 */
import type { LeaseChange, LeaseListing, LeaseStore, LeaseWatch } from '../etcd/lease-store.js';
import { formatNet, netEquals } from '../network/ipv4.js';
import { makeSubnetKey } from '../network/lease.js';
import type { Lease } from '../network/types.js';
import type { Logger } from './backends/backend.js';
import { describePeer, type PeerDiff, type PeerSet } from './peers.js';

export type OwnKeyChange = { type: 'put'; lease: Lease } | { type: 'delete' };

export interface LeaseFollowerOptions {
  store: Pick<LeaseStore, 'list' | 'watch'>;
  peers: PeerSet;
  log: Logger;
  /** this node's lease (changes to its key are not peer changes) */
  own(): Lease | undefined;
  onOwnKey(change: OwnKeyChange): void;
  /**
   * The peer set changed. `incremental`: from watch events (the backends diff against what they
   * programmed); otherwise a listing replaced the set and the kernel should be read.
   */
  onPeersChanged(incremental: boolean, reason: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LeaseFollower {
  private watch: LeaseWatch | undefined;
  private stopped = false;

  constructor(private readonly o: LeaseFollowerOptions) {}

  /** The start-up listing, retried with backoff (500 ms -> 5 s); undefined when stopped meanwhile. */
  async initial(): Promise<LeaseListing | undefined> {
    let wait = 500;
    while (!this.stopped) {
      try {
        const listing = await this.o.store.list();
        this.o.peers.reset(listing.leases);
        return listing;
      } catch (e) {
        this.o.log.warn(`listing leases failed (retrying in ${wait} ms): ${(e as Error).message}`);
        await sleep(wait);
        wait = Math.min(5000, wait * 2);
      }
    }
    return undefined;
  }

  /** Watch from `revision` (exclusive). */
  follow(revision: string): void {
    if (this.stopped) return;
    this.watch = this.o.store.watch(revision, {
      onChanges: (changes) => this.onChanges(changes),
      onReset: (l) => {
        this.o.log.info(`lease watch re-listed at revision ${l.revision} (${l.leases.length} leases)`);
        this.replace(l, 'relist');
      },
      onState: (s, detail) => this.o.log.debug(1, `lease watch ${s}${detail ? `: ${detail}` : ''}`),
    });
  }

  /** After an etcd outage: list now, replace the peer set, watch again from the listing. Rejects when etcd does not answer. */
  async resync(): Promise<void> {
    if (this.stopped) return;
    const listing = await this.o.store.list();
    if (this.stopped) return;
    // not awaited: cancelling a watch whose stream is stuck waits for an answer that may never come
    void this.watch?.cancel();
    this.o.log.info(`leases re-listed at revision ${listing.revision} (${listing.leases.length} leases) after etcd answered again`);
    this.replace(listing, 'resync');
    this.follow(listing.revision);
  }

  private replace(l: LeaseListing, reason: string): void {
    const own = this.o.own();
    if (own) {
      const mine = l.leases.find((x) => netEquals(x.subnet, own.subnet));
      this.o.onOwnKey(mine ? { type: 'put', lease: mine } : { type: 'delete' });
    }
    this.logDiff(this.o.peers.reset(l.leases));
    this.o.onPeersChanged(false, reason);
  }

  private onChanges(changes: LeaseChange[]): void {
    const own = this.o.own();
    const ownKey = own ? makeSubnetKey(own.subnet) : undefined;
    for (const c of changes) {
      const key = makeSubnetKey(c.type === 'put' ? c.lease.subnet : c.subnet);
      if (key === ownKey) this.o.onOwnKey(c.type === 'put' ? { type: 'put', lease: c.lease } : { type: 'delete' });
    }
    const d = this.o.peers.apply(changes);
    this.logDiff(d);
    if (d.added.length || d.removed.length || d.changed.length) this.o.onPeersChanged(true, 'watch');
  }

  private logDiff(d: PeerDiff): void {
    for (const l of d.added) this.o.log.info(`Subnet added: ${describePeer(l)}`);
    for (const l of d.changed) this.o.log.info(`Subnet changed: ${describePeer(l)}`);
    for (const l of d.removed) this.o.log.info(`Subnet removed: ${formatNet(l.subnet)}`);
  }

  stop(): Promise<void> {
    this.stopped = true;
    const w = this.watch;
    this.watch = undefined;
    return w ? w.cancel() : Promise.resolve();
  }
}
