/**
 * Keeps the kernel matching the peer leases: every active backend reconciles the peers assigned to it.
 *
 * - Serialised: all kernel work (reconcile passes, and the switch's prepare/activate/teardown steps
 *   through `run`) happens one job at a time, so a backend is never reconciled while it is being added
 *   or torn down, and no pass diffs against a kernel state another job is changing.
 * - Coalescing: at most one pass is queued; requests while it waits or runs cause exactly one more pass.
 *   That pass is incremental (diff against what each backend programmed, no kernel reads) only when
 *   every request folded into it was; lease events are, everything else reads the kernel.
 * - A failed pass is retried after a second; a periodic full pass catches changes made behind our back.
 */
import { formatNet } from '../network/ipv4.js';
import { makeSubnetKey } from '../network/lease.js';
import type { AgentReconcileStatus } from '../network/agent-status.js';
import type { Lease } from '../network/types.js';
import type { Logger, ReconcileOptions, ReconcileResult } from './backends/backend.js';
import { Serial } from './backends/util.js';
import type { ActiveBackends } from './active-backends.js';
import type { PeerSet } from './peers.js';

export type ReconcileMode = NonNullable<ReconcileOptions['mode']>;

export interface ReconcilerOptions {
  active: ActiveBackends;
  peers: PeerSet;
  log: Logger;
  /** wait before retrying a failed pass (default 1 s) */
  retryMs?: number;
}

export class Reconciler {
  private readonly ops = new Serial();
  private started = false;
  private stopped = false;
  private queued = false;
  private again = false;
  private full = false;
  private reason = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly ignoredWarned = new Set<string>();
  /** the last pass, for /status */
  last: AgentReconcileStatus | undefined;

  constructor(private readonly o: ReconcilerOptions) {}

  /** Runs kernel work exclusively (after whatever is queued). */
  run<T>(job: () => Promise<T>): Promise<T> {
    return this.ops.run(job);
  }

  /** One pass now, queued behind other kernel work (start-up uses it before requests are accepted). */
  now(reason: string): Promise<void> {
    return this.run(() => this.pass(reason));
  }

  /** Accept requests from now on and start the periodic full pass. */
  start(intervalMs: number): void {
    if (this.stopped) return;
    this.started = true;
    this.timer = setInterval(() => this.request('periodic'), intervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** Ask for a pass (coalesced, see the file comment). Ignored before start() and after stop(). */
  request(reason: string, mode: ReconcileMode = 'full'): void {
    if (!this.started || this.stopped) return;
    this.again = true;
    this.reason = reason;
    if (mode === 'full') this.full = true;
    if (this.queued) return;
    this.queued = true;
    void this.run(async () => {
      try {
        while (this.again && !this.stopped) {
          this.again = false;
          const m: ReconcileMode = this.full ? 'full' : 'incremental';
          this.full = false;
          await this.pass(this.reason, m);
        }
      } finally {
        this.queued = false;
      }
    });
  }

  /** One pass over every active backend, in order (the new backend first during a switch). Call inside `run`. */
  async pass(reason: string, mode: ReconcileMode = 'full'): Promise<void> {
    const t0 = performance.now();
    const total: ReconcileResult = { added: 0, removed: 0, unchanged: 0 };
    let error: string | undefined;
    const a = this.o.active.assign(this.o.peers);
    this.warnIgnored(a.ignored);
    for (const { backend } of this.o.active.list()) {
      try {
        const r = await backend.reconcile(a.byType.get(backend.type) ?? [], { mode });
        total.added += r.added;
        total.removed += r.removed;
        total.unchanged += r.unchanged;
      } catch (e) {
        error = `${backend.type}: ${(e as Error).message}`;
      }
    }
    const durationMs = Math.round((performance.now() - t0) * 10) / 10;
    this.last = { at: new Date().toISOString(), durationMs, reason, ...total, ...(error ? { error } : {}) };
    const log = this.o.log;
    if (error) {
      log.error(`reconcile (${reason}) failed, retrying: ${error}`);
      const t = setTimeout(() => this.request('retry'), this.o.retryMs ?? 1000);
      t.unref();
    } else if (total.added || total.removed) {
      log.info(`reconcile (${reason}): ${total.added} added, ${total.removed} removed, ${total.unchanged} unchanged in ${durationMs} ms`);
    } else {
      log.debug(2, `reconcile (${reason}): nothing to change (${total.unchanged} entries) in ${durationMs} ms`);
    }
  }

  /** Leases no active backend can program are left alone, with one warning per subnet, type and backend set. */
  private warnIgnored(leases: readonly Lease[]): void {
    const active = this.o.active.types().join('/');
    for (const l of leases) {
      const t = l.attrs.BackendType ?? '';
      const k = `${makeSubnetKey(l.subnet)}|${t}|${active}`;
      if (this.ignoredWarned.has(k)) continue;
      this.ignoredWarned.add(k);
      this.o.log.warn(`Ignoring non-${active} subnet ${formatNet(l.subnet)} (PublicIP ${l.attrs.PublicIP}): type=${t}`);
    }
  }
}
