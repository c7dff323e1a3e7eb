/**
 * The agent's main loop. Start: health server, previous subnet.env, etcd, wait for the config,
 * choose the interface, prepare the backend, acquire the lease, activate, iptables, program the
 * peers from a snapshot, write subnet.env, then (and only then) report ready. Run: a watch of the
 * subnets prefix feeds the peer set; every batch and a periodic timer ask the active backends to
 * reconcile. etcd going away changes nothing in the kernel; watches and renewals retry by themselves.
 *
 * Live backend switch (issue 5, make-before-break): the config key is watched; when only the backend
 * type changed, the new backend is created, prepared and activated next to the old one, peers are
 * reconciled (each by the backend matching *its* lease's BackendType, new backend first), then this
 * node's lease is updated with a compare-and-swap and subnet.env gets the new MTU. The old backend keeps
 * its datapath (e.g. flannel.1, for packets still arriving encapsulated) until every peer lease shows
 * the new backend (plus a short settle time) or -backend-switch-timeout passes; then it is torn down.
 * The same "switching" state is entered at start when the other backend's state is found in the kernel
 * while peers still use it (an agent restarted in the middle of a switch), else that state is removed.
 * Other config changes cannot be applied live: they are logged (and shown in /status) and ignored.
 *
 * Kernel work is serialised through `ops` (reconcile passes and switch steps), so a backend is never
 * reconciled while it is being added or torn down.
 */
import type { Server } from 'node:http';
import type { Etcd3 } from 'etcd3';
import type { EtcdConnectOptions } from '../etcd/client.js';
import type { ConfigWatch } from '../etcd/config-store.js';
import { OutOfSubnetsError } from '../etcd/acquire.js';
import type { LeaseChange, LeaseStore, LeaseWatch } from '../etcd/lease-store.js';
import { parseNetworkConfig, describeRange } from '../network/config.js';
import { classifyConfigChange, sameBackend } from '../network/config-compare.js';
import { formatNet, netEquals } from '../network/ipv4.js';
import { makeSubnetKey } from '../network/lease.js';
import type { Lease, LeaseAttrs, NetworkConfig } from '../network/types.js';
import type { Backend, ExternalInterface, ReconcileOptions, ReconcileResult } from './backends/backend.js';
import { createBackend } from './backends/registry.js';
import { Serial } from './backends/util.js';
import { IptablesManager, supportsRandomFully } from './kernel/iptables.js';
import { batch, isNotFound } from './kernel/iproute2.js';
import type { AgentFlags } from './flags.js';
import { startHealthServer } from './health.js';
import { lookupExtIface } from './iface.js';
import { scanLeftovers } from './leftovers.js';
import type { AgentLogger } from './log.js';
import { sdNotifyReady } from './notify.js';
import { describePeer, PeerSet, type PeerDiff } from './peers.js';
import { readPreviousSubnetEnv, writeSubnetEnvFile } from './subnet-file.js';
import { SubnetManager } from './subnet-manager.js';
import { VERSION } from '../network/version.js';
import type { AgentStatus } from '../network/agent-status.js';

/**
 * The etcd stack (etcd3, grpc-js, protobufjs and the embedded etcd protos) costs ~100 ms of CPU just to
 * evaluate — the largest part of start-to-ready. It is loaded only once the first kernel reads (child
 * processes) are under way, so they run on another core meanwhile; `-version`/`-help` never load it.
 */
async function loadEtcd() {
  const [client, configStore, leaseStore] = await Promise.all([
    import('../etcd/client.js'), import('../etcd/config-store.js'), import('../etcd/lease-store.js'),
  ]);
  return { ...client, ...configStore, ...leaseStore };
}
type EtcdModules = Awaited<ReturnType<typeof loadEtcd>>;
type ReconcileMode = NonNullable<ReconcileOptions['mode']>;

/** A fatal start-up error: flanneld logs it and exits 1. */
export class FatalError extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Once every peer lease shows the new backend, the old datapath stays this much longer: a peer publishes
 * its lease right after programming its routes, but it may not have seen *our* new lease yet, so a few
 * of its packets can still arrive encapsulated.
 */
export const SWITCH_SETTLE_MS = 1500;

interface ReconcileRecord extends ReconcileResult {
  at: string;
  durationMs: number;
  reason: string;
  error?: string;
}

/** An active backend with the config it was made with and the lease attrs it publishes. */
interface ActiveBackend {
  backend: Backend;
  config: NetworkConfig;
  attrs: Pick<LeaseAttrs, 'BackendType' | 'BackendData'>;
}

