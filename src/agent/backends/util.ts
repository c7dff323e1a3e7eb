/** Small helpers shared by the backends. */
import type { Logger } from './backend.js';

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
