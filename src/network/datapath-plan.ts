/**
 * Pure desired-state diffing for the backends: given what the peers' leases require and what the kernel
 * currently holds (as read with `ip -j` / `bridge -j`), produce the iproute2 batch lines that make the
 * kernel match. No I/O here, so every add/replace/delete case is unit-testable.
 *
 * Ownership (so vxlan and host-gw can be active at once during a live switch):
 * - vxlan owns every route, neighbour and FDB entry on its device, plus its DirectRouting routes, which
 *   carry route protocol VXLAN_DIRECT_PROTO;
 * - host-gw owns the routes with protocol HOSTGW_PROTO via the external interface.
 * Neither ever deletes a route it does not own. Both install routes with `route replace`, which swaps a
 * same-destination route atomically (no gap) when a peer moves from one backend to the other.
 */
import type { FdbEntry, IpNeigh, IpRoute } from './iproute2-json.js';
import { formatIpv4, formatNet, netContainsNet } from './ipv4.js';
import type { Ipv4Net } from './types.js';

/** Route protocol of host-gw routes (`ip route ... proto 241`); not used by any known routing daemon. */
export const HOSTGW_PROTO = 241;
/** Route protocol of vxlan DirectRouting routes (plain routes via a peer's on-link public IP). */
export const VXLAN_DIRECT_PROTO = 242;

export interface PlanCounts {
  added: number;
  removed: number;
  unchanged: number;
}

// ---------------------------------------------------------------------------------------------------
// vxlan

export interface VxlanPeer {
  subnet: Ipv4Net;
  publicIp: string;
  /** lower-case MAC */
  vtepMac: string;
  /** DirectRouting and the peer's public IP is on-link: plain route via it, no neighbour/FDB entry */
  direct: boolean;
}

export interface VxlanKernelState {
  /** all IPv4 main-table routes (filtered here by ownership) */
  routes: readonly IpRoute[];
  /** neighbours on the vxlan device */
  neighs: readonly IpNeigh[];
  /** FDB entries on the vxlan device */
  fdb: readonly FdbEntry[];
}

export interface VxlanPlanParams {
  dev: string;
  /** external interface name (DirectRouting routes go via it) */
  extDev: string;
  network: Ipv4Net;
}

export interface VxlanPlan {
  /** `bridge -batch` lines applied first (FDB entries the new neighbours/routes need) */
  fdbAdd: string[];
  /** `ip -batch` lines: neighbour replaces, route replaces, then route and neighbour deletions */
  ip: string[];
  /** `bridge -batch` lines applied last (stale FDB entries) */
  fdbDel: string[];
  counts: PlanCounts;
}

function routeProto(r: IpRoute): number | undefined {
  if (r.protocol === undefined) return undefined; // "boot" is not printed
  const n = Number(r.protocol);
  return Number.isInteger(n) ? n : undefined;
}

/**
 * Whether a kernel-printed "a.b.c.d/len" lies inside the Network. Hand-parsed: this runs for every
 * route on every pass, and the general (ipaddr.js) parser made a 1,000-peer diff cost ~20 ms.
 */
export function inNetwork(dst: string, network: Ipv4Net): boolean {
  const slash = dst.indexOf('/');
  const parts = (slash < 0 ? dst : dst.slice(0, slash)).split('.');
  if (parts.length !== 4) return false;
  let ip = 0;
  for (const x of parts) {
    const o = Number(x);
    if (!Number.isInteger(o) || o < 0 || o > 255 || x === '') return false;
    ip = ip * 256 + o;
  }
  const len = slash < 0 ? 32 : Number(dst.slice(slash + 1));
  if (!Number.isInteger(len) || len < 0 || len > 32) return false;
  return netContainsNet(network, { ip, prefixLen: len });
}

/** vxlan device routes and DirectRouting routes owned by the vxlan backend. */
export function vxlanOwnedRoutes(routes: readonly IpRoute[], p: VxlanPlanParams): IpRoute[] {
  return routes.filter(
    (r) =>
      inNetwork(r.dst, p.network) &&
      ((r.dev === p.dev && r.protocol !== 'kernel') || routeProto(r) === VXLAN_DIRECT_PROTO),
  );
}