interface SwitchState {
  /** the configured backend */
  to: string;
  /** the old backend(s) still active */
  from: string[];
  since: number;
  deadline: number;
  reason: 'config change' | 'restart';
  timeout?: NodeJS.Timeout;
  settle?: NodeJS.Timeout;
}

export class Agent {
  private etcd!: EtcdModules;
  private client: Etcd3 | undefined;
  private store: LeaseStore | undefined;
  private server: Server | undefined;
  /** the config in force (its backend is the primary one) */
  private config: NetworkConfig | undefined;
  /** the newest valid config seen by the watch */
  private latestConfig: NetworkConfig | undefined;
  private configRevision: string | undefined;
  private configWatch: ConfigWatch | undefined;
  /** set while the newest config has changes that need a restart (shown as pendingConfigChange) */
  private restartNeeded: string | undefined;
  private extIface: ExternalInterface | undefined;
  /** active backends by type, primary (configured) first; two during a switch */
  private active = new Map<string, ActiveBackend>();
  private switching: SwitchState | undefined;
  private lastSwitch: { from: string[]; to: string; at: string; durationMs: number; outcome: string } | undefined;
  private readonly peers = new PeerSet();
  private subnets: SubnetManager | undefined;
  private leaseWatch: LeaseWatch | undefined;
  private iptables: IptablesManager | undefined;
  private stopIptablesResync: (() => void) | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  /** kernel work, one at a time: reconcile passes and switch steps */
  private readonly ops = new Serial();
  private reconcileQueued = false;
  private reconcileAgain = false;
  private reconcileReason = '';
  /** some request coalesced into the queued pass wants the kernel read (anything but a lease event) */
  private reconcileFull = false;
  private applyingConfig = false;
  private applyAgain = false;
  private lastReconcile: ReconcileRecord | undefined;
  private readonly ignoredWarned = new Set<string>();
  private ready = false;
  private etcdState: { connected: boolean; detail?: string } = { connected: false };
  private stopped = false;
  private stopResolve: (() => void) | undefined;
  private readonly startedAt = Date.now();

  constructor(
    private readonly flags: AgentFlags,
    private readonly log: AgentLogger,
    private readonly hooks: { onReady?: () => void } = {},
  ) {}

  isReady(): boolean {
    return this.ready;
  }

  /** GET /status (the document's type and meaning: network/agent-status.ts, shared with the CLI). */
  status(): AgentStatus {
    const own = this.subnets?.lease;
    const sw = this.switching;
    const assignment = this.peers.assign([...this.active.keys()]);
    const via = new Map<string, string>();
    for (const [t, ls] of assignment.byType) for (const l of ls) via.set(makeSubnetKey(l.subnet), t);
    return {
      version: VERSION,
      ready: this.ready,
      subnet: own ? formatNet(own.subnet) : null,
      publicIP: this.extIface?.publicIp ?? null,
      iface: this.extIface ? { name: this.extIface.name, address: this.extIface.ifaceAddr, mtu: this.extIface.mtu } : null,
      network: this.config ? formatNet(this.config.network) : null,
      backend: this.config?.backendType ?? null,
      leaseBackend: this.subnets?.attrs.BackendType ?? null,
      backends: [...this.active.values()].map((a) => ({ type: a.backend.type, mtu: a.backend.mtu })),
      activeBackends: [...this.active.keys()],
      switching: sw !== undefined,
      switchingSince: sw ? new Date(sw.since).toISOString() : null,
      switch: sw
        ? {
            from: sw.from, to: sw.to, reason: sw.reason, since: new Date(sw.since).toISOString(), deadline: new Date(sw.deadline).toISOString(),
            waitingFor: this.peers.list().filter((l) => sw.from.includes(l.attrs.BackendType ?? '')).map((l) => formatNet(l.subnet)),
          }
        : null,
      lastSwitch: this.lastSwitch ?? null,
      mtu: this.primary()?.backend.mtu ?? null,
      peerCount: this.peers.size,
      peersByBackend: this.peers.countByType(),
      peers: this.peers.list().map((l) => ({
        subnet: formatNet(l.subnet), publicIP: l.attrs.PublicIP, backendType: l.attrs.BackendType ?? null,
        programmedBy: via.get(makeSubnetKey(l.subnet)) ?? null,
      })),
      lastReconcile: this.lastReconcile ?? null,
      configRevision: this.configRevision ?? null,
      pendingConfigChange: this.restartNeeded ?? null,
      lease: own ? { expiresAt: own.expiresAt ? new Date(own.expiresAt).toISOString() : null, lastError: this.subnets?.lastError ?? null } : null,
      etcd: this.etcdState,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      memoryMB: memoryMB(),
    };
  }

