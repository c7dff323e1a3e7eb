/** Small helpers shared by the backends. */
import { formatNet, netContainsNet, netEquals } from '../../network/ipv4.js';
import type { Ipv4Net, Lease, SupportedBackendType } from '../../network/types.js';
import type { BackendContext, Logger } from './backend.js';

/**
 * Runs async jobs one at a time, in call order: a backend's prepare/activate/reconcile/teardown read
 * kernel state and then apply a diff, so two overlapping runs would compute diffs from stale reads.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(job: () => Promise<T>): Promise<T> {
    const p = this.tail.then(job, job);
    this.tail = p.catch(() => undefined);
    return p;
  }
}

/**
 * Logs a warning/error once per key (periodic reconciles would otherwise repeat it every pass);
 * `forget` lets a condition that went away be reported again if it comes back.
 */
export class WarnOnce {
  private seen = new Set<string>();
  warn(log: Logger, key: string, msg: string, level: 'warn' | 'error' = 'warn'): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    log[level](msg);
  }
  forget(which: (key: string) => boolean): void {
    for (const k of this.seen) if (which(k)) this.seen.delete(k);
  }
}

/**
 * The leases a backend may program: of its own BackendType (others reported once, in the backend's
 * flannel wording `otherType`), not this node's subnet, inside the Network. Backend-specific checks of
 * the lease data come after.
 */
export function leasesToProgram(
  leases: readonly Lease[],
  type: SupportedBackendType,
  ownSubnet: Ipv4Net | undefined,
  ctx: BackendContext,
  warned: WarnOnce,
  otherType: (subnet: string, type: string) => string,
): { lease: Lease; sn: string }[] {
  const out: { lease: Lease; sn: string }[] = [];
  for (const lease of leases) {
    const sn = formatNet(lease.subnet);
    const t = lease.attrs.BackendType ?? '';
    if (t !== type) {
      warned.warn(ctx.log, `type:${sn}:${t}`, otherType(sn, t));
      continue;
    }
    if (ownSubnet && netEquals(ownSubnet, lease.subnet)) continue;
    if (!netContainsNet(ctx.config.network, lease.subnet)) {
      warned.warn(ctx.log, `net:${sn}`, `${type}: ignoring lease ${sn}: outside the Network ${formatNet(ctx.config.network)}`);
      continue;
    }
    out.push({ lease, sn });
  }
  return out;
}
