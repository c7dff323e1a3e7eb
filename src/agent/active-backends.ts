/**
 * The set of active backends, primary (the configured one) first, and the config in force. Normally one
 * backend is active; during a live switch (backend-switch.ts) two are, because make-before-break keeps
 * the old datapath for peers that have not moved yet. Each peer is programmed by the backend of its own
 * lease's BackendType (PeerSet.assign), so the order matters only for who goes first in a reconcile pass
 * (the new backend) and whose MTU is subnet.env's (the primary's).
 */
import type { AgentBackendStatus } from '../network/agent-status.js';
import type { Ipv4Net, LeaseAttrs, NetworkConfig } from '../network/types.js';
import type { Backend } from './backends/backend.js';
import type { PeerAssignment, PeerSet } from './peers.js';

/** What a backend publishes in this node's lease. */
export type BackendAttrs = Pick<LeaseAttrs, 'BackendType' | 'BackendData'>;

/** An active backend with the config it was made with and the lease attrs it publishes. */
export interface ActiveBackend {
  backend: Backend;
  config: NetworkConfig;
  attrs: BackendAttrs;
}

export class ActiveBackends {
  private entries = new Map<string, ActiveBackend>();
  private inForce: NetworkConfig | undefined;

  /** The config in force: the one whose backend is the primary (undefined before start-up found one). */
  get config(): NetworkConfig | undefined {
    return this.inForce;
  }

  primary(): ActiveBackend | undefined {
    return this.entries.values().next().value;
  }

  get(type: string): ActiveBackend | undefined {
    return this.entries.get(type);
  }

  /** Backend types, primary first. */
  types(): string[] {
    return [...this.entries.keys()];
  }

  list(): ActiveBackend[] {
    return [...this.entries.values()];
  }

  /** Make `entry` the primary backend serving `config` (start-up, or the target of a switch). */
  setPrimary(entry: ActiveBackend, config: NetworkConfig): void {
    const t = entry.backend.type;
    this.entries = new Map([[t, entry], ...[...this.entries].filter(([k]) => k !== t)]);
    this.inForce = config;
  }

  /** Add a secondary backend (another backend's state kept while peers still use it). */
  addSecondary(entry: ActiveBackend): void {
    this.entries.set(entry.backend.type, entry);
  }

  /** Drop a backend from the set (the caller tears it down). */
  remove(type: string): ActiveBackend | undefined {
    const e = this.entries.get(type);
    this.entries.delete(type);
    return e;
  }

  /** Which active backend programs which peer (by the peer's BackendType). */
  assign(peers: PeerSet): PeerAssignment {
    return peers.assign(this.types());
  }

  /** Own subnet known or changed: every active backend finishes its local setup with it. */
  async activateAll(subnet: Ipv4Net): Promise<void> {
    for (const e of this.entries.values()) await e.backend.activate(subnet);
  }

  status(): AgentBackendStatus[] {
    return this.list().map((e) => ({ type: e.backend.type, mtu: e.backend.mtu }));
  }
}
