/**
 * switch-backend, phase 7 — Check datapath (read-only): on every host the kernel holds exactly what the
 * new backend and the leases in etcd require, and nothing of the old backend. host-gw: no flannel.*
 * device, no route through one, a route via each peer's public IP. vxlan: flannel.<VNI> with the right
 * MTU, and routes/neighbours/FDB entries matching the leases. "Matching" is judged by the agent's own diff
 * (agent/backends/plan.ts): the state is right when that diff has nothing to do.
 */
import type { Phase } from '../framework/types.js';
import type { FdbEntry, IpLink, IpNeigh, IpRoute, RouteGet } from '../../network/iproute2-json.js';
import { isOnLink, normaliseDst } from '../../network/iproute2-json.js';
import { hostGwOwnedRoutes, planHostGw, planVxlan } from '../../network/datapath-plan.js';
import { decodeVxlanOptions } from '../../network/config.js';
import { formatNet } from '../../network/ipv4.js';
import type { Ipv4Net, Lease, NetworkConfig } from '../../network/types.js';
import { VerifyFailedError } from '../../util/errors.js';
import { jsonOr, parseSections, section } from '../../remote/sections.js';
import { remoteScript } from '../../remote/remote-script.js';
import { gathered } from '../shared/host-state.js';
import { listLeases } from './observe.js';
import { containerMtu } from '../../network/backends.js';
import { switchRun, planned } from './state.js';

export interface KernelSnapshot {
  links: IpLink[];
  routes: IpRoute[];
  /** neighbours and FDB entries on the vxlan device (empty when it does not exist) */
  neighs: IpNeigh[];
  fdb: FdbEntry[];
}

export interface DatapathInput {
  config: NetworkConfig;
  /** this host's lease subnet */
  ownSubnet: Ipv4Net;
  extDev: string;
  extMtu: number;
  /** every lease in etcd */
  leases: readonly Lease[];
  /** `ip route get <public IP>` on this host, for DirectRouting */
  routeGet: ReadonlyMap<string, RouteGet | { error: string }>;
  kernel: KernelSnapshot;
}

const isFlannelDev = (name: string | undefined) => !!name && /^flannel[.-]/.test(name);

/** What is wrong with this host's datapath for the config's backend (empty = right). */
export function checkDatapath(inp: DatapathInput): string[] {
  const { config: cfg, kernel: k } = inp;
  const network = cfg.network;
  const peers = inp.leases.filter((l) => formatNet(l.subnet) !== formatNet(inp.ownSubnet) && l.attrs.BackendType === cfg.backendType);
  const problems: string[] = [];
  if (cfg.backendType === 'host-gw') {
    for (const l of k.links) if (isFlannelDev(l.ifname)) problems.push(`device ${l.ifname} still exists`);
    for (const r of k.routes) if (isFlannelDev(r.dev)) problems.push(`route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev} is left from vxlan`);
    const plan = planHostGw(peers.map((l) => ({ subnet: l.subnet, publicIp: l.attrs.PublicIP })), k.routes, { extDev: inp.extDev, network });
    for (const line of plan.ip) problems.push(`routes differ from the leases: needs \`ip ${line}\``);
    return problems;
  }
  const o = decodeVxlanOptions(cfg.backendRaw);
  const dev = `flannel.${o.vni}`;
  const link = k.links.find((l) => l.ifname === dev);
  if (!link) problems.push(`device ${dev} does not exist`);
  else {
    if (link.linkinfo?.info_kind !== 'vxlan') problems.push(`${dev} is not a vxlan device (${link.linkinfo?.info_kind ?? 'unknown kind'})`);
    const want = containerMtu(cfg, inp.extMtu);
    if (link.mtu !== want) problems.push(`${dev} has MTU ${link.mtu}, expected ${want}`);
    if (!link.flags.includes('UP')) problems.push(`${dev} is down`);
  }
  for (const l of k.links) if (isFlannelDev(l.ifname) && l.ifname !== dev) problems.push(`device ${l.ifname} exists besides ${dev}`);
  const left = hostGwOwnedRoutes(k.routes, { extDev: inp.extDev, network });
  for (const r of left) problems.push(`host-gw route ${r.dst} via ${r.gateway} is left`);
  const vpeers = peers.flatMap((l) => {
    const d = l.attrs.BackendData as { VtepMAC?: unknown } | null | undefined;
    const mac = typeof d?.VtepMAC === 'string' ? d.VtepMAC.toLowerCase() : '';
    if (!mac) {
      problems.push(`lease ${formatNet(l.subnet)} (${l.attrs.PublicIP}) has no VtepMAC`);
      return [];
    }
    const rg = inp.routeGet.get(l.attrs.PublicIP);
    const direct = o.directRouting && !!rg && !('error' in rg) && isOnLink(rg);
    return [{ subnet: l.subnet, publicIp: l.attrs.PublicIP, vtepMac: mac, direct }];
  });
  if (link) {
    const plan = planVxlan(vpeers, { routes: k.routes, neighs: k.neighs, fdb: k.fdb }, { dev, extDev: inp.extDev, network });
    for (const line of plan.fdbAdd) problems.push(`FDB differs from the leases: needs \`bridge ${line}\``);
    for (const line of plan.ip) problems.push(`routes/neighbours differ from the leases: needs \`ip ${line}\``);
    for (const line of plan.fdbDel) problems.push(`stale FDB entry: needs \`bridge ${line}\``);
  }
  return problems;
}

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    'switch-kernel': { DEV: string };
  }
}

