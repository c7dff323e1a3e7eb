/**
 * flanneld's parts wired together, and the start-up sequence (like flannel's main.go):
 *
 *   health server, previous subnet.env, interface, etcd session   (side by side)
 *   -> wait for the config -> prepare the backend -> acquire the lease -> activate, iptables, peers from
 *   a listing, leftovers of another backend -> one reconcile -> subnet.env -> ready (READY=1, /readyz)
 *   -> follow leases and config, renew the lease, reconcile periodically, probe etcd.
 *
 * The parts, one concern each: etcd-session (client, liveness), config-follower, lease-follower (feeds
 * the PeerSet), own-subnet (acquire/renew/re-acquire), reconciler (serialised kernel work), active-backends,
 * backend-switch (the live switch's state machine), status. etcd going away changes nothing in the
 * kernel; when it answers again, leases and config are re-read and the renewal catches up.
 */
import type { Server } from 'node:http';
import { OutOfSubnetsError } from '../etcd/acquire.js';
import type { AgentStatus } from '../network/agent-status.js';
import { describeRange } from '../network/config.js';
import { formatNet } from '../network/ipv4.js';
import type { Lease, LeaseAttrs } from '../network/types.js';
import { ActiveBackends, type BackendAttrs } from './active-backends.js';
import { BackendSwitch } from './backend-switch.js';
import type { Backend, ExternalInterface } from './backends/backend.js';
import { createBackend } from './backends/registry.js';
import { ConfigFollower } from './config-follower.js';
import { openEtcdSession, type EtcdSession } from './etcd-session.js';
import type { AgentFlags } from './flags.js';
import { startHealthServer } from './health.js';
import { lookupExtIface } from './iface.js';
import { IptablesManager, supportsRandomFully } from './kernel/iptables.js';
import { LeaseFollower } from './lease-follower.js';
import { removeStrayDevices, scanLeftovers } from './leftovers.js';
import type { AgentLogger } from './log.js';
import { sdNotifyReady } from './notify.js';
import { OwnSubnet } from './own-subnet.js';
import { PeerSet } from './peers.js';
import { Reconciler } from './reconciler.js';
import { buildStatus } from './status.js';
import { readPreviousSubnetEnv, writeSubnetEnvFile } from './subnet-file.js';

/** A fatal start-up error: flanneld logs it and exits 1. */
export class FatalError extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Daemon {
  private readonly peers = new PeerSet();
  private readonly active = new ActiveBackends();
  private readonly reconciler: Reconciler;
  private readonly backendSwitch: BackendSwitch;
  private session: EtcdSession | undefined;
  private config: ConfigFollower | undefined;
  private leases: LeaseFollower | undefined;
  private own: OwnSubnet | undefined;
  private extIface: ExternalInterface | undefined;
  private iptables: IptablesManager | undefined;
  private stopIptablesResync: (() => void) | undefined;
  private server: Server | undefined;
  private ready = false;
  private stopped = false;
  private resyncing = false;
  private stopResolve: (() => void) | undefined;
  private readonly startedAt = Date.now();

  constructor(
    private readonly flags: AgentFlags,
    private readonly log: AgentLogger,
    private readonly hooks: { onReady?: () => void } = {},
  ) {
    this.reconciler = new Reconciler({ active: this.active, peers: this.peers, log });
    this.backendSwitch = new BackendSwitch({
      active: this.active, peers: this.peers, reconciler: this.reconciler, log, timeoutMs: flags.backendSwitchTimeout,
      createBackend: (config) => createBackend(config.backendType, { extIface: this.extIface!, config, log: log.child(config.backendType) }),
      ownSubnet: () => this.own?.lease?.subnet,
      publish: (attrs, stillWanted) => this.publishAttrs(attrs, stillWanted),
      writeSubnetEnv: () => this.writeSubnetFile(this.own!.lease!),
    });
  }

  isReady(): boolean {
    return this.ready;
  }

  /** GET /status (the document's type and meaning: network/agent-status.ts, shared with the CLI). */
  status(): AgentStatus {
    return buildStatus({
      ready: this.ready, startedAt: this.startedAt, active: this.active, peers: this.peers, reconciler: this.reconciler,
      backendSwitch: this.backendSwitch, extIface: this.extIface, own: this.own, config: this.config,
      etcd: () => this.session?.status() ?? { connected: false, lastContact: null },
    });
  }

