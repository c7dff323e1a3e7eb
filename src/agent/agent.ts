/**
 * The agent's main loop. Start: health server, previous subnet.env, etcd, wait for the config,
 * choose the interface, prepare the backend, acquire the lease, activate, iptables, program the
 * peers from a snapshot, write subnet.env, then (and only then) report ready. Run: a watch of the
 * subnets prefix feeds the peer set; every batch and a periodic timer ask the active backends to
 * reconcile. etcd going away changes nothing in the kernel; watches and renewals retry by themselves.
 *
 * Live config changes: the config key is watched and kept in `latestConfig`; backends live in an
 * explicit `active` map (type -> backend) so a later change can add the new backend, move the
 * peers, then retire the old one (make-before-break, issue 5). Today a change is only reported.
 */
import type { Server } from 'node:http';
import type { Etcd3 } from 'etcd3';
import { createEtcdClient, describeEtcd, splitEndpoints, type EtcdConnectOptions } from '../etcd/client.js';
import { configNotFoundMessage, readConfig, watchConfig, type ConfigWatch } from '../etcd/config-store.js';
import { OutOfSubnetsError } from '../etcd/acquire.js';
import { LeaseStore, type LeaseChange, type LeaseWatch } from '../etcd/lease-store.js';
import { parseNetworkConfig, describeRange } from '../network/config.js';
import { formatNet, netEquals } from '../network/ipv4.js';
import { makeSubnetKey } from '../network/lease.js';
import type { Lease, LeaseAttrs, NetworkConfig } from '../network/types.js';
import type { Backend, ExternalInterface, ReconcileResult } from './backends/backend.js';
import { createBackend } from './backends/registry.js';
import { IptablesManager, supportsRandomFully } from './kernel/iptables.js';
import type { AgentFlags } from './flags.js';
import { startHealthServer } from './health.js';
import { lookupExtIface } from './iface.js';
import type { AgentLogger } from './log.js';
import { sdNotifyReady } from './notify.js';
import { describePeer, PeerSet, type PeerDiff } from './peers.js';
import { readPreviousSubnetEnv, writeSubnetEnvFile } from './subnet-file.js';
import { SubnetManager } from './subnet-manager.js';
import { VERSION } from './version.js';

/** A fatal start-up error: flanneld logs it and exits 1. */
export class FatalError extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ReconcileRecord extends ReconcileResult {
  at: string;
  durationMs: number;
  reason: string;
  error?: string;
}

export class Agent {
  private client: Etcd3 | undefined;
  private store: LeaseStore | undefined;
  private server: Server | undefined;
  private config: NetworkConfig | undefined;
  /** the newest valid config seen by the watch (may differ from `config` until a switch is applied) */
  private latestConfig: NetworkConfig | undefined;
  private configRevision: string | undefined;
  private configWatch: ConfigWatch | undefined;
  private extIface: ExternalInterface | undefined;
  /** active backends by type; exactly one today, two during a future make-before-break switch */
  private readonly active = new Map<string, Backend>();
  private readonly peers = new PeerSet();
  private subnets: SubnetManager | undefined;
  private leaseWatch: LeaseWatch | undefined;
  private iptables: IptablesManager | undefined;
  private stopIptablesResync: (() => void) | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconcileRunning = false;
  private reconcileAgain = false;
  private reconcileWaiters: (() => void)[] = [];
  private lastReconcile: ReconcileRecord | undefined;
  private readonly ignoredWarned = new Set<string>();
  private ready = false;
  private etcdState: { connected: boolean; detail?: string } = { connected: false };
  private stopped = false;
  private stopResolve: (() => void) | undefined;
  private readonly startedAt = Date.now();

  constructor(private readonly flags: AgentFlags, private readonly log: AgentLogger) {}

  isReady(): boolean {
    return this.ready;
  }

  status(): unknown {
    const own = this.subnets?.lease;
    return {
      version: VERSION,
      ready: this.ready,
      subnet: own ? formatNet(own.subnet) : null,
      publicIP: this.extIface?.publicIp ?? null,
      iface: this.extIface ? { name: this.extIface.name, address: this.extIface.ifaceAddr, mtu: this.extIface.mtu } : null,
      network: this.config ? formatNet(this.config.network) : null,
      backends: [...this.active.values()].map((b) => ({ type: b.type, mtu: b.mtu })),
      mtu: this.primaryBackend()?.mtu ?? null,
      peerCount: this.peers.size,
      peers: this.peers.list().map((l) => ({ subnet: formatNet(l.subnet), publicIP: l.attrs.PublicIP, backendType: l.attrs.BackendType ?? null })),
      lastReconcile: this.lastReconcile ?? null,
      configRevision: this.configRevision ?? null,
      pendingConfigChange: this.pendingChange() ?? null,
      lease: own ? { expiresAt: own.expiresAt ? new Date(own.expiresAt).toISOString() : null, lastError: this.subnets?.lastError ?? null } : null,
      etcd: this.etcdState,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
    };
  }