function desiredVxlanRoute(peer: VxlanPeer, p: VxlanPlanParams): { dst: string; gateway: string; dev: string; line: string; check: (r: IpRoute) => boolean } {
  const dst = formatNet(peer.subnet);
  if (peer.direct) {
    return {
      dst,
      gateway: peer.publicIp,
      dev: p.extDev,
      line: `route replace ${dst} via ${peer.publicIp} dev ${p.extDev} proto ${VXLAN_DIRECT_PROTO}`,
      check: (r) => r.gateway === peer.publicIp && r.dev === p.extDev && routeProto(r) === VXLAN_DIRECT_PROTO,
    };
  }
  const gw = formatIpv4(peer.subnet.ip);
  return {
    dst,
    gateway: gw,
    dev: p.dev,
    line: `route replace ${dst} via ${gw} dev ${p.dev} onlink`,
    check: (r) => r.gateway === gw && r.dev === p.dev && r.flags.includes('onlink') && !r.metric,
  };
}

/** Diff the vxlan backend's kernel state against the peers. */
export function planVxlan(peers: readonly VxlanPeer[], state: VxlanKernelState, p: VxlanPlanParams): VxlanPlan {
  const counts: PlanCounts = { added: 0, removed: 0, unchanged: 0 };
  const fdbAdd: string[] = [];
  const neighLines: string[] = [];
  const routeLines: string[] = [];
  const routeDel: string[] = [];
  const neighDel: string[] = [];
  const fdbDel: string[] = [];

  const owned = vxlanOwnedRoutes(state.routes, p);
  const routesByDst = new Map<string, IpRoute[]>();
  for (const r of owned) {
    const l = routesByDst.get(r.dst);
    if (l) l.push(r);
    else routesByDst.set(r.dst, [r]);
  }
  const neighByDst = new Map(state.neighs.map((n) => [n.dst, n]));
  const fdbByMac = new Map<string, FdbEntry[]>();
  for (const f of state.fdb) {
    if (!f.dst || !f.flags.includes('self')) continue; // only unicast remote entries are ours to manage
    const mac = f.mac.toLowerCase();
    const l = fdbByMac.get(mac);
    if (l) l.push(f);
    else fdbByMac.set(mac, [f]);
  }

  const wantRoutes = new Set<string>();
  const wantNeigh = new Set<string>();
  const wantFdb = new Map<string, string>(); // mac -> dst

  for (const peer of peers) {
    let changed = false;
    if (!peer.direct) {
      const gw = formatIpv4(peer.subnet.ip);
      wantNeigh.add(gw);
      const n = neighByDst.get(gw);
      if (!n || n.lladdr?.toLowerCase() !== peer.vtepMac || !n.state.includes('PERMANENT')) {
        neighLines.push(`neigh replace ${gw} lladdr ${peer.vtepMac} dev ${p.dev} nud permanent`);
        changed = true;
      }
      const prev = wantFdb.get(peer.vtepMac);
      if (prev === undefined) {
        wantFdb.set(peer.vtepMac, peer.publicIp);
        const have = fdbByMac.get(peer.vtepMac) ?? [];
        if (!(have.length === 1 && have[0]!.dst === peer.publicIp)) {
          // replace also drops other destinations for this MAC
          fdbAdd.push(`fdb replace ${peer.vtepMac} dev ${p.dev} dst ${peer.publicIp} self permanent`);
          changed = true;
        }
      }
    }
    const want = desiredVxlanRoute(peer, p);
    wantRoutes.add(want.dst);
    const have = routesByDst.get(want.dst) ?? [];
    if (!(have.length === 1 && want.check(have[0]!))) {
      routeLines.push(want.line);
      changed = true;
      // extra owned routes for this dst (another metric, or a DirectRouting route left when the peer
      // became vxlan again): delete all but the one `replace` rewrites (metric 0)
      for (const r of have) if (r.metric) routeDel.push(routeDelLine(r));
    }
    if (changed) counts.added++;
    else counts.unchanged++;
  }

  for (const r of owned) {
    if (!wantRoutes.has(r.dst)) {
      routeDel.push(routeDelLine(r));
      counts.removed++;
    }
  }
  for (const n of state.neighs) {
    if (!wantNeigh.has(n.dst) && n.dst.includes('.') && !n.state.includes('NOARP')) {
      neighDel.push(`neigh del ${n.dst} dev ${p.dev}`);
    }
  }
  for (const [mac, entries] of fdbByMac) {
    if (wantFdb.has(mac)) continue;
    for (const f of entries) fdbDel.push(`fdb del ${mac} dev ${p.dev} dst ${f.dst} self`);
  }
  // neighbours/FDB entries without a route of their own still count as removals when nothing else did
  if (counts.removed === 0 && (neighDel.length || fdbDel.length)) counts.removed = Math.max(neighDel.length, fdbDel.length);

  return { fdbAdd, ip: [...neighLines, ...routeLines, ...routeDel, ...neighDel], fdbDel, counts };
}