  private primary(): ActiveBackend | undefined {
    return this.active.values().next().value;
  }

  /** Runs until stop(); resolves with the exit code. Throws FatalError for start-up failures. */
  async run(): Promise<number> {
    const f = this.flags;
    const stoppedP = new Promise<void>((r) => (this.stopResolve = r));
    // Independent start-up work runs side by side: the health server, subnet.env, the etcd connection
    // and config read, interface discovery and the iptables version probe.
    const serverP = f.healthzPort > 0 ? startHealthServer(f.healthzIp, f.healthzPort, this) : undefined;
    const prevP = readPreviousSubnetEnv(f.subnetFile).catch((e: Error) => {
      this.log.warn(`cannot read ${f.subnetFile}: ${e.message}`);
      return undefined;
    });
    const ifaceP = settle(lookupExtIface({ iface: f.iface, ifaceRegex: f.ifaceRegex, publicIp: f.publicIp }, this.log));
    const randomFullyP = f.ipMasq && !f.ipMasqFullyRandomDisable ? supportsRandomFully().catch(() => false) : Promise.resolve(false);
    this.etcd = await loadEtcd();
    const { createEtcdClient, describeEtcd, splitEndpoints, LeaseStore } = this.etcd;

    const etcdOpts: EtcdConnectOptions = { endpoints: splitEndpoints(f.etcdEndpoints) };
    if (f.etcdCafile) etcdOpts.caFile = f.etcdCafile;
    if (f.etcdCertfile) etcdOpts.certFile = f.etcdCertfile;
    if (f.etcdKeyfile) etcdOpts.keyFile = f.etcdKeyfile;
    if (f.etcdUsername) etcdOpts.username = f.etcdUsername;
    if (f.etcdPassword) etcdOpts.password = f.etcdPassword;
    if (!f.etcdCafile && !f.etcdCertfile && !f.etcdKeyfile && !etcdOpts.endpoints.some((e) => e.startsWith('https:'))) {
      this.log.info('no certificate provided: connecting to etcd with http. This is insecure');
    }
    this.client = createEtcdClient(etcdOpts);
    this.store = new LeaseStore(this.client, f.etcdPrefix);
    const configP = this.waitForConfig();

    if (serverP) {
      this.server = await serverP;
      this.log.info(`Start healthz server on ${f.healthzIp}:${f.healthzPort}`);
    }
    const prev = await prevP;
    if (!prev?.subnet) this.log.warn(`no subnet found for key: FLANNEL_SUBNET in file: ${f.subnetFile}`);
    this.log.info(`Created subnet manager: etcd ${describeEtcd(etcdOpts)} prefix ${f.etcdPrefix} with Previous Subnet: ${prev?.subnet ? formatNet(prev.subnet) : 'None'}`);

    const config = await configP;
    if (!config) return 0; // stopped while waiting
    this.config = config;
    this.latestConfig = config;
    this.log.info(`Found network config - Backend type: ${config.backendType}`);
    if (!config.enableIPv4) throw new FatalError('this flanneld supports IPv4 networks only (EnableIPv4 is false)');
    if (config.enableIPv6) this.log.warn('EnableIPv6 is set: this flanneld programs IPv4 only; the IPv6 part of the config is ignored');

    const iface = await ifaceP;
    if (!iface.ok) throw new FatalError(`Failed to find any valid interface to use: ${iface.error.message}`);
    this.extIface = iface.value;

    let backend: Backend;
    try {
      backend = createBackend(config.backendType, { extIface: this.extIface, config, log: this.log.child(config.backendType) });
    } catch (e) {
      throw new FatalError(`Error fetching backend: ${(e as Error).message}`);
    }
    const backendAttrs = await backend.prepare();
    this.active.set(backend.type, { backend, config, attrs: backendAttrs });
    const attrs: LeaseAttrs = { PublicIP: this.extIface.publicIp, PublicIPv6: null, ...backendAttrs };

    this.subnets = new SubnetManager({
      store: this.store, config, attrs, renewMarginMinutes: f.subnetLeaseRenewMargin, log: this.log,
      ...(prev?.subnet ? { previousSubnet: prev.subnet } : {}),
      onSubnetChange: (lease) => this.onSubnetChange(lease),
    });
    let lease: Lease;
    try {
      lease = (await this.subnets.acquire()).lease;
    } catch (e) {
      if (e instanceof OutOfSubnetsError) throw new FatalError(`Error registering network: failed to acquire lease: out of subnets (range ${describeRange(config)})`);
      if (this.stopped) return 0;
      throw e;
    }
    this.etcdState = { connected: true };
    this.peers.setOwnSubnet(lease.subnet);

    // iptables needs only the subnet: it runs while the backend is activated and the peers programmed.
    this.iptables = new IptablesManager(this.log.child('iptables'));
    if (f.ipMasq) this.log.info('Setting up masking rules');
    if (f.iptablesForwardRules) this.log.info('Changing default FORWARD chain policy to ACCEPT');
    const iptablesP = settle(randomFullyP.then((randomFully) =>
      this.iptables!.apply({ network: config.network, subnet: lease.subnet, ipMasq: f.ipMasq, forwardRules: f.iptablesForwardRules, randomFully })));

    // Program the peers known now, then write subnet.env, then say ready: Docker (After=flanneld,
    // Type=notify) must not start containers before the routes to the other hosts exist.
    const [, listing, scan] = await Promise.all([
      backend.activate(lease.subnet),
      this.listWithRetry(),
      scanLeftovers(config, this.extIface, this.log).catch((e: Error) => {
        this.log.warn(`cannot look for state left by another backend: ${e.message}`);
        return undefined;
      }),
    ]);
    if (!listing) return 0;
    this.peers.reset(listing.leases);
    if (scan) await this.adoptLeftovers(scan, lease);
    await this.reconcileNow('start');
    const ipt = await iptablesP;
    if (!ipt.ok) throw new FatalError(`Failed to set up iptables: ${ipt.error.message}`);
    this.stopIptablesResync = this.iptables.startResync(f.iptablesResync * 1000);
    await this.writeSubnetFile(lease);
    this.ready = true;
    this.hooks.onReady?.();
    this.log.info(`flannel is ready (subnet ${formatNet(lease.subnet)}, ${this.peers.size} peer(s), mtu ${backend.mtu}, ${Math.round(performance.now())} ms after process start)`);
    void sdNotifyReady(`subnet ${formatNet(lease.subnet)}`).then((r) => {
      if (r !== 'sent' && r !== 'no-socket') this.log.error(`Failed to notify systemd the message READY=1: ${r}`);
    });

    this.leaseWatch = this.store.watch(listing.revision, {
      onChanges: (changes) => this.onLeaseChanges(changes),
      onReset: (l) => {
        this.log.info(`lease watch re-listed at revision ${l.revision} (${l.leases.length} leases)`);
        const own = this.subnets?.lease;
        if (own && !l.leases.some((x) => netEquals(x.subnet, own.subnet))) this.subnets?.handleOwnKey({ type: 'delete' });
        this.logDiff(this.peers.reset(l.leases));
        this.requestReconcile('relist');
      },
      onState: (s, detail) => {
        if (s === 'connected') {
          if (!this.etcdState.connected) this.log.info('etcd watch connected');
          this.etcdState = { connected: true };
          this.requestReconcile('reconnect');
        } else {
          if (this.etcdState.connected) this.log.warn(`etcd watch disconnected (kernel state kept, retrying): ${detail ?? ''}`);
          this.etcdState = { connected: false, ...(detail ? { detail } : {}) };
        }
      },
    });
    this.subnets.startRenewLoop();
    this.startConfigWatch();
    this.reconcileTimer = setInterval(() => this.requestReconcile('periodic'), f.reconcileInterval * 1000);
    if (this.switching) this.checkSwitchDone();

    await stoppedP;
    return 0;
  }

