/**
 * vxlan backend (flannel's backend/vxlan), with full desired-state reconciliation instead of flannel's
 * event-only programming: every reconcile reads the device's routes/neighbours/FDB entries and removes
 * what belongs to no lease (#2554), re-adds what is missing, and replaces an old VtepMAC's FDB entry
 * (flannel leaves it behind).
 *
 * Device: flannel.<VNI>, VXLAN id VNI, dstport Port (8472 default, always passed explicitly), local =
 * public IP, dev = external interface, nolearning unless Learning, gbp if GBP, MTU = (MTU || iface MTU) − 50.
 * The MAC is chosen before creation (locally administered unicast) so udev's MACAddressPolicy cannot
 * change it, and verified afterwards. A compatible existing device is reused (its MAC stays valid for
 * peers) and its MTU is updated; an incompatible one is recreated.
 */
import { randomBytes } from 'node:crypto';
import { batch, getLink, isNotFound, IpLink, listAddrs, listFdb, listNeighs, listRoutes, routeGetMany, isOnLink } from '../kernel/iproute2.js';
import { run, targetArgv } from '../kernel/exec.js';
import type { KernelTarget } from '../kernel/exec.js';
import { containerMtu, vxlanPort } from '../../network/backends.js';
import { decodeVxlanOptions } from '../../network/config.js';
import { formatIpv4, netContainsNet, parseIpv4 } from '../../network/ipv4.js';
import type { Ipv4Net, Lease, LeaseAttrs, VxlanOptions } from '../../network/types.js';
import type { Backend, BackendContext, ReconcileOptions, ReconcileResult } from './backend.js';
import { inNetwork, planVxlan, vxlanStateOf, VxlanKernelState, VxlanPeer, VXLAN_DIRECT_PROTO } from '../../network/datapath-plan.js';
import { leasesToProgram, Serial, WarnOnce } from './util.js';


export interface VxlanBackendOptions {
  /** aim every kernel command at this target (tests: a network namespace) */
  target?: KernelTarget;
  /** the MAC to give a newly created device (default: random locally administered unicast) */
  mac?: string;
}

/** A random locally administered unicast MAC (first octet &0xfe|0x02, as flannel). */
export function randomVtepMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Decodes a vxlan peer from its lease, or returns why it cannot be used. */
export function vxlanPeerFromLease(lease: Lease): { ok: true; mac: string; vni?: number } | { ok: false; why: string } {
  const data = lease.attrs.BackendData as { VtepMAC?: unknown; VNI?: unknown } | null | undefined;
  const mac = typeof data?.VtepMAC === 'string' ? data.VtepMAC.toLowerCase() : '';
  if (!MAC_RE.test(mac)) return { ok: false, why: `missing or invalid VtepMAC in BackendData ${JSON.stringify(data ?? null)}` };
  if (parseIpv4(lease.attrs.PublicIP) === undefined) return { ok: false, why: `invalid PublicIP "${lease.attrs.PublicIP}"` };
  return { ok: true, mac, ...(typeof data?.VNI === 'number' ? { vni: data.VNI } : {}) };
}

export class VxlanBackend implements Backend {
  readonly type = 'vxlan' as const;
  readonly opts: VxlanOptions;
  readonly dev: string;
  readonly port: number;
  readonly mtu: number;
  private readonly target: KernelTarget | undefined;
  private mac: string | undefined;
  private ownSubnet: Ipv4Net | undefined;
  private readonly serial = new Serial();
  private readonly warned = new WarnOnce();
  /** DirectRouting: on-link decision per public IP, refreshed on every full reconcile */
  private onLink = new Map<string, boolean>();
  /** the state this backend programmed in its last successful pass (for incremental reconciles) */
  private programmed: VxlanKernelState | undefined;

  constructor(
    private readonly ctx: BackendContext,
    o: VxlanBackendOptions = {},
  ) {
    this.opts = decodeVxlanOptions(ctx.config.backendRaw);
    this.dev = `flannel.${this.opts.vni}`;
    this.port = vxlanPort(this.opts.port);
    this.mtu = containerMtu(ctx.config, ctx.extIface.mtu);
    this.target = o.target;
    this.mac = o.mac?.toLowerCase();
  }

  /** The device's MAC (known after prepare). */
  get vtepMac(): string | undefined {
    return this.mac;
  }

  prepare(): Promise<Pick<LeaseAttrs, 'BackendType' | 'BackendData'>> {
    return this.serial.run(async () => {
      await this.ensureDevice();
      return { BackendType: 'vxlan', BackendData: { VNI: this.opts.vni, VtepMAC: this.mac } };
    });
  }

  activate(ownSubnet: Ipv4Net): Promise<void> {
    return this.serial.run(async () => {
      this.ownSubnet = ownSubnet;
      await this.configureAddress();
    });
  }