/** The kernel's datapath, with `vxlanDev`'s neighbours and FDB (src/remote/scripts/switch-kernel.sh). */
export function kernelScript(vxlanDev: string): string {
  return remoteScript('switch-kernel', { DEV: vxlanDev });
}

export function parseKernel(stdout: string): KernelSnapshot {
  const s = parseSections(stdout);
  const routes = jsonOr<IpRoute[]>(section(s, 'routes')?.body, []).map((r) => ({ ...r, dst: normaliseDst(r.dst), flags: r.flags ?? [] }));
  return {
    links: jsonOr<IpLink[]>(section(s, 'links')?.body, []).map((l) => ({ ...l, flags: l.flags ?? [] })),
    routes,
    neighs: jsonOr<IpNeigh[]>(section(s, 'neigh')?.body, []).map((n) => ({ ...n, state: n.state ?? [] })),
    fdb: jsonOr<FdbEntry[]>(section(s, 'fdb')?.body, []).map((f) => ({ ...f, flags: f.flags ?? [] })),
  };
}

export const checkDatapathPhase: Phase = {
  title: 'Check datapath',
  readOnly: true,
  shouldRun: (ctx) => !ctx.options.dryRun,
  async run(ctx) {
    const p = planned(switchRun(ctx));
    const cfg = p.target.config;
    const dev = cfg.backendType === 'vxlan' ? `flannel.${decodeVxlanOptions(cfg.backendRaw).vni}` : 'flannel.1';
    const leases = await listLeases(ctx);
    await ctx.forEachHost(async (h) => {
      const ifc = h.facts.iface;
      const own = leases.find((l) => l.attrs.PublicIP === ifc?.publicIp);
      if (!ifc || !own) throw new VerifyFailedError(`no lease in etcd for ${ifc?.publicIp ?? 'this host'}`, h.name);
      const r = await h.remote().run(kernelScript(dev), { timeoutMs: 30_000 });
      const problems = checkDatapath({
        config: cfg, ownSubnet: own.subnet, extDev: ifc.name, extMtu: ifc.mtu, leases,
        routeGet: gathered(h).routeGet, kernel: parseKernel(r.stdout),
      });
      if (problems.length) throw new VerifyFailedError(`the kernel does not match ${cfg.backendType} and the leases:\n    ${problems.join('\n    ')}`, h.name);
    });
  },
};