  /**
   * Start-up with state of the other backend in the kernel: keep it while peers still use that backend
   * (an agent restarted in the middle of a switch: the same make-before-break as a live switch), else
   * remove it now. Devices of another VNI are always removed.
   */
  private async adoptLeftovers(scan: Awaited<ReturnType<typeof scanLeftovers>>, lease: Lease): Promise<void> {
    if (scan.stray.length) {
      await batch('ip', scan.stray.map((d) => `link del ${d}`), undefined, { force: true, tolerate: isNotFound })
        .then(() => this.log.info(`removed stray vxlan device(s) ${scan.stray.join(', ')} (not the configured VNI)`))
        .catch((e: Error) => this.log.warn(`cannot remove stray device(s) ${scan.stray.join(', ')}: ${e.message}`));
    }
    for (const l of scan.leftovers) {
      const t = l.backend.type;
      const users = this.peers.ofType(t);
      try {
        if (users.length === 0) {
          await l.backend.teardown();
          this.log.info(`removed ${l.what} left by the ${t} backend: configured ${this.config!.backendType} and no peer uses ${t} any more`);
          continue;
        }
        const attrs = await l.backend.prepare();
        await l.backend.activate(lease.subnet);
        this.active.set(t, { backend: l.backend, config: l.config, attrs });
        const now = Date.now();
        this.switching = { to: this.config!.backendType, from: [t], since: now, deadline: now + this.flags.backendSwitchTimeout, reason: 'restart' };
        this.log.warn(`found ${l.what} of the ${t} backend (a backend switch was interrupted?): keeping it for ${users.length} peer(s) still on ${t} until they move to ${this.config!.backendType} (at most ${this.flags.backendSwitchTimeout / 1000}s)`);
      } catch (e) {
        this.log.error(`cannot handle ${l.what} left by the ${t} backend: ${(e as Error).message}`);
      }
    }
  }

