/**
 * This node's own lease: acquire (retrying through etcd outages), renew before expiry without ever
 * overwriting another node's lease, and re-acquire when the lease disappears or is taken, preferring
 * the same subnet when it is free. Subnet changes are reported through `onSubnetChange` (the daemon
 * reprograms the backends, iptables and subnet.env). An etcd outage never gives the lease up: a failed
 * renewal is retried, and `catchUp()` renews at once when etcd answers again.
 */
import { acquireLease, OutOfSubnetsError, type Acquired } from '../etcd/acquire.js';
import type { LeaseStore } from '../etcd/lease-store.js';
import { formatNet, netEquals } from '../network/ipv4.js';
import type { Ipv4Net, Lease, LeaseAttrs, NetworkConfig } from '../network/types.js';
import type { Logger } from './backends/backend.js';

export interface OwnSubnetOptions {
  store: Pick<LeaseStore, 'list' | 'get' | 'putIf' | 'create' | 'delete' | 'renew' | 'revoke'>;
  config: NetworkConfig;
  attrs: LeaseAttrs;
  previousSubnet?: Ipv4Net;
  renewMarginMinutes: number;
  log: Logger;
  /** called (serially) after the subnet changed: the agent reprograms device/iptables/subnet.env */
  onSubnetChange(lease: Lease, old: Lease): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class OwnSubnet {
  lease: Lease | undefined;
  /** last renewal/acquisition failure, for /status */
  lastError: string | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  /** the last renewal failed and a retry is scheduled */
  private renewOverdue = false;
  private stopped = false;
  private busy: Promise<void> = Promise.resolve();

  constructor(private readonly o: OwnSubnetOptions) {}

  /** Acquire at start; etcd errors are retried with backoff (1 s -> 10 s), out-of-subnets is fatal. */
  async acquire(prefer?: Ipv4Net): Promise<Acquired> {
    let wait = 1000;
    for (;;) {
      if (this.stopped) throw new Error('stopped');
      try {
        const prev = prefer ?? this.o.previousSubnet;
        const a = await acquireLease(this.o.store, { config: this.o.config, attrs: this.o.attrs, log: this.o.log, ...(prev ? { previousSubnet: prev } : {}) });
        this.lease = a.lease;
        this.lastError = undefined;
        return a;
      } catch (e) {
        if (e instanceof OutOfSubnetsError) throw e;
        this.lastError = (e as Error).message;
        this.o.log.warn(`failed to acquire lease (retrying in ${wait / 1000}s): ${(e as Error).message}`);
        await sleep(wait);
        wait = Math.min(10_000, wait * 2);
      }
    }
  }

  /** Schedule renewals of the current lease (a reservation without TTL is never renewed). */
  startRenewLoop(): void {
    this.schedule();
  }

  private schedule(delayMs?: number): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    if (this.stopped || !this.lease) return;
    if (delayMs === undefined) {
      if (this.lease.expiresAt === undefined) {
        this.o.log.info(`Lease ${formatNet(this.lease.subnet)} is a reservation (no TTL): not renewing`);
        return;
      }
      delayMs = Math.max(0, this.lease.expiresAt - this.o.renewMarginMinutes * 60_000 - Date.now());
      this.o.log.info(`Waiting for ${fmtDuration(delayMs)} to renew lease`);
    }
    this.renewTimer = setTimeout(() => void this.serial(() => this.renew()), Math.min(delayMs, 2 ** 31 - 1));
    this.renewTimer.unref();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.busy.then(fn, fn);
    this.busy = next.then(() => undefined, () => undefined);
    return next;
  }

  /** The attrs this node publishes (and renews with). */
  get attrs(): LeaseAttrs {
    return this.o.attrs;
  }

