/**
 * The one small interface every data-path backend implements (flannel's backend.Backend +
 * backend.Network, reduced). A backend owns exactly the kernel state it creates, so several can be
 * active at once during a live backend switch (make-before-break) without touching each other's
 * routes: vxlan owns the flannel.<VNI> device and everything on it; host-gw owns routes inside the
 * Network that go via the external interface with a gateway.
 */
import type { Ipv4Net, Lease, LeaseAttrs, NetworkConfig, SupportedBackendType } from '../../network/types.js';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** verbose detail, shown at -v=level or higher */
  debug(level: number, msg: string): void;
}

export type { ExternalInterface } from '../../network/iface-select.js';
import type { ExternalInterface } from '../../network/iface-select.js';

export interface BackendContext {
  extIface: ExternalInterface;
  config: NetworkConfig;
  log: Logger;
}

/** What a reconcile pass changed, for logs and the peer-latency benchmark. */
export interface ReconcileResult {
  added: number;
  removed: number;
  unchanged: number;
}

/** How a reconcile pass learns the current kernel state. */
export interface ReconcileOptions {
  /**
   * 'full' (default): read the kernel state (`ip -j`, `bridge -j`) and diff against it — use at start and
   * for the periodic pass; it finds anything changed behind the agent's back.
   * 'incremental': diff against what this backend itself programmed last time (no kernel reads; a
   * single peer change costs a few ms) — for lease events. Falls back to 'full' when the backend has no
   * such record (first pass, or the previous apply failed).
   */
  mode?: 'full' | 'incremental';
}

export interface Backend {
  readonly type: SupportedBackendType;
  /** the MTU containers should use (subnet.env FLANNEL_MTU): vxlan = underlay MTU - 50, host-gw = iface MTU */
  readonly mtu: number;
  /**
   * Create or adopt the local data path before the lease is acquired (vxlan: the device, so its MAC
   * can be published). Returns BackendType/BackendData for this node's lease.
   */
  prepare(): Promise<Pick<LeaseAttrs, 'BackendType' | 'BackendData'>>;
  /** Finish local setup once the node's own subnet is known (vxlan: device address = subnet/32, up). */
  activate(ownSubnet: Ipv4Net): Promise<void>;
  /**
   * Make this backend's kernel state match exactly these peer leases (all of this backend's type,
   * own lease excluded): add what is missing, replace what differs, delete what belongs to no lease.
   * Idempotent; called at start, after every batch of lease events, and periodically.
   */
  reconcile(peers: readonly Lease[], opts?: ReconcileOptions): Promise<ReconcileResult>;
  /** Remove every trace of this backend (device, routes, neighbours, FDB entries). */
  teardown(): Promise<void>;
}