  private async waitForConfig(): Promise<NetworkConfig | undefined> {
    let lastMsg = '';
    let lastAt = 0;
    while (!this.stopped) {
      let msg: string;
      try {
        const stored = await this.etcd.readConfig(this.client!, this.flags.etcdPrefix);
        this.etcdState = { connected: true };
        if (stored) {
          try {
            const cfg = parseNetworkConfig(stored.text);
            this.configRevision = stored.modRevision;
            return cfg;
          } catch (e) {
            msg = `Couldn't fetch network config: ${(e as Error).message}`;
          }
        } else {
          msg = `Couldn't fetch network config: ${this.etcd.configNotFoundMessage(this.flags.etcdPrefix)}`;
        }
      } catch (e) {
        this.etcdState = { connected: false, detail: (e as Error).message };
        msg = `Couldn't fetch network config: ${(e as Error).message}`;
      }
      // flannel logs every second; repeat an unchanged message only every 30 s.
      if (msg !== lastMsg || Date.now() - lastAt > 30_000) {
        this.log.warn(msg);
        lastMsg = msg;
        lastAt = Date.now();
      }
      await sleep(1000);
    }
    return undefined;
  }

  private async listWithRetry() {
    let wait = 500;
    while (!this.stopped) {
      try {
        return await this.store!.list();
      } catch (e) {
        this.log.warn(`listing leases failed (retrying in ${wait} ms): ${(e as Error).message}`);
        await sleep(wait);
        wait = Math.min(5000, wait * 2);
      }
    }
    return undefined;
  }

  private onLeaseChanges(changes: LeaseChange[]): void {
    const own = this.subnets?.lease;
    const ownKey = own ? makeSubnetKey(own.subnet) : undefined;
    for (const c of changes) {
      const key = makeSubnetKey(c.type === 'put' ? c.lease.subnet : c.subnet);
      if (key !== ownKey) continue;
      this.subnets?.handleOwnKey(c.type === 'put' ? { type: 'put', lease: c.lease } : { type: 'delete' });
    }
    const d = this.peers.apply(changes);
    this.logDiff(d);
    if (d.added.length || d.removed.length || d.changed.length) {
      // the lease-event hot path: diff against what the backends programmed, no kernel reads
      this.requestReconcile('watch', 'incremental');
      if (this.switching) this.checkSwitchDone();
    }
  }

  private logDiff(d: PeerDiff): void {
    for (const l of d.added) this.log.info(`Subnet added: ${describePeer(l)}`);
    for (const l of d.changed) this.log.info(`Subnet changed: ${describePeer(l)}`);
    for (const l of d.removed) this.log.info(`Subnet removed: ${formatNet(l.subnet)}`);
  }

  /** Leases no active backend can program are left alone, with one warning per subnet and type. */
  private warnIgnored(leases: readonly Lease[]): void {
    for (const l of leases) {
      const t = l.attrs.BackendType ?? '';
      const k = `${makeSubnetKey(l.subnet)}|${t}|${[...this.active.keys()].join('/')}`;
      if (this.ignoredWarned.has(k)) continue;
      this.ignoredWarned.add(k);
      this.log.warn(`Ignoring non-${[...this.active.keys()].join('/')} subnet ${formatNet(l.subnet)} (PublicIP ${l.attrs.PublicIP}): type=${t}`);
    }
  }