  /**
   * Publish new attrs (a live backend switch: BackendType/BackendData) with a compare-and-swap on our
   * own lease: the put only succeeds while the key is still the one we hold, so another node's lease is
   * never overwritten; a lost or taken lease is re-acquired with the new attrs. Renewals use them from
   * now on. Rejects on etcd errors (the caller retries).
   */
  updateAttrs(attrs: LeaseAttrs): Promise<void> {
    return this.serial(async () => {
      this.o.attrs = attrs;
      const own = this.lease;
      if (!own || this.stopped) return;
      const r = await this.o.store.renew(own, attrs);
      if (r.kind === 'renewed') {
        this.lease = r.lease;
        this.lastError = undefined;
        this.o.log.info(`Lease ${formatNet(r.lease.subnet)} now says BackendType ${attrs.BackendType ?? '(none)'}`);
        this.schedule();
      } else if (r.kind === 'gone') {
        await this.reacquire('lease has disappeared from etcd');
      } else {
        await this.reacquire(`subnet ${formatNet(own.subnet)} is now held by ${r.holder.PublicIP}`);
      }
    });
  }

  private async renew(): Promise<void> {
    const own = this.lease;
    if (!own || this.stopped) return;
    try {
      const r = await this.o.store.renew(own, this.o.attrs);
      this.renewOverdue = false;
      if (r.kind === 'renewed') {
        this.lease = r.lease;
        this.lastError = undefined;
        this.o.log.info(`Lease renewed, new expiration: ${new Date(r.lease.expiresAt ?? Date.now()).toISOString()}`);
        this.schedule();
      } else if (r.kind === 'gone') {
        await this.reacquire('lease has disappeared from etcd');
      } else {
        await this.reacquire(`subnet ${formatNet(own.subnet)} is now held by ${r.holder.PublicIP}`);
      }
    } catch (e) {
      this.lastError = (e as Error).message;
      this.renewOverdue = true;
      // flannel retries every minute; retry sooner while there is time, the lease stays valid meanwhile.
      const retry = 15_000;
      this.o.log.warn(`Error renewing lease (trying again in ${retry / 1000}s): ${(e as Error).message}`);
      this.schedule(retry);
    }
  }

  /** etcd answers again after an outage: a renewal that failed meanwhile is retried now, not at its timer. */
  catchUp(): void {
    if (!this.renewOverdue || this.stopped) return;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    void this.serial(() => this.renew());
  }

  /** Our key was deleted/expired or changed hands (seen by the watch or a renewal). */
  handleOwnKey(change: { type: 'put'; lease: Lease } | { type: 'delete' }): void {
    const own = this.lease;
    if (!own || this.stopped) return;
    if (change.type === 'delete') {
      void this.serial(() => this.reacquireIfStillGone());
    } else if (change.lease.attrs.PublicIP !== this.o.attrs.PublicIP) {
      void this.serial(() => this.reacquire(`subnet ${formatNet(own.subnet)} was overwritten by ${change.lease.attrs.PublicIP}`));
    } else if (change.lease.modRevision) {
      own.modRevision = change.lease.modRevision;
    }
  }

  private async reacquireIfStillGone(): Promise<void> {
    const own = this.lease;
    if (!own) return;
    const cur = await this.o.store.get(own.subnet).catch(() => undefined);
    if (cur && cur.attrs.PublicIP === this.o.attrs.PublicIP) return; // already re-created (by us)
    await this.reacquire('Lease has been revoked');
  }

  /** Re-acquire, preferring the same subnet; tells the agent when the subnet changed. */
  private async reacquire(reason: string): Promise<void> {
    const old = this.lease;
    if (!old || this.stopped) return;
    this.o.log.warn(`${reason}: re-acquiring a lease (same subnet ${formatNet(old.subnet)} if it is free)`);
    const a = await this.acquire(old.subnet);
    if (!netEquals(a.lease.subnet, old.subnet)) {
      this.o.log.error(`Subnet changed from ${formatNet(old.subnet)} to ${formatNet(a.lease.subnet)}: containers on the old subnet need a restart`);
      await this.o.onSubnetChange(a.lease, old);
    } else {
      this.o.log.info(`Re-acquired lease ${formatNet(a.lease.subnet)}`);
    }
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.renewTimer) clearTimeout(this.renewTimer);
  }
}

/** Go-ish duration for logs: 22h59m59.99s. */
function fmtDuration(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = ((ms % 60_000) / 1000).toFixed(2).replace(/\.?0+$/, '');
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}
