/**
 * The live backend switch (issue 5, make-before-break) as a state machine of its own.
 *
 *   idle --config names another backend--> switching(config change) --every peer moved + settle--> idle
 *   start-up finds the other backend's state while peers use it --> switching(restart)   --deadline--> idle
 *
 * Entering: the new backend is created, prepared and activated next to the old one (or the old one is
 * reused when the config goes back to a backend whose datapath is still up with the same options), it
 * becomes the primary, one reconcile pass programs each peer by the backend matching *its* lease's
 * BackendType (new backend first), then this node's lease is updated (compare-and-swap) and subnet.env
 * gets the new MTU. The old backend keeps its datapath (e.g. flannel.1, for packets still arriving
 * encapsulated) until no peer lease shows it any more plus SWITCH_SETTLE_MS, or until the deadline
 * (-backend-switch-timeout); then it is torn down. A peer that moves back cancels the settle timer; a
 * newer config supersedes a switch in flight (the latest config wins, its own deadline counts).
 *
 * Restart in the middle: an agent killed during a switch finds the other backend's kernel state at start
 * (leftovers.ts). If peers still use that backend it is adopted as a secondary backend and the same
 * "switching" state is entered (reason 'restart'); otherwise the state is removed at once.
 *
 * Kernel work goes through the reconciler's queue, so no pass runs while a backend is added or removed.
 */
import type { AgentLastSwitch, AgentSwitchStatus } from '../network/agent-status.js';
import { sameBackend } from '../network/config-compare.js';
import { formatNet } from '../network/ipv4.js';
import type { Ipv4Net, Lease, NetworkConfig } from '../network/types.js';
import type { Backend, Logger } from './backends/backend.js';
import type { ActiveBackend, ActiveBackends, BackendAttrs } from './active-backends.js';
import type { Leftover } from './leftovers.js';
import { describePeer, type PeerSet } from './peers.js';
import type { Reconciler } from './reconciler.js';

/**
 * Once every peer lease shows the new backend, the old datapath stays this much longer: a peer publishes
 * its lease right after programming its routes, but it may not have seen *our* new lease yet, so a few
 * of its packets can still arrive encapsulated.
 */
export const SWITCH_SETTLE_MS = 1500;

export interface BackendSwitchOptions {
  active: ActiveBackends;
  peers: PeerSet;
  reconciler: Pick<Reconciler, 'run' | 'pass'>;
  /** makes a backend of `config.backendType` (throws for a type this agent cannot run) */
  createBackend(config: NetworkConfig): Backend;
  /** this node's subnet (undefined before the lease is acquired) */
  ownSubnet(): Ipv4Net | undefined;
  /**
   * Publish the new backend's attrs in this node's lease; retries through etcd trouble while
   * `stillWanted()` holds, resolves when published or no longer wanted.
   */
  publish(attrs: BackendAttrs, stillWanted: () => boolean): Promise<void>;
  /** rewrite subnet.env (the primary backend's MTU) */
  writeSubnetEnv(): Promise<void>;
  log: Logger;
  /** -backend-switch-timeout in ms */
  timeoutMs: number;
  settleMs?: number;
}

/** What a config change came to, for the config follower's "restart needed" note. */
export type SwitchOutcome =
  | { kind: 'switched' }
  /** a newer config (or stop) took over before this switch finished publishing */
  | { kind: 'superseded' }
  /** cannot be applied live: the note for /status pendingConfigChange */
  | { kind: 'restart-needed'; note: string }
  /** the new backend could not be brought up; the old one stays */
  | { kind: 'failed' };

interface Switching {
  to: string;
  from: string[];
  since: number;
  deadline: number;
  reason: 'config change' | 'restart';
  deadlineTimer?: NodeJS.Timeout;
  settleTimer?: NodeJS.Timeout;
}

export class BackendSwitch {
  private sw: Switching | undefined;
  private last: AgentLastSwitch | undefined;
  private stopped = false;

  constructor(private readonly o: BackendSwitchOptions) {}