  reconcile(peers: readonly Lease[], opts: ReconcileOptions = {}): Promise<ReconcileResult> {
    return this.serial.run(() => this.doReconcile(peers, opts.mode === 'incremental' && this.programmed !== undefined));
  }

  teardown(): Promise<void> {
    return this.serial.run(async () => {
      const routes = await listRoutes(['proto', String(VXLAN_DIRECT_PROTO)], this.target);
      const lines = routes
        .filter((r) => inNetwork(r.dst, this.ctx.config.network))
        .map((r) => `route del ${r.dst} proto ${VXLAN_DIRECT_PROTO}${r.dev ? ` dev ${r.dev}` : ''}`);
      lines.push(`link del ${this.dev}`);
      this.programmed = undefined;
      await batch('ip', lines, this.target, { force: true, tolerate: isNotFound });
      this.ctx.log.info(`vxlan: removed ${this.dev} and ${routes.length} DirectRouting route(s)`);
    });
  }

  // -------------------------------------------------------------------------------------------------

  /** What makes an existing device unusable (flannel's vxlanLinksIncompat), or '' when compatible. */
  incompatibility(link: IpLink): string {
    const d = link.linkinfo?.info_data;
    const diffs: string[] = [];
    if (link.linkinfo?.info_kind !== 'vxlan') return `type ${link.linkinfo?.info_kind ?? '?'} != vxlan`;
    if (!d) return 'no vxlan details';
    const want = { id: this.opts.vni, local: this.ctx.extIface.publicIp, link: this.ctx.extIface.name, port: this.port };
    if (d.id !== want.id) diffs.push(`vni ${d.id} != ${want.id}`);
    if (d.local !== want.local) diffs.push(`local ${d.local ?? '-'} != ${want.local}`);
    if (d.link !== undefined && d.link !== want.link) diffs.push(`dev ${d.link} != ${want.link}`);
    if (d.port !== want.port) diffs.push(`port ${d.port} != ${want.port}`);
    if (!!d.learning !== this.opts.learning) diffs.push(`learning ${!!d.learning} != ${this.opts.learning}`);
    if (!!d.gbp !== this.opts.gbp) diffs.push(`gbp ${!!d.gbp} != ${this.opts.gbp}`);
    if (d.group) diffs.push(`group ${d.group} set`);
    if (d.l2miss || d.l3miss) diffs.push('l2miss/l3miss set');
    return diffs.join(', ');
  }

  private async ensureDevice(): Promise<void> {
    const link = await getLink(this.dev, this.target);
    if (link) {
      const why = this.incompatibility(link);
      if (!why) {
        this.mac = link.address?.toLowerCase();
        if (link.mtu !== this.mtu) {
          await batch('ip', [`link set dev ${this.dev} mtu ${this.mtu}`], this.target);
          this.ctx.log.info(`vxlan: ${this.dev} MTU changed from ${link.mtu} to ${this.mtu}`);
        }
        this.ctx.log.info(`vxlan: reusing existing device ${this.dev} (MAC ${this.mac})`);
        return;
      }
      this.ctx.log.warn(`"${this.dev}" already exists with incompatible configuration: ${why}; recreating device`);
      await batch('ip', [`link del ${this.dev}`], this.target);
    }
    await this.createDevice();
  }

  private async createDevice(): Promise<void> {
    const mac = this.mac ?? randomVtepMac();
    const e = this.ctx.extIface;
    const line =
      `link add ${this.dev} address ${mac} mtu ${this.mtu} type vxlan id ${this.opts.vni} local ${e.publicIp}` +
      ` dev ${e.name} dstport ${this.port}${this.opts.learning ? ' learning' : ' nolearning'}${this.opts.gbp ? ' gbp' : ''}`;
    await batch('ip', [line], this.target);
    const got = (await getLink(this.dev, this.target))?.address?.toLowerCase();
    if (got !== mac) throw new Error(`${this.dev}: mac address wanted: ${mac}, but got: ${got ?? 'no device'}`);
    this.mac = mac;
    // no IPv6 router advertisements on the overlay device (flannel does the same); may fail without IPv6
    await run(targetArgv(this.target, ['sysctl', '-qw', `net.ipv6.conf.${this.dev}.accept_ra=0`]));
    this.ctx.log.info(`vxlan: created ${this.dev} (VNI ${this.opts.vni}, port ${this.port}, MAC ${mac}, MTU ${this.mtu})`);
  }