  /**
   * Coalescing: at most one pass is queued; requests while it waits or runs cause exactly one more pass.
   * That pass is incremental only when every request folded into it was.
   */
  requestReconcile(reason: string, mode: ReconcileMode = 'full'): void {
    if (!this.ready || this.stopped) return;
    this.reconcileAgain = true;
    this.reconcileReason = reason;
    if (mode === 'full') this.reconcileFull = true;
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    void this.ops.run(async () => {
      try {
        while (this.reconcileAgain && !this.stopped) {
          this.reconcileAgain = false;
          const mode: ReconcileMode = this.reconcileFull ? 'full' : 'incremental';
          this.reconcileFull = false;
          await this.reconcileOnce(this.reconcileReason, mode);
        }
      } finally {
        this.reconcileQueued = false;
      }
    });
  }

  private reconcileNow(reason: string): Promise<void> {
    return this.ops.run(() => this.reconcileOnce(reason));
  }

  /** One pass over every active backend, in order (the new backend first during a switch). Call inside `ops`. */
  private async reconcileOnce(reason: string, mode: ReconcileMode = 'full'): Promise<void> {
    const t0 = performance.now();
    const total: ReconcileResult = { added: 0, removed: 0, unchanged: 0 };
    let error: string | undefined;
    const a = this.peers.assign([...this.active.keys()]);
    this.warnIgnored(a.ignored);
    for (const [type, { backend }] of this.active) {
      try {
        const r = await backend.reconcile(a.byType.get(type) ?? [], { mode });
        total.added += r.added;
        total.removed += r.removed;
        total.unchanged += r.unchanged;
      } catch (e) {
        error = `${type}: ${(e as Error).message}`;
      }
    }
    const durationMs = Math.round((performance.now() - t0) * 10) / 10;
    this.lastReconcile = { at: new Date().toISOString(), durationMs, reason, ...total, ...(error ? { error } : {}) };
    if (error) {
      this.log.error(`reconcile (${reason}) failed, retrying: ${error}`);
      const t = setTimeout(() => this.requestReconcile('retry'), 1000);
      t.unref();
    } else if (total.added || total.removed) {
      this.log.info(`reconcile (${reason}): ${total.added} added, ${total.removed} removed, ${total.unchanged} unchanged in ${durationMs} ms`);
    } else {
      this.log.debug(2, `reconcile (${reason}): nothing to change (${total.unchanged} entries) in ${durationMs} ms`);
    }
  }

  private async writeSubnetFile(lease: Lease): Promise<void> {
    const b = this.primary()!.backend;
    try {
      const changed = await writeSubnetEnvFile(this.flags.subnetFile, { network: this.config!.network, subnet: lease.subnet, mtu: b.mtu, ipMasq: this.flags.ipMasq });
      if (changed) this.log.info(`Wrote subnet file to ${this.flags.subnetFile} (FLANNEL_MTU=${b.mtu})`);
    } catch (e) {
      throw new FatalError(`Failed to write subnet file: ${(e as Error).message}`);
    }
  }

  /** The lease moved to another subnet (ours was taken): reprogram everything that depends on it. */
  private async onSubnetChange(lease: Lease): Promise<void> {
    this.peers.setOwnSubnet(lease.subnet);
    await this.ops.run(async () => {
      for (const a of this.active.values()) await a.backend.activate(lease.subnet);
    });
    await this.iptables?.apply({
      network: this.config!.network, subnet: lease.subnet, ipMasq: this.flags.ipMasq, forwardRules: this.flags.iptablesForwardRules,
      randomFully: this.flags.ipMasq && !this.flags.ipMasqFullyRandomDisable && (await supportsRandomFully().catch(() => false)),
    });
    await this.writeSubnetFile(lease);
    this.requestReconcile('subnet change');
  }

  private startConfigWatch(): void {
    if (this.stopped || !this.client) return;
    const from = this.configRevision ? String(BigInt(this.configRevision) + 1n) : undefined;
    this.etcd.watchConfig(this.client, this.flags.etcdPrefix, from, (text, rev) => this.onConfigChange(text, rev), (err) => {
      this.log.warn(`config watch cancelled (${err.message}); watching again`);
      void this.configWatch?.cancel();
      this.configWatch = undefined;
      const t = setTimeout(() => this.startConfigWatch(), 1000);
      t.unref();
    }).then((w) => {
      if (this.stopped) void w.cancel();
      else this.configWatch = w;
    }, (e: Error) => {
      this.log.warn(`cannot watch the config (${e.message}); retrying`);
      const t = setTimeout(() => this.startConfigWatch(), 5000);
      t.unref();
    });
  }

