/**
 * Subnet leases on etcd v3 in flannel's layout and JSON: list, create-only acquire, renew that can
 * never overwrite another node's lease, delete, and a watch of `<prefix>/subnets` that survives
 * disconnects and compaction. Shared by the agent (subnet manager) and the CLI (status, down).
 */
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { decodeLeaseAttrs, encodeLeaseAttrs, parseSubnetKey } from '../network/lease.js';
import type { Ipv4Net, Lease, LeaseAttrs } from '../network/types.js';
import { prefixRangeEnd, subnetKey, subnetsPrefix } from './keys.js';

/** flannel's subnetTTL: 24 h, fixed. */
export const DEFAULT_LEASE_TTL_SECONDS = 24 * 60 * 60;

export interface LeaseListing {
  leases: Lease[];
  /** the etcd revision of the snapshot; watch from revision + 1 */
  revision: string;
  /** keys under subnets/ that flannel would skip ("Ignoring bad subnet node") */
  skipped: { key: string; reason: string }[];
}

export type RenewResult =
  | { kind: 'renewed'; lease: Lease }
  /** the key no longer exists (expired or deleted): re-acquire */
  | { kind: 'gone' }
  /** the key now belongs to another node: never overwrite it; re-acquire elsewhere */
  | { kind: 'taken'; holder: LeaseAttrs };

/** One event of a watch batch. DELETE carries no value, only the subnet. */
export type LeaseChange = { type: 'put'; lease: Lease } | { type: 'delete'; subnet: Ipv4Net };

export interface LeaseWatchHandlers {
  /** a batch of changes, in etcd order (one watch response) */
  onChanges(changes: LeaseChange[], revision: string): void;
  /** the watch had to restart from a fresh listing (compaction, cancelled watch): replace everything */
  onReset(listing: LeaseListing): void;
  /** connection state for logs and /status */
  onState?(state: 'connected' | 'disconnected', detail?: string): void;
}

function kvToLease(kv: IKeyValue, now: number, ttl?: number): Lease | { error: string } {
  const key = kv.key.toString();
  const parsed = parseSubnetKey(key);
  if (!parsed) return { error: 'not a subnet key' };
  let attrs: LeaseAttrs;
  try {
    attrs = decodeLeaseAttrs(kv.value.toString());
  } catch (e) {
    return { error: (e as Error).message };
  }
  const lease: Lease = { subnet: parsed.subnet, attrs, modRevision: kv.mod_revision, etcdLeaseId: kv.lease };
  if (ttl !== undefined) lease.expiresAt = now + ttl * 1000;
  return lease;
}

export class LeaseStore {
  readonly ttlSeconds: number;

  constructor(readonly client: Etcd3, readonly prefix: string, opts: { ttlSeconds?: number } = {}) {
    this.ttlSeconds = opts.ttlSeconds ?? DEFAULT_LEASE_TTL_SECONDS;
  }

  /**
   * Every lease under `<prefix>/subnets`. With `withTtl`, one TimeToLive per etcd lease gives
   * `expiresAt` (flanprov status); the agent does not need it.
   */
  async list(opts: { withTtl?: boolean } = {}): Promise<LeaseListing> {
    const p = subnetsPrefix(this.prefix);
    const res = await this.client.kv.range({ key: Buffer.from(p), range_end: prefixRangeEnd(p) });
    const ttls = new Map<string, number>();
    if (opts.withTtl) {
      const ids = [...new Set(res.kvs.map((kv) => kv.lease).filter((id) => id && id !== '0'))];
      await Promise.all(ids.map(async (id) => {
        const t = await this.client.leaseClient.leaseTimeToLive({ ID: id });
        ttls.set(id, Number(t.TTL));
      }));
    }
    const now = Date.now();
    const out: LeaseListing = { leases: [], revision: res.header.revision, skipped: [] };
    for (const kv of res.kvs) {
      const ttl = opts.withTtl && kv.lease !== '0' ? Math.max(0, ttls.get(kv.lease) ?? 0) : undefined;
      const l = kvToLease(kv, now, ttl);
      if ('error' in l) out.skipped.push({ key: kv.key.toString(), reason: l.error });
      else out.leases.push(l);
    }
    return out;
  }

  async get(sn: Ipv4Net): Promise<Lease | undefined> {
    const res = await this.client.kv.range({ key: Buffer.from(subnetKey(this.prefix, sn)) });
    const kv = res.kvs[0];
    if (!kv) return undefined;
    const l = kvToLease(kv, Date.now());
    return 'error' in l ? undefined : l;
  }

  private async grant(): Promise<string> {
    const g = await this.client.leaseClient.leaseGrant({ TTL: this.ttlSeconds });
    return g.ID;
  }

  /** Revoke an etcd lease we no longer use; never throws (an unrevoked lease just expires). */
  async revoke(id: string | undefined): Promise<void> {
    if (!id || id === '0') return;
    await this.client.leaseClient.leaseRevoke({ ID: id }).catch(() => undefined);
  }