  /** The switch in progress, for /status (null when idle). */
  status(): AgentSwitchStatus | null {
    const sw = this.sw;
    if (!sw) return null;
    return {
      from: sw.from, to: sw.to, reason: sw.reason, since: new Date(sw.since).toISOString(), deadline: new Date(sw.deadline).toISOString(),
      waitingFor: this.waiting(sw).map((l) => formatNet(l.subnet)),
    };
  }

  get switching(): boolean {
    return this.sw !== undefined;
  }

  get since(): number | undefined {
    return this.sw?.since;
  }

  lastSwitch(): AgentLastSwitch | null {
    return this.last ?? null;
  }

  /** Peers whose lease still shows a backend being switched away from. */
  private waiting(sw: Switching): Lease[] {
    return this.o.peers.list().filter((l) => sw.from.includes(l.attrs.BackendType ?? ''));
  }

  /**
   * Start-up with another backend's state in the kernel (see the file comment): keep it while peers use
   * that backend, else remove it. Runs before the agent is ready; `arm()` starts the timers once it is.
   */
  async adopt(leftovers: readonly Leftover[], own: Ipv4Net): Promise<void> {
    const configured = this.o.active.config!.backendType;
    for (const l of leftovers) {
      const t = l.backend.type;
      const users = this.o.peers.ofType(t);
      try {
        if (users.length === 0) {
          await l.backend.teardown();
          this.o.log.info(`removed ${l.what} left by the ${t} backend: configured ${configured} and no peer uses ${t} any more`);
          continue;
        }
        const attrs = await l.backend.prepare();
        await l.backend.activate(own);
        this.o.active.addSecondary({ backend: l.backend, config: l.config, attrs });
        const now = Date.now();
        this.sw = { to: configured, from: [t], since: now, deadline: now + this.o.timeoutMs, reason: 'restart' };
        this.o.log.warn(`found ${l.what} of the ${t} backend (a backend switch was interrupted?): keeping it for ${users.length} peer(s) still on ${t} until they move to ${configured} (at most ${this.o.timeoutMs / 1000}s)`);
      } catch (e) {
        this.o.log.error(`cannot handle ${l.what} left by the ${t} backend: ${(e as Error).message}`);
      }
    }
  }

  /** Once the agent runs: start the deadline and settle timers of a switch adopted at start-up. */
  arm(): void {
    if (this.sw) this.peersChanged();
  }

  /** The config in force now names another backend (the config follower decided it is a live change). */
  async apply(next: NetworkConfig, revision: string | undefined): Promise<SwitchOutcome> {
    const { active, log } = this.o;
    const to = next.backendType;
    const own = this.o.ownSubnet();
    if (!own || this.stopped) return { kind: 'superseded' };
    const t0 = Date.now();
    let entry = active.get(to);
    if (entry && !sameBackend(entry.config, next)) {
      log.warn(`network config changed back to ${to} with other options than the ${to} datapath still active; restart flanneld to apply them`);
      return { kind: 'restart-needed', note: `restart flanneld to apply: ${to} options changed while the old ${to} datapath is still active` };
    }
    const current = active.config!.backendType;
    const from = active.types().filter((t) => t !== to);
    log.info(`network config changed (revision ${revision}): backend ${from.join('+')} -> ${to}; switching live (new datapath first, ${from.join('+')} kept until every peer has moved or ${this.o.timeoutMs / 1000}s)`);
    if (!entry) {
      const made = await this.bringUp(next, own, current);
      if ('kind' in made) return made;
      entry = made;
    }
    const chosen = entry;
    await this.o.reconciler.run(async () => {
      active.setPrimary(chosen, next);
      this.clearTimers();
      const now = Date.now();
      this.sw = from.length ? { to, from, since: now, deadline: now + this.o.timeoutMs, reason: 'config change' } : undefined;
      await this.o.reconciler.pass('backend switch');
    });
    await this.o.publish(chosen.attrs, () => !this.stopped && active.config === next);
    if (active.config !== next || this.stopped) return { kind: 'superseded' };
    await this.o.writeSubnetEnv().catch((e: Error) => log.error(e.message));
    log.info(`now on ${to} (lease and subnet.env updated, MTU ${chosen.backend.mtu}) ${Date.now() - t0} ms after the config change`);
    if (this.sw) this.peersChanged();
    else this.last = { from, to, at: new Date().toISOString(), durationMs: Date.now() - t0, outcome: 'done' };
    return { kind: 'switched' };
  }

