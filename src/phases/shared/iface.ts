/**
 * Which interface a host's agent will use for the underlay (flannel's -iface / -iface-regex / default route
 * rules), computed on the controller from the host's facts so preflight can check MTU, L2 adjacency and
 * public-IP uniqueness before anything is installed.
 */
import type { IfaceSelector } from '../../inventory/types.js';
import type { Ipv4Interface } from '../../agent/kernel/iproute2.js';

export interface ChosenInterface {
  name: string;
  /** the interface's first IPv4 address */
  ifaceAddr: string;
  prefixLen: number;
  /** the address peers use: flannel_public_ip, else ifaceAddr */
  publicIp: string;
  mtu: number;
}

export type InterfaceChoice = { ok: true; iface: ChosenInterface } | { ok: false; error: string };

function pick(i: Ipv4Interface, addr?: { ip: string; prefixLen: number }): { name: string; ifaceAddr: string; prefixLen: number; mtu: number } | undefined {
  const a = addr ?? i.addrs[0];
  if (!a) return undefined;
  return { name: i.name, ifaceAddr: a.ip, prefixLen: a.prefixLen, mtu: i.mtu };
}

/**
 * flannel's order: each selector in turn (an IP matches the interface holding it; a name matches the
 * interface; a regex matches addresses first, then names), first hit wins; with no selectors, the interface
 * of the default route (lowest metric) and its first IPv4 address.
 */
export function chooseInterface(
  ifaces: readonly Ipv4Interface[],
  defaultDev: string | undefined,
  selectors: readonly IfaceSelector[],
  publicIp?: string,
): InterfaceChoice {
  let found: ReturnType<typeof pick>;
  const usable = ifaces.filter((i) => !i.loopback);
  for (const s of selectors) {
    if (s.kind === 'ip') {
      for (const i of ifaces) {
        const a = i.addrs.find((x) => x.ip === s.value);
        if (a) found = pick(i, a);
        if (found) break;
      }
    } else if (s.kind === 'name') {
      const i = ifaces.find((x) => x.name === s.value);
      if (i) found = pick(i);
    } else {
      let re: RegExp;
      try {
        re = new RegExp(s.value);
      } catch (e) {
        return { ok: false, error: `flannel_iface regex /${s.value}/ is invalid: ${(e as Error).message}` };
      }
      for (const i of usable) {
        const a = i.addrs.find((x) => re.test(x.ip));
        if (a) found = pick(i, a);
        if (found) break;
      }
      if (!found) {
        const i = usable.find((x) => re.test(x.name));
        if (i) found = pick(i);
      }
    }
    if (found) break;
  }
  if (selectors.length > 0 && !found) {
    const wanted = selectors.map((s) => (s.kind === 'regex' ? `/${s.value}/` : s.value)).join(', ');
    return { ok: false, error: `no interface matches flannel_iface (${wanted}); interfaces: ${ifaces.map((i) => i.name).join(', ')}` };
  }
  if (!found) {
    if (!defaultDev) return { ok: false, error: 'no default route: set flannel_iface to choose the underlay interface' };
    const i = ifaces.find((x) => x.name === defaultDev);
    found = i && pick(i);
    if (!found) return { ok: false, error: `the default route's interface ${defaultDev} has no IPv4 address` };
  }
  return { ok: true, iface: { ...found, publicIp: publicIp ?? found.ifaceAddr } };
}