  /** Runs until stop(); resolves with the exit code. Throws FatalError for start-up failures. */
  async run(): Promise<number> {
    const f = this.flags;
    const log = this.log;
    const stoppedP = new Promise<void>((r) => (this.stopResolve = r));
    // Independent start-up work runs side by side: the health server, subnet.env, the etcd connection
    // and config read, interface discovery and the iptables version probe.
    const serverP = f.healthzPort > 0 ? startHealthServer(f.healthzIp, f.healthzPort, this) : undefined;
    const prevP = readPreviousSubnetEnv(f.subnetFile).catch((e: Error) => {
      log.warn(`cannot read ${f.subnetFile}: ${e.message}`);
      return undefined;
    });
    const ifaceP = settle(lookupExtIface({ iface: f.iface, ifaceRegex: f.ifaceRegex, publicIp: f.publicIp }, log));
    const randomFullyP = f.ipMasq && !f.ipMasqFullyRandomDisable ? supportsRandomFully().catch(() => false) : Promise.resolve(false);
    const session = (this.session = await openEtcdSession(f, log));
    const follower = (this.config = new ConfigFollower({
      source: session.config, log, inForce: () => this.active.config,
      switchBackend: (next, revision) => this.backendSwitch.apply(next, revision),
    }));
    const configP = follower.waitForFirst();

    if (serverP) {
      this.server = await serverP;
      log.info(`Start healthz server on ${f.healthzIp}:${f.healthzPort}`);
    }
    const prev = await prevP;
    if (!prev?.subnet) log.warn(`no subnet found for key: FLANNEL_SUBNET in file: ${f.subnetFile}`);
    log.info(`Created subnet manager: etcd ${session.description} prefix ${f.etcdPrefix} with Previous Subnet: ${prev?.subnet ? formatNet(prev.subnet) : 'None'}`);

    const config = await configP;
    if (!config) return 0; // stopped while waiting
    log.info(`Found network config - Backend type: ${config.backendType}`);
    if (!config.enableIPv4) throw new FatalError('this flanneld supports IPv4 networks only (EnableIPv4 is false)');
    if (config.enableIPv6) log.warn('EnableIPv6 is set: this flanneld programs IPv4 only; the IPv6 part of the config is ignored');

    const iface = await ifaceP;
    if (!iface.ok) throw new FatalError(`Failed to find any valid interface to use: ${iface.error.message}`);
    const ext = (this.extIface = iface.value);

    let backend: Backend;
    try {
      backend = createBackend(config.backendType, { extIface: ext, config, log: log.child(config.backendType) });
    } catch (e) {
      throw new FatalError(`Error fetching backend: ${(e as Error).message}`);
    }
    const backendAttrs = await backend.prepare();
    this.active.setPrimary({ backend, config, attrs: backendAttrs }, config);
    const attrs: LeaseAttrs = { PublicIP: ext.publicIp, PublicIPv6: null, ...backendAttrs };

    const own = (this.own = new OwnSubnet({
      store: session.store, config, attrs, renewMarginMinutes: f.subnetLeaseRenewMargin, log,
      ...(prev?.subnet ? { previousSubnet: prev.subnet } : {}),
      onSubnetChange: (lease) => this.reprogram(lease),
    }));
    let lease: Lease;
    try {
      lease = (await own.acquire()).lease;
    } catch (e) {
      if (e instanceof OutOfSubnetsError) throw new FatalError(`Error registering network: failed to acquire lease: out of subnets (range ${describeRange(config)})`);
      if (this.stopped) return 0;
      throw e;
    }
    session.liveness.answered();
    this.peers.setOwnSubnet(lease.subnet);

    // iptables needs only the subnet: it runs while the backend is activated and the peers programmed.
    this.iptables = new IptablesManager(log.child('iptables'));
    if (f.ipMasq) log.info('Setting up masking rules');
    if (f.iptablesForwardRules) log.info('Changing default FORWARD chain policy to ACCEPT');
    const iptablesP = settle(randomFullyP.then((randomFully) =>
      this.iptables!.apply({ network: config.network, subnet: lease.subnet, ipMasq: f.ipMasq, forwardRules: f.iptablesForwardRules, randomFully })));

    const leases = (this.leases = new LeaseFollower({
      store: session.store, peers: this.peers, log, own: () => this.own?.lease,
      onOwnKey: (change) => this.own?.handleOwnKey(change),
      onPeersChanged: (incremental, reason) => {
        // the lease-event hot path diffs against what the backends programmed, no kernel reads
        this.reconciler.request(reason, incremental ? 'incremental' : 'full');
        this.backendSwitch.peersChanged();
      },
    }));
    // Program the peers known now, then write subnet.env, then say ready: Docker (After=flanneld,
    // Type=notify) must not start containers before the routes to the other hosts exist.
    const [, listing, scan] = await Promise.all([
      backend.activate(lease.subnet),
      leases.initial(),
      scanLeftovers(config, ext, log).catch((e: Error) => {
        log.warn(`cannot look for state left by another backend: ${e.message}`);
        return undefined;
      }),
    ]);
    if (!listing) return 0;
    if (scan) {
      await removeStrayDevices(scan.stray, log);
      await this.backendSwitch.adopt(scan.leftovers, lease.subnet);
    }
    await this.reconciler.now('start');
    const ipt = await iptablesP;
    if (!ipt.ok) throw new FatalError(`Failed to set up iptables: ${ipt.error.message}`);
    this.stopIptablesResync = this.iptables.startResync(f.iptablesResync * 1000);
    await this.writeSubnetFile(lease);
    this.ready = true;
    this.reconciler.start(f.reconcileInterval * 1000);
    this.hooks.onReady?.();
    log.info(`flannel is ready (subnet ${formatNet(lease.subnet)}, ${this.peers.size} peer(s), mtu ${backend.mtu}, ${Math.round(performance.now())} ms after process start)`);
    void sdNotifyReady(`subnet ${formatNet(lease.subnet)}`).then((r) => {
      if (r !== 'sent' && r !== 'no-socket') log.error(`Failed to notify systemd the message READY=1: ${r}`);
    });

    leases.follow(listing.revision);
    own.startRenewLoop();
    follower.follow();
    this.backendSwitch.arm();
    session.liveness.onRecovered(() => void this.resync());
    session.liveness.start();

    await stoppedP;
    return 0;
  }