  /**
   * Put `attrs` at `sn` only if the key is in the expected state: absent (`ifModRevision`
   * undefined: create-only, Version==0) or unchanged since `ifModRevision`. A fresh TTL lease is
   * attached unless `reservation` (a key without an etcd lease, which we keep that way).
   * Returns the stored lease, or undefined when the condition failed (someone else got there).
   */
  async putIf(sn: Ipv4Net, attrs: LeaseAttrs, ifModRevision?: string, reservation = false): Promise<Lease | undefined> {
    const key = Buffer.from(subnetKey(this.prefix, sn));
    const leaseId = reservation ? '0' : await this.grant();
    const put = reservation ? { key, value: Buffer.from(encodeLeaseAttrs(attrs)) } : { key, value: Buffer.from(encodeLeaseAttrs(attrs)), lease: leaseId };
    const compare = ifModRevision === undefined
      ? { key, target: 'Version' as const, result: 'Equal' as const, version: 0 }
      : { key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: ifModRevision };
    let res;
    try {
      res = await this.client.kv.txn({ compare: [compare], success: [{ request_put: put }] });
    } catch (e) {
      await this.revoke(leaseId);
      throw e;
    }
    if (!res.succeeded) {
      await this.revoke(leaseId);
      return undefined;
    }
    const l: Lease = { subnet: sn, attrs, modRevision: res.header.revision, etcdLeaseId: leaseId };
    if (!reservation) l.expiresAt = Date.now() + this.ttlSeconds * 1000;
    return l;
  }

  /** Create-only acquisition of a free subnet (flannel's Txn If(Version==0)). */
  create(sn: Ipv4Net, attrs: LeaseAttrs): Promise<Lease | undefined> {
    return this.putIf(sn, attrs);
  }

  /**
   * Renew `own` with a fresh TTL without ever overwriting another node's lease: the put is
   * conditional on the key's ModRevision being the one we wrote. If the condition fails we look:
   * gone -> 'gone'; another PublicIP -> 'taken'; still ours (e.g. our previous renewal's reply was
   * lost) -> retry once against its current revision. The superseded etcd lease is revoked.
   */
  async renew(own: Lease, attrs: LeaseAttrs = own.attrs): Promise<RenewResult> {
    const reservation = own.etcdLeaseId === '0';
    for (let attempt = 0; attempt < 3; attempt++) {
      const cur = attempt === 0 ? own : await this.get(own.subnet);
      if (!cur) return { kind: 'gone' };
      if (cur.attrs.PublicIP !== attrs.PublicIP) return { kind: 'taken', holder: cur.attrs };
      const l = await this.putIf(own.subnet, attrs, cur.modRevision ?? '0', reservation);
      if (l) {
        if (cur.etcdLeaseId !== l.etcdLeaseId) await this.revoke(cur.etcdLeaseId);
        return { kind: 'renewed', lease: l };
      }
    }
    const cur = await this.get(own.subnet);
    if (!cur) return { kind: 'gone' };
    return { kind: 'taken', holder: cur.attrs };
  }

  /** Delete a lease; with `ifModRevision`, only if nobody changed it since. True when deleted. */
  async delete(sn: Ipv4Net, ifModRevision?: string): Promise<boolean> {
    const key = Buffer.from(subnetKey(this.prefix, sn));
    const compare = ifModRevision === undefined
      ? { key, target: 'Version' as const, result: 'Greater' as const, version: 0 }
      : { key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: ifModRevision };
    const res = await this.client.kv.txn({ compare: [compare], success: [{ request_delete_range: { key } }] });
    return res.succeeded;
  }

  /** Watch the subnets prefix from `fromRevision` (exclusive). See LeaseWatch. */
  watch(fromRevision: string, h: LeaseWatchHandlers): LeaseWatch {
    const w = new LeaseWatch(this, h);
    w.start(fromRevision);
    return w;
  }
}

/**
 * A watch of `<prefix>/subnets` that does not give up: etcd3 resumes the stream itself after a
 * disconnect (from the last revision seen); when the watch is cancelled instead (the revision was
 * compacted, or etcd dropped it) we re-list with backoff 100 ms -> 5 s and hand a reset snapshot to
 * the caller, then watch again from the snapshot's revision.
 */
export class LeaseWatch {
  private watcher: Watcher | undefined;
  private stopped = false;
  private backoffMs = 100;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly store: LeaseStore, private readonly h: LeaseWatchHandlers) {}

  start(fromRevision: string): void {
    if (this.stopped) return;
    const p = subnetsPrefix(this.store.prefix);
    const w = this.store.client.watch().prefix(p).startRevision(String(BigInt(fromRevision) + 1n)).watcher();
    this.watcher = w;
    w.on('data', (res) => {
      if (this.watcher !== w) return;
      this.backoffMs = 100;
      const changes: LeaseChange[] = [];
      for (const ev of res.events) {
        const key = ev.kv.key.toString();
        if (ev.type === 'Delete') {
          const parsed = parseSubnetKey(key);
          if (parsed) changes.push({ type: 'delete', subnet: parsed.subnet });
          continue;
        }
        const l = kvToLease(ev.kv, Date.now());
        if ('error' in l) continue; // "... not a subnet, skipping"
        changes.push({ type: 'put', lease: l });
      }
      if (changes.length) this.h.onChanges(changes, res.header.revision);
    });
    w.on('disconnected', (err: Error) => this.h.onState?.('disconnected', err?.message));
    w.on('connected', () => this.h.onState?.('connected'));
    w.on('error', (err: Error) => {
      if (this.watcher !== w) return;
      this.h.onState?.('disconnected', `watch cancelled: ${err.message}`);
      this.watcher = undefined;
      w.cancel().catch(() => undefined);
      this.scheduleRelist();
    });
  }

  private scheduleRelist(): void {
    if (this.stopped) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(5000, this.backoffMs * 2);
    this.timer = setTimeout(() => {
      this.store.list().then((listing) => {
        if (this.stopped) return;
        this.h.onReset(listing);
        this.start(listing.revision);
      }, () => this.scheduleRelist());
    }, wait);
  }

  async cancel(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await w.cancel().catch(() => undefined);
  }
}
