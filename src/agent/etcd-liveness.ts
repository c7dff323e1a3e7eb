/**
 * Whether etcd answers. A frozen etcd (SIGSTOP, a hung disk, a firewall dropping packets) keeps the TCP
 * connection open or silently eats it: no call fails, watches just stop delivering, and until gRPC's
 * keepalive gives up (~20 s) nothing says so. So the agent asks etcd something cheap every `intervalMs`
 * with a deadline of `timeoutMs`; one unanswered probe means "not answering" (detected within
 * interval + timeout), the next answer means "back". Each transition is logged once — not every probe —
 * and listeners of `onRecovered` resync what may have been missed. Nothing here touches the data path:
 * while etcd is away the kernel state, the lease and subnet.env stay exactly as they are.
 */
import type { AgentEtcdStatus } from '../network/agent-status.js';
import type { Logger } from './backends/backend.js';

export interface LivenessOptions {
  /** one cheap etcd request with its own deadline; rejects when etcd does not answer */
  probe(): Promise<void>;
  log: Logger;
  /** for the log lines: which etcd */
  describe: string;
  intervalMs?: number;
  timeoutMs?: number;
}

export const PROBE_INTERVAL_MS = 2000;
export const PROBE_TIMEOUT_MS = 3000;

export class EtcdLiveness {
  private connected = false;
  private detail: string | undefined = 'not connected yet';
  private since = Date.now();
  private lastContact: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private running = false;
  private readonly recovered: (() => void)[] = [];

  constructor(private readonly o: LivenessOptions) {}

  get intervalMs(): number {
    return this.o.intervalMs ?? PROBE_INTERVAL_MS;
  }

  get timeoutMs(): number {
    return this.o.timeoutMs ?? PROBE_TIMEOUT_MS;
  }

  /** Called after an outage ends (not at start). */
  onRecovered(fn: () => void): void {
    this.recovered.push(fn);
  }

  isConnected(): boolean {
    return this.connected;
  }

  status(): AgentEtcdStatus {
    return {
      connected: this.connected,
      ...(this.detail && !this.connected ? { detail: this.detail } : {}),
      lastContact: this.lastContact !== undefined ? new Date(this.lastContact).toISOString() : null,
      since: new Date(this.since).toISOString(),
    };
  }

  /** etcd answered a request (the probe, or any call whose outcome the agent reports here). */
  answered(): void {
    const now = Date.now();
    this.lastContact = now;
    if (this.connected) return;
    const downMs = now - this.since;
    this.connected = true;
    this.detail = undefined;
    this.since = now;
    if (!this.running) return; // start-up: the caller's own lines say what happened
    this.o.log.info(`etcd answers again (${this.o.describe}) after ${(downMs / 1000).toFixed(1)} s without an answer; re-listing leases and config`);
    for (const fn of this.recovered) fn();
  }

  /** etcd did not answer (a probe timed out, a call failed for want of a connection). */
  failed(detail: string): void {
    // etcd3's circuit breaker refuses calls for 5 s after three failures: the earlier reason stays the reason
    if (!/circuit breaker/i.test(detail) || !this.detail) this.detail = detail;
    if (!this.connected) return;
    this.connected = false;
    this.since = Date.now();
    if (!this.running) return;
    this.o.log.warn(`etcd is not answering (${this.o.describe}: ${detail}); routes, the lease and subnet.env stay as they are; checking every ${this.intervalMs / 1000} s`);
  }

  /** Probe from now on (the agent is running; transitions are logged and reported). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => void this.probeOnce(), this.intervalMs);
    this.timer.unref();
  }

  /** One probe, bounded by its own timer too: a library that hangs without honouring the deadline counts as no answer. */
  private async probeOnce(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    let guard: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.o.probe(),
        new Promise<never>((_, reject) => {
          guard = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs / 1000} s`)), this.timeoutMs + 500);
        }),
      ]);
      if (this.running) this.answered();
    } catch (e) {
      if (this.running) this.failed(describeFailure(e as Error, this.timeoutMs));
    } finally {
      if (guard) clearTimeout(guard);
      this.probing = false;
      this.schedule();
    }
  }
}

/** gRPC's wording made readable: a deadline means "no answer within N s". */
function describeFailure(e: Error, timeoutMs: number): string {
  const m = e.message ?? String(e);
  if (/DEADLINE_EXCEEDED|deadline exceeded/i.test(m)) return `no answer within ${timeoutMs / 1000} s`;
  return m.replace(/^\d+ [A-Z_]+: /, '');
}
