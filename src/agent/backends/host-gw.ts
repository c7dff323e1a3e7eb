/**
 * host-gw backend (flannel's backend/hostgw): one route per peer, `<peer subnet> via <peer PublicIP> dev
 * <ext iface>`, marked with route protocol HOSTGW_PROTO so a reconcile can tell its own routes (also ones
 * left by an earlier run — flannel #2554/#996) from anyone else's and never deletes the latter.
 *
 * A peer whose public IP is not on-link cannot be routed this way (the kernel refuses the gateway): that
 * peer is reported once, clearly, and the others are programmed anyway.
 */
import { batch, isNotFound, listRoutes } from '../kernel/iproute2.js';
import type { KernelTarget } from '../kernel/exec.js';
import { KernelCommandError } from '../kernel/exec.js';
import { formatNet, parseIpv4 } from '../../network/ipv4.js';
import type { Ipv4Net, Lease, LeaseAttrs } from '../../network/types.js';
import type { Backend, BackendContext, ReconcileOptions, ReconcileResult } from './backend.js';
import type { IpRoute } from '../kernel/iproute2.js';
import { HostGwPeer, HOSTGW_PROTO, hostGwOwnedRoutes, hostGwStateOf, planHostGw, routeDelLine } from '../../network/datapath-plan.js';
import { leasesToProgram, Serial, WarnOnce } from './util.js';

export interface HostGwBackendOptions {
  target?: KernelTarget;
}

export class HostGwBackend implements Backend {
  readonly type = 'host-gw' as const;
  readonly mtu: number;
  private readonly target: KernelTarget | undefined;
  private ownSubnet: Ipv4Net | undefined;
  private readonly serial = new Serial();
  private readonly warned = new WarnOnce();
  /** peers that could not be routed in the last pass (subnet → reason), for /status and logs */
  readonly unroutable = new Map<string, string>();
  /** routes this backend programmed in its last pass (for incremental reconciles) */
  private programmed: IpRoute[] | undefined;

  constructor(
    private readonly ctx: BackendContext,
    o: HostGwBackendOptions = {},
  ) {
    const e = ctx.extIface;
    if (e.publicIp !== e.ifaceAddr) {
      throw new Error(
        `your PublicIP (${e.publicIp}) differs from interface IP (${e.ifaceAddr}), meaning that probably you're on a NAT, which is not supported by host-gw backend`,
      );
    }
    this.mtu = e.mtu;
    this.target = o.target;
  }

  prepare(): Promise<Pick<LeaseAttrs, 'BackendType' | 'BackendData'>> {
    return Promise.resolve({ BackendType: 'host-gw' });
  }

  activate(ownSubnet: Ipv4Net): Promise<void> {
    this.ownSubnet = ownSubnet;
    return Promise.resolve();
  }

  reconcile(peers: readonly Lease[], opts: ReconcileOptions = {}): Promise<ReconcileResult> {
    return this.serial.run(() => this.doReconcile(peers, opts.mode === 'incremental' && this.programmed !== undefined));
  }

  teardown(): Promise<void> {
    return this.serial.run(async () => {
      const routes = await listRoutes(['proto', String(HOSTGW_PROTO)], this.target);
      // `proto X` filtering drops the protocol field from the JSON: put it back for ownership checks
      for (const r of routes) r.protocol = String(HOSTGW_PROTO);
      this.programmed = undefined;
      const mine = hostGwOwnedRoutes(routes, { extDev: this.ctx.extIface.name, network: this.ctx.config.network });
      await batch('ip', mine.map(routeDelLine), this.target, { force: true, tolerate: isNotFound });
      this.ctx.log.info(`host-gw: removed ${mine.length} route(s)`);
    });
  }

  private peersFrom(leases: readonly Lease[]): HostGwPeer[] {
    const out: HostGwPeer[] = [];
    const candidates = leasesToProgram(leases, 'host-gw', this.ownSubnet, this.ctx, this.warned, (_sn, type) => `Ignoring non-host-gw subnet: type=${type}`);
    for (const { lease, sn } of candidates) {
      if (parseIpv4(lease.attrs.PublicIP) === undefined) {
        this.warned.warn(this.ctx.log, `ip:${sn}`, `host-gw: ignoring lease ${sn}: invalid PublicIP "${lease.attrs.PublicIP}"`);
        continue;
      }
      out.push({ subnet: lease.subnet, publicIp: lease.attrs.PublicIP });
    }
    return out;
  }

  private async doReconcile(leases: readonly Lease[], incremental: boolean): Promise<ReconcileResult> {
    const peers = this.peersFrom(leases);
    const routes = incremental ? this.programmed! : await listRoutes([], this.target);
    const params = { extDev: this.ctx.extIface.name, network: this.ctx.config.network };
    const plan = planHostGw(peers, routes, params);
    this.programmed = undefined; // until this pass has been applied
    const counts = { ...plan.counts };
    const failed = new Set<string>();
    try {
      await batch('ip', plan.ip, this.target, { force: true, tolerate: isNotFound });
    } catch (e) {
      if (!(e instanceof KernelCommandError) || e.failures.length === 0) throw e;
      const other: string[] = [];
      for (const f of e.failures) {
        const peer = plan.linePeer.get(f.line - 1);
        if (!peer) {
          other.push(`"${f.text}": ${f.error}`);
          continue;
        }
        const sn = formatNet(peer.subnet);
        failed.add(sn);
        counts.added--;
        const unreachable = /invalid gateway|unreachable/i.test(f.error);
        const why = unreachable
          ? `${peer.publicIp} is not on-link from ${this.ctx.extIface.name} (host-gw needs layer-2 adjacency; use vxlan, optionally with DirectRouting)`
          : f.error;
        this.unroutable.set(sn, why);
        this.warned.warn(this.ctx.log, `fail:${sn}:${peer.publicIp}:${f.error}`, `host-gw: cannot route peer ${sn} via ${peer.publicIp}: ${why}`, 'error');
      }
      if (other.length) {
        this.ctx.log.error(`host-gw: route changes failed: ${other.join('; ')}`);
        return counts; // unknown state: the next pass reads the kernel
      }
    }
    this.programmed = hostGwStateOf(peers, params, failed);
    // a peer that became routable (or left) is reported again if it breaks later
    for (const sn of [...this.unroutable.keys()]) if (!failed.has(sn)) this.unroutable.delete(sn);
    this.warned.forget((k) => k.startsWith('fail:') && !failed.has(k.split(':')[1]!));
    if (counts.added || counts.removed) {
      this.ctx.log.debug(2, `host-gw: reconcile added/updated ${counts.added}, removed ${counts.removed}, unchanged ${counts.unchanged}`);
    }
    return counts;
  }
}