  /**
   * etcd answers again after an outage: whatever changed meanwhile (leases, the config) is read now
   * rather than trusted to the watches, which may still sit on a dead connection; an overdue renewal
   * goes out. Retried while etcd answers but the reads fail.
   */
  private async resync(): Promise<void> {
    if (this.resyncing || this.stopped) return;
    this.resyncing = true;
    try {
      this.own?.catchUp();
      await Promise.all([this.leases?.resync(), this.config?.resync()]);
    } catch (e) {
      if (this.session?.liveness.isConnected() && !this.stopped) {
        this.log.warn(`re-reading leases and config after the etcd outage failed (${(e as Error).message}); trying again in 2 s`);
        setTimeout(() => void this.resync(), 2000).unref();
      }
    } finally {
      this.resyncing = false;
    }
  }

  private async writeSubnetFile(lease: Lease): Promise<void> {
    const b = this.active.primary()!.backend;
    try {
      const changed = await writeSubnetEnvFile(this.flags.subnetFile, { network: this.active.config!.network, subnet: lease.subnet, mtu: b.mtu, ipMasq: this.flags.ipMasq });
      if (changed) this.log.info(`Wrote subnet file to ${this.flags.subnetFile} (FLANNEL_MTU=${b.mtu})`);
    } catch (e) {
      throw new FatalError(`Failed to write subnet file: ${(e as Error).message}`);
    }
  }

  /** The lease moved to another subnet (ours was taken): reprogram everything that depends on it. */
  private async reprogram(lease: Lease): Promise<void> {
    const f = this.flags;
    this.peers.setOwnSubnet(lease.subnet);
    await this.reconciler.run(() => this.active.activateAll(lease.subnet));
    await this.iptables?.apply({
      network: this.active.config!.network, subnet: lease.subnet, ipMasq: f.ipMasq, forwardRules: f.iptablesForwardRules,
      randomFully: f.ipMasq && !f.ipMasqFullyRandomDisable && (await supportsRandomFully().catch(() => false)),
    });
    await this.writeSubnetFile(lease);
    this.reconciler.request('subnet change');
  }

  /** Publishes the lease attrs (CAS on our own lease), retrying through etcd trouble while still wanted. */
  private async publishAttrs(backendAttrs: BackendAttrs, stillWanted: () => boolean): Promise<void> {
    const attrs: LeaseAttrs = { PublicIP: this.extIface!.publicIp, PublicIPv6: null, ...backendAttrs };
    let wait = 500;
    while (stillWanted()) {
      try {
        await this.own!.updateAttrs(attrs);
        return;
      } catch (e) {
        this.log.warn(`cannot update the lease with BackendType ${attrs.BackendType} (retrying in ${wait} ms): ${(e as Error).message}`);
        await sleep(wait);
        wait = Math.min(5000, wait * 2);
      }
    }
  }

  /** SIGTERM: stop watching and renewing, keep the lease and every kernel entry in place. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ready = false;
    this.reconciler.stop();
    this.backendSwitch.stop();
    this.stopIptablesResync?.();
    this.own?.stop();
    this.session?.liveness.stop();
    // a frozen etcd never confirms a watch cancellation: give it a second, then go anyway
    await Promise.race([Promise.allSettled([this.leases?.stop(), this.config?.stop()]), sleep(1000)]);
    if (this.server) {
      const s = this.server;
      await new Promise<void>((r) => {
        const t = setTimeout(r, 3000);
        s.close(() => { clearTimeout(t); r(); });
        s.closeAllConnections?.();
      });
    }
    this.session?.close();
    this.stopResolve?.();
  }
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

/** A promise that never rejects (started early, awaited later: no unhandled rejection meanwhile). */
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error: error instanceof Error ? error : new Error(String(error)) }));
}