  /** Create, prepare and activate the new backend next to the old one. */
  private async bringUp(next: NetworkConfig, own: Ipv4Net, current: string): Promise<ActiveBackend | SwitchOutcome> {
    const to = next.backendType;
    let backend: Backend;
    try {
      backend = this.o.createBackend(next);
    } catch (e) {
      this.o.log.error(`cannot switch to ${to}: ${(e as Error).message}; staying on ${current}`);
      return { kind: 'restart-needed', note: `cannot switch to ${to}: ${(e as Error).message}` };
    }
    try {
      const attrs = await this.o.reconciler.run(async () => {
        const a = await backend.prepare();
        await backend.activate(own);
        return a;
      });
      return { backend, config: next, attrs };
    } catch (e) {
      this.o.log.error(`cannot switch to ${to}: preparing it failed: ${(e as Error).message}; staying on ${current}`);
      await backend.teardown().catch(() => undefined);
      return { kind: 'failed' };
    }
  }

  /**
   * Peer leases changed (or the switch was just entered): arm the deadline; when no peer lease shows an
   * old backend any more, tear it down after the settle time; a peer that moves back cancels that.
   */
  peersChanged(): void {
    const sw = this.sw;
    if (!sw || this.stopped) return;
    sw.deadlineTimer ??= setTimeout(() => void this.finish(sw, 'timeout'), Math.max(0, sw.deadline - Date.now()));
    const waiting = this.waiting(sw);
    if (waiting.length === 0 && !sw.settleTimer) {
      sw.settleTimer = setTimeout(() => void this.finish(sw, 'moved'), this.o.settleMs ?? SWITCH_SETTLE_MS);
    } else if (waiting.length > 0 && sw.settleTimer) {
      clearTimeout(sw.settleTimer);
      sw.settleTimer = undefined;
    }
  }

  private async finish(sw: Switching, why: 'moved' | 'timeout'): Promise<void> {
    const { active, peers, log } = this.o;
    await this.o.reconciler.run(async () => {
      if (this.sw !== sw || this.stopped) return;
      this.clearTimers();
      this.sw = undefined;
      const left = this.waiting(sw);
      if (why === 'timeout' && left.length) {
        log.warn(`backend switch to ${sw.to}: ${left.length} peer(s) still on ${sw.from.join('+')} after ${this.o.timeoutMs / 1000}s: ${left.map(describePeer).join(', ')}; removing ${sw.from.join('+')} anyway (they are unreachable until they move)`);
      }
      for (const t of sw.from) {
        const a = active.remove(t);
        if (!a) continue;
        peers.forgetType(t);
        try {
          await a.backend.teardown();
        } catch (e) {
          log.error(`tearing down ${t} failed: ${(e as Error).message}`);
        }
      }
      const durationMs = Date.now() - sw.since;
      this.last = { from: sw.from, to: sw.to, at: new Date().toISOString(), durationMs, outcome: why === 'moved' ? 'every peer moved' : `timeout (${left.length} peer(s) had not moved)` };
      log.info(`backend switch to ${sw.to} complete after ${(durationMs / 1000).toFixed(1)} s (${this.last.outcome}): ${sw.from.join('+')} removed`);
      await this.o.reconciler.pass('switch done');
    });
  }

  private clearTimers(): void {
    const sw = this.sw;
    if (sw?.deadlineTimer) clearTimeout(sw.deadlineTimer);
    if (sw?.settleTimer) clearTimeout(sw.settleTimer);
  }

  /** SIGTERM: no more steps; whatever datapaths are up stay up. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
  }
}