  private onConfigChange(text: string | undefined, rev: string): void {
    this.configRevision = rev;
    if (text === undefined) {
      this.log.warn(`network config ${this.flags.etcdPrefix}/config was deleted; keeping the current one`);
      return;
    }
    let cfg: NetworkConfig;
    try {
      cfg = parseNetworkConfig(text);
    } catch (e) {
      this.log.warn(`network config changed but is invalid, keeping the current one (${this.config?.backendType}): ${(e as Error).message}`);
      return;
    }
    this.latestConfig = cfg;
    this.kickConfigApply();
  }

  /** Applies the newest config; changes arriving meanwhile are applied right after (latest wins). */
  private kickConfigApply(): void {
    if (this.applyingConfig) {
      this.applyAgain = true;
      return;
    }
    this.applyingConfig = true;
    void (async () => {
      try {
        do {
          this.applyAgain = false;
          await this.applyLatestConfig().catch((e: Error) => this.log.error(`applying the new network config failed: ${e.message}`));
        } while (this.applyAgain && !this.stopped);
      } finally {
        this.applyingConfig = false;
      }
    })();
  }

  private async applyLatestConfig(): Promise<void> {
    const next = this.latestConfig!;
    const cur = this.config!;
    const ch = classifyConfigChange(cur, next);
    if (ch.kind === 'restart') {
      this.restartNeeded = `restart flanneld to apply: ${ch.what.join('; ')}`;
      this.log.warn(`network config changed (revision ${this.configRevision}) in ways that cannot be applied live: ${ch.what.join('; ')}. Keeping the current config; restart flanneld to apply it`);
      return;
    }
    this.restartNeeded = undefined;
    if (ch.kind === 'none') {
      this.log.info(`network config changed (revision ${this.configRevision}); nothing to apply`);
      return;
    }
    await this.switchBackend(next);
  }

  /** The live switch to `next.backendType` (see the file comment). */
  private async switchBackend(next: NetworkConfig): Promise<void> {
    const to = next.backendType;
    const own = this.subnets?.lease;
    if (!own || !this.extIface) return;
    const t0 = Date.now();
    let nb = this.active.get(to);
    if (nb && !sameBackend(nb.config, next)) {
      this.restartNeeded = `restart flanneld to apply: ${to} options changed while the old ${to} datapath is still active`;
      this.log.warn(`network config changed back to ${to} with other options than the ${to} datapath still active; restart flanneld to apply them`);
      return;
    }
    const from = [...this.active.keys()].filter((t) => t !== to);
    this.log.info(`network config changed (revision ${this.configRevision}): backend ${from.join('+')} -> ${to}; switching live (new datapath first, ${from.join('+')} kept until every peer has moved or ${this.flags.backendSwitchTimeout / 1000}s)`);
    if (!nb) {
      let backend: Backend;
      try {
        backend = createBackend(to, { extIface: this.extIface, config: next, log: this.log.child(to) });
      } catch (e) {
        this.log.error(`cannot switch to ${to}: ${(e as Error).message}; staying on ${this.config!.backendType}`);
        this.restartNeeded = `cannot switch to ${to}: ${(e as Error).message}`;
        return;
      }
      try {
        const attrs = await this.ops.run(async () => {
          const a = await backend.prepare();
          await backend.activate(own.subnet);
          return a;
        });
        nb = { backend, config: next, attrs };
      } catch (e) {
        this.log.error(`cannot switch to ${to}: preparing it failed: ${(e as Error).message}; staying on ${this.config!.backendType}`);
        await backend.teardown().catch(() => undefined);
        return;
      }
    }
    const entry = nb;
    // the new backend first: reconcile programs it before the old one, and it is the primary from now on
    await this.ops.run(async () => {
      this.active = new Map([[to, entry], ...[...this.active].filter(([t]) => t !== to)]);
      this.config = next;
      this.clearSwitchTimers();
      const now = Date.now();
      this.switching = from.length ? { to, from, since: now, deadline: now + this.flags.backendSwitchTimeout, reason: 'config change' } : undefined;
      await this.reconcileOnce('backend switch');
    });
    await this.publishAttrs({ PublicIP: this.extIface.publicIp, PublicIPv6: null, ...entry.attrs }, next);
    if (this.config !== next) return; // superseded by a newer config meanwhile
    await this.writeSubnetFile(this.subnets!.lease!).catch((e: Error) => this.log.error(e.message));
    this.log.info(`now on ${to} (lease and subnet.env updated, MTU ${entry.backend.mtu}) ${Date.now() - t0} ms after the config change`);
    if (this.switching) this.checkSwitchDone();
    else this.lastSwitch = { from, to, at: new Date().toISOString(), durationMs: Date.now() - t0, outcome: 'done' };
  }