  private primaryBackend(): Backend | undefined {
    return this.active.values().next().value;
  }

  private pendingChange(): string | undefined {
    if (!this.config || !this.latestConfig) return undefined;
    if (this.latestConfig.backendType !== this.config.backendType) return `backend ${this.config.backendType} -> ${this.latestConfig.backendType}`;
    return undefined;
  }

  /** Runs until stop(); resolves with the exit code. Throws FatalError for start-up failures. */
  async run(): Promise<number> {
    const f = this.flags;
    const stoppedP = new Promise<void>((r) => (this.stopResolve = r));
    if (f.healthzPort > 0) {
      this.server = await startHealthServer(f.healthzIp, f.healthzPort, this);
      this.log.info(`Start healthz server on ${f.healthzIp}:${f.healthzPort}`);
    }
    const prev = await readPreviousSubnetEnv(f.subnetFile).catch((e: Error) => {
      this.log.warn(`cannot read ${f.subnetFile}: ${e.message}`);
      return undefined;
    });
    if (!prev?.subnet) this.log.warn(`no subnet found for key: FLANNEL_SUBNET in file: ${f.subnetFile}`);

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
    this.log.info(`Created subnet manager: etcd ${describeEtcd(etcdOpts)} prefix ${f.etcdPrefix} with Previous Subnet: ${prev?.subnet ? formatNet(prev.subnet) : 'None'}`);

    const config = await this.waitForConfig();
    if (!config) return 0; // stopped while waiting
    this.config = config;
    this.latestConfig = config;
    this.log.info(`Found network config - Backend type: ${config.backendType}`);
    if (!config.enableIPv4) throw new FatalError('this flanneld supports IPv4 networks only (EnableIPv4 is false)');
    if (config.enableIPv6) this.log.warn('EnableIPv6 is set: this flanneld programs IPv4 only; the IPv6 part of the config is ignored');

    try {
      this.extIface = await lookupExtIface({ iface: f.iface, ifaceRegex: f.ifaceRegex, publicIp: f.publicIp }, this.log);
    } catch (e) {
      throw new FatalError(`Failed to find any valid interface to use: ${(e as Error).message}`);
    }

    let backend: Backend;
    try {
      backend = createBackend(config.backendType, { extIface: this.extIface, config, log: this.log.child(config.backendType) });
    } catch (e) {
      throw new FatalError(`Error fetching backend: ${(e as Error).message}`);
    }
    const attrs: LeaseAttrs = { PublicIP: this.extIface.publicIp, PublicIPv6: null, ...(await backend.prepare()) };
    this.active.set(backend.type, backend);

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
    await backend.activate(lease.subnet);

    this.iptables = new IptablesManager(this.log.child('iptables'));
    const randomFully = !f.ipMasqFullyRandomDisable && (await supportsRandomFully().catch(() => false));
    if (f.ipMasq) this.log.info('Setting up masking rules');
    if (f.iptablesForwardRules) this.log.info('Changing default FORWARD chain policy to ACCEPT');
    await this.iptables.apply({ network: config.network, subnet: lease.subnet, ipMasq: f.ipMasq, forwardRules: f.iptablesForwardRules, randomFully });
    this.stopIptablesResync = this.iptables.startResync(f.iptablesResync * 1000);

    // Program the peers known now, then write subnet.env, then say ready: Docker (After=flanneld,
    // Type=notify) must not start containers before the routes to the other hosts exist.
    const listing = await this.listWithRetry();
    if (!listing) return 0;
    this.peers.reset(listing.leases);
    this.ignoreForeign(this.peers.list());
    await this.reconcileNow('start');
    await this.writeSubnetFile(lease);
    this.ready = true;
    this.log.info(`flannel is ready (subnet ${formatNet(lease.subnet)}, ${this.peers.size} peer(s), mtu ${backend.mtu})`);
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

    await stoppedP;
    return 0;
  }