  /** address = own subnet network IP /32, other addresses inside Network removed, link up; MAC verified. */
  private async configureAddress(): Promise<void> {
    if (!this.ownSubnet) return;
    const own = `${formatIpv4(this.ownSubnet.ip)}/32`;
    const lines: string[] = [];
    for (const a of await listAddrs({ dev: this.dev, family: '4' }, this.target)) {
      for (const i of a.addr_info) {
        const cidr = `${i.local}/${i.prefixlen}`;
        if (cidr === own) continue;
        const ip = parseIpv4(i.local);
        if (ip !== undefined && netContainsNet(this.ctx.config.network, { ip, prefixLen: 32 })) {
          lines.push(`addr del ${cidr} dev ${this.dev}`);
          this.ctx.log.info(`removed IP address ${cidr} from ${this.dev}`);
        }
      }
    }
    lines.push(`addr replace ${own} dev ${this.dev}`, `link set dev ${this.dev} up`);
    await batch('ip', lines, this.target);
    const got = (await getLink(this.dev, this.target))?.address?.toLowerCase();
    if (this.mac && got !== this.mac) throw new Error(`${this.dev}: mac address wanted: ${this.mac}, but got: ${got}`);
  }

  private async doReconcile(leases: readonly Lease[], incremental: boolean): Promise<ReconcileResult> {
    if (incremental) return this.applyPlan(await this.peersFrom(leases, true), this.programmed!);
    // the device may have been deleted under us (flannel #877): recreate it with the same MAC, so the
    // MAC in our lease stays right, and re-add its address
    const link = await getLink(this.dev, this.target);
    if (!link) {
      this.ctx.log.warn(`vxlan: ${this.dev} is missing; recreating it`);
      await this.createDevice();
      await this.configureAddress();
    } else if (link.mtu !== this.mtu || (this.ownSubnet && !link.flags.includes('UP'))) {
      await batch('ip', [`link set dev ${this.dev} mtu ${this.mtu}${this.ownSubnet ? ' up' : ''}`], this.target);
      if (link.mtu !== this.mtu) this.ctx.log.info(`vxlan: ${this.dev} MTU changed from ${link.mtu} to ${this.mtu}`);
    }

    const [peers, routes, neighs, fdb] = await Promise.all([
      this.peersFrom(leases, false),
      listRoutes([], this.target),
      listNeighs(this.dev, this.target),
      listFdb(this.dev, this.target),
    ]);
    return this.applyPlan(peers, { routes, neighs, fdb });
  }

  private async applyPlan(peers: VxlanPeer[], state: VxlanKernelState): Promise<ReconcileResult> {
    const params = { dev: this.dev, extDev: this.ctx.extIface.name, network: this.ctx.config.network };
    const plan = planVxlan(peers, state, params);
    const tolerate = { force: true, tolerate: isNotFound };
    this.programmed = undefined; // until this pass has been applied completely
    // FDB entries first: a route that replaces a working one (a peer moving from host-gw to vxlan during
    // a live switch) must find its FDB entry in place, or its first packets are dropped (no learning)
    await batch('bridge', plan.fdbAdd, this.target);
    await batch('ip', plan.ip, this.target, tolerate);
    await batch('bridge', plan.fdbDel, this.target, tolerate);
    this.programmed = vxlanStateOf(peers, params);
    if (plan.counts.added || plan.counts.removed) {
      this.ctx.log.debug(2, `vxlan: reconcile added/updated ${plan.counts.added}, removed ${plan.counts.removed}, unchanged ${plan.counts.unchanged}`);
    }
    return plan.counts;
  }

  /** Usable vxlan peers; DirectRouting: `ip route get` for every public IP (full) or only new ones (incremental). */
  private async peersFrom(leases: readonly Lease[], incremental: boolean): Promise<VxlanPeer[]> {
    const usable: { lease: Lease; mac: string }[] = [];
    const candidates = leasesToProgram(leases, 'vxlan', this.ownSubnet, this.ctx, this.warned, (sn, type) => `ignoring non-vxlan v4Subnet(${sn}): type=${type}`);
    for (const { lease, sn } of candidates) {
      const d = vxlanPeerFromLease(lease);
      if (!d.ok) {
        this.warned.warn(this.ctx.log, `bad:${sn}:${d.why}`, `vxlan: ignoring lease ${sn}: ${d.why}`);
        continue;
      }
      usable.push({ lease, mac: d.mac });
    }
    if (this.opts.directRouting) {
      const all = [...new Set(usable.map((u) => u.lease.attrs.PublicIP))];
      const ask = incremental ? all.filter((ip) => !this.onLink.has(ip)) : all;
      const got = await routeGetMany(ask, this.target);
      if (!incremental) this.onLink = new Map();
      for (const ip of ask) this.onLink.set(ip, isOnLink(got.get(ip)));
    }
    return usable.map(({ lease, mac }) => ({
      subnet: lease.subnet,
      publicIp: lease.attrs.PublicIP,
      vtepMac: mac,
      direct: this.opts.directRouting && this.onLink.get(lease.attrs.PublicIP) === true,
    }));
  }
}