  /** Publishes the lease attrs (CAS on our own lease), retrying through etcd trouble until superseded. */
  private async publishAttrs(attrs: LeaseAttrs, forConfig: NetworkConfig): Promise<void> {
    let wait = 500;
    while (!this.stopped && this.config === forConfig) {
      try {
        await this.subnets!.updateAttrs(attrs);
        return;
      } catch (e) {
        this.log.warn(`cannot update the lease with BackendType ${attrs.BackendType} (retrying in ${wait} ms): ${(e as Error).message}`);
        await sleep(wait);
        wait = Math.min(5000, wait * 2);
      }
    }
  }

  private clearSwitchTimers(): void {
    const sw = this.switching;
    if (sw?.timeout) clearTimeout(sw.timeout);
    if (sw?.settle) clearTimeout(sw.settle);
  }

  /**
   * During a switch: once no peer lease shows an old backend any more, tear the old one down after
   * SWITCH_SETTLE_MS; at the deadline, tear it down anyway.
   */
  private checkSwitchDone(): void {
    const sw = this.switching;
    if (!sw || this.stopped) return;
    if (!sw.timeout) {
      sw.timeout = setTimeout(() => void this.finishSwitch(sw, 'timeout'), Math.max(0, sw.deadline - Date.now()));
    }
    const waiting = this.peers.list().filter((l) => sw.from.includes(l.attrs.BackendType ?? ''));
    if (waiting.length === 0 && !sw.settle) {
      sw.settle = setTimeout(() => void this.finishSwitch(sw, 'moved'), SWITCH_SETTLE_MS);
    } else if (waiting.length > 0 && sw.settle) {
      clearTimeout(sw.settle);
      sw.settle = undefined;
    }
  }

  private async finishSwitch(sw: SwitchState, why: 'moved' | 'timeout'): Promise<void> {
    await this.ops.run(async () => {
      if (this.switching !== sw || this.stopped) return;
      this.clearSwitchTimers();
      this.switching = undefined;
      const left = this.peers.list().filter((l) => sw.from.includes(l.attrs.BackendType ?? ''));
      if (why === 'timeout' && left.length) {
        this.log.warn(`backend switch to ${sw.to}: ${left.length} peer(s) still on ${sw.from.join('+')} after ${this.flags.backendSwitchTimeout / 1000}s: ${left.map(describePeer).join(', ')}; removing ${sw.from.join('+')} anyway (they are unreachable until they move)`);
      }
      for (const t of sw.from) {
        const a = this.active.get(t);
        if (!a) continue;
        this.active.delete(t);
        this.peers.forgetType(t);
        try {
          await a.backend.teardown();
        } catch (e) {
          this.log.error(`tearing down ${t} failed: ${(e as Error).message}`);
        }
      }
      const durationMs = Date.now() - sw.since;
      this.lastSwitch = { from: sw.from, to: sw.to, at: new Date().toISOString(), durationMs, outcome: why === 'moved' ? 'every peer moved' : `timeout (${left.length} peer(s) had not moved)` };
      this.log.info(`backend switch to ${sw.to} complete after ${(durationMs / 1000).toFixed(1)} s (${this.lastSwitch.outcome}): ${sw.from.join('+')} removed`);
      await this.reconcileOnce('switch done');
    });
  }

  /** SIGTERM: stop watching and renewing, keep the lease and every kernel entry in place. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ready = false;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.clearSwitchTimers();
    this.stopIptablesResync?.();
    this.subnets?.stop();
    await Promise.allSettled([this.leaseWatch?.cancel(), this.configWatch?.cancel()]);
    if (this.server) {
      const s = this.server;
      await new Promise<void>((r) => {
        const t = setTimeout(r, 3000);
        s.close(() => { clearTimeout(t); r(); });
        s.closeAllConnections?.();
      });
    }
    this.client?.close();
    this.stopResolve?.();
  }
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

/** A promise that never rejects (started early, awaited later: no unhandled rejection meanwhile). */
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error: error instanceof Error ? error : new Error(String(error)) }));
}

function memoryMB(): Record<string, number> {
  const m = process.memoryUsage();
  const mb = (x: number) => Math.round((x / 1048576) * 10) / 10;
  return { rss: mb(m.rss), heapTotal: mb(m.heapTotal), heapUsed: mb(m.heapUsed), external: mb(m.external) };
}