/** The kernel state a successful planVxlan apply leaves (our entries only), for incremental passes. */
export function vxlanStateOf(peers: readonly VxlanPeer[], p: VxlanPlanParams): VxlanKernelState {
  const routes: IpRoute[] = [];
  const neighs: IpNeigh[] = [];
  const fdb: FdbEntry[] = [];
  const macs = new Set<string>();
  for (const peer of peers) {
    const dst = formatNet(peer.subnet);
    if (peer.direct) {
      routes.push({ dst, gateway: peer.publicIp, dev: p.extDev, protocol: String(VXLAN_DIRECT_PROTO), flags: [] });
      continue;
    }
    const gw = formatIpv4(peer.subnet.ip);
    routes.push({ dst, gateway: gw, dev: p.dev, flags: ['onlink'] });
    neighs.push({ dst: gw, dev: p.dev, lladdr: peer.vtepMac, state: ['PERMANENT'] });
    if (!macs.has(peer.vtepMac)) {
      macs.add(peer.vtepMac);
      fdb.push({ mac: peer.vtepMac, dst: peer.publicIp, flags: ['self'], state: 'permanent' });
    }
  }
  return { routes, neighs, fdb };
}

/** The routes a successful planHostGw apply leaves, minus the peers whose route failed. */
export function hostGwStateOf(peers: readonly HostGwPeer[], p: HostGwPlanParams, failed: ReadonlySet<string>): IpRoute[] {
  return peers
    .filter((peer) => !failed.has(formatNet(peer.subnet)))
    .map((peer) => ({ dst: formatNet(peer.subnet), gateway: peer.publicIp, dev: p.extDev, protocol: String(HOSTGW_PROTO), flags: [] }));
}

/** A `route del` line precise enough to hit only this route (proto/metric/gateway/dev as read). */
export function routeDelLine(r: IpRoute): string {
  const parts = ['route del', r.dst];
  if (r.gateway) parts.push('via', r.gateway);
  if (r.dev) parts.push('dev', r.dev);
  if (r.protocol !== undefined) parts.push('proto', r.protocol);
  if (r.metric) parts.push('metric', String(r.metric));
  return parts.join(' ');
}

// ---------------------------------------------------------------------------------------------------
// host-gw

export interface HostGwPeer {
  subnet: Ipv4Net;
  publicIp: string;
}

export interface HostGwPlanParams {
  extDev: string;
  network: Ipv4Net;
}

export interface HostGwPlan {
  ip: string[];
  /** for each `route replace` line (index into ip), the peer it programs (to name it on failure) */
  linePeer: Map<number, HostGwPeer>;
  counts: PlanCounts;
}

/** host-gw owns routes inside the Network with its protocol number, via the external interface. */
export function hostGwOwnedRoutes(routes: readonly IpRoute[], p: HostGwPlanParams): IpRoute[] {
  return routes.filter(
    (r) => routeProto(r) === HOSTGW_PROTO && r.dev === p.extDev && !!r.gateway && inNetwork(r.dst, p.network),
  );
}

export function hostGwRouteLine(peer: HostGwPeer, extDev: string): string {
  return `route replace ${formatNet(peer.subnet)} via ${peer.publicIp} dev ${extDev} proto ${HOSTGW_PROTO}`;
}

/** Diff host-gw routes against the peers (`routes` = all IPv4 main-table routes, protocol as printed). */
export function planHostGw(peers: readonly HostGwPeer[], routes: readonly IpRoute[], p: HostGwPlanParams): HostGwPlan {
  const counts: PlanCounts = { added: 0, removed: 0, unchanged: 0 };
  const owned = hostGwOwnedRoutes(routes, p);
  const byDst = new Map<string, IpRoute[]>();
  for (const r of owned) {
    const l = byDst.get(r.dst);
    if (l) l.push(r);
    else byDst.set(r.dst, [r]);
  }
  const add: string[] = [];
  const del: string[] = [];
  const linePeer = new Map<number, HostGwPeer>();
  const want = new Set<string>();
  for (const peer of peers) {
    const dst = formatNet(peer.subnet);
    want.add(dst);
    const have = byDst.get(dst) ?? [];
    if (have.length === 1 && have[0]!.gateway === peer.publicIp && !have[0]!.metric) {
      counts.unchanged++;
      continue;
    }
    linePeer.set(add.length, peer);
    add.push(hostGwRouteLine(peer, p.extDev));
    for (const r of have) if (r.metric) del.push(routeDelLine(r));
    counts.added++;
  }
  for (const r of owned) {
    if (!want.has(r.dst)) {
      del.push(routeDelLine(r));
      counts.removed++;
    }
  }
  return { ip: [...add, ...del], linePeer, counts };
}