  private async waitForConfig(): Promise<NetworkConfig | undefined> {
    let lastMsg = '';
    let lastAt = 0;
    while (!this.stopped) {
      let msg: string;
      try {
        const stored = await readConfig(this.client!, this.flags.etcdPrefix);
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
          msg = `Couldn't fetch network config: ${configNotFoundMessage(this.flags.etcdPrefix)}`;
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
    if (d.added.length || d.removed.length || d.changed.length) this.requestReconcile('watch');
  }

  private logDiff(d: PeerDiff): void {
    for (const l of d.added) this.log.info(`Subnet added: ${describePeer(l)}`);
    for (const l of d.changed) this.log.info(`Subnet changed: ${describePeer(l)}`);
    for (const l of d.removed) this.log.info(`Subnet removed: ${formatNet(l.subnet)}`);
    this.ignoreForeign([...d.added, ...d.changed]);
  }

  /** Leases of a type no active backend serves are left alone, with one warning per subnet and type. */
  private ignoreForeign(leases: readonly Lease[]): void {
    for (const l of leases) {
      const t = l.attrs.BackendType ?? '';
      if (this.active.has(t)) continue;
      const k = `${makeSubnetKey(l.subnet)}|${t}`;
      if (this.ignoredWarned.has(k)) continue;
      this.ignoredWarned.add(k);
      this.log.warn(`Ignoring non-${[...this.active.keys()].join('/')} subnet ${formatNet(l.subnet)} (PublicIP ${l.attrs.PublicIP}): type=${t}`);
    }
  }

  /** Coalescing: at most one reconcile runs; requests during it cause exactly one more pass. */
  requestReconcile(reason: string): void {
    if (!this.ready || this.stopped) return;
    if (this.reconcileRunning) {
      this.reconcileAgain = true;
      return;
    }
    void this.reconcileNow(reason);
  }

  private async reconcileNow(reason: string): Promise<void> {
    if (this.reconcileRunning) {
      this.reconcileAgain = true;
      return new Promise((r) => this.reconcileWaiters.push(r));
    }
    this.reconcileRunning = true;
    try {
      do {
        this.reconcileAgain = false;
        await this.reconcileOnce(reason);
      } while (this.reconcileAgain && !this.stopped);
    } finally {
      this.reconcileRunning = false;
      this.reconcileWaiters.splice(0).forEach((r) => r());
    }
  }

  private async reconcileOnce(reason: string): Promise<void> {
    const t0 = performance.now();
    const total: ReconcileResult = { added: 0, removed: 0, unchanged: 0 };
    let error: string | undefined;
    for (const [type, b] of this.active) {
      try {
        const r = await b.reconcile(this.peers.ofType(type));
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
    const b = this.primaryBackend()!;
    try {
      await writeSubnetEnvFile(this.flags.subnetFile, { network: this.config!.network, subnet: lease.subnet, mtu: b.mtu, ipMasq: this.flags.ipMasq });
      this.log.info(`Wrote subnet file to ${this.flags.subnetFile}`);
    } catch (e) {
      throw new FatalError(`Failed to write subnet file: ${(e as Error).message}`);
    }
  }

  /** The lease moved to another subnet (ours was taken): reprogram everything that depends on it. */
  private async onSubnetChange(lease: Lease): Promise<void> {
    this.peers.setOwnSubnet(lease.subnet);
    for (const b of this.active.values()) await b.activate(lease.subnet);
    await this.iptables?.apply({
      network: this.config!.network, subnet: lease.subnet, ipMasq: this.flags.ipMasq, forwardRules: this.flags.iptablesForwardRules,
      randomFully: !this.flags.ipMasqFullyRandomDisable && (await supportsRandomFully().catch(() => false)),
    });
    await this.writeSubnetFile(lease);
    this.requestReconcile('subnet change');
  }

  private startConfigWatch(): void {
    if (this.stopped || !this.client) return;
    const from = this.configRevision ? String(BigInt(this.configRevision) + 1n) : undefined;
    watchConfig(this.client, this.flags.etcdPrefix, from, (text, rev) => this.onConfigChange(text, rev), (err) => {
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
      this.log.warn(`network config changed but is invalid, keeping the current one: ${(e as Error).message}`);
      return;
    }
    this.latestConfig = cfg;
    const cur = this.config!;
    if (cfg.backendType !== cur.backendType) {
      this.log.warn(`network config changed: backend ${cur.backendType} -> ${cfg.backendType}; a live switch is not implemented yet, restart flanneld to apply it`);
    } else if (!netEquals(cfg.network, cur.network) || cfg.subnetLen !== cur.subnetLen) {
      this.log.warn('network config changed: Network/SubnetLen differ; restart flanneld to apply (existing leases may become incompatible)');
    } else {
      this.log.info(`network config changed (revision ${rev}); nothing to apply live`);
    }
  }

  /** SIGTERM: stop watching and renewing, keep the lease and every kernel entry in place. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ready = false;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
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
