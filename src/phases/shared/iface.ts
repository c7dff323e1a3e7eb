/**
 * Which interface a host's agent will use for the underlay, computed on the controller from the host's
 * facts with the agent's own selection code (src/agent/iface.ts), so preflight checks MTU, L2 adjacency and
 * public-IP uniqueness on exactly what the agent will pick.
 */
import type { IfaceSelector } from '../../inventory/types.js';
import type { Ipv4Interface } from '../../network/iproute2-json.js';
import { IfaceError, selectInterface } from '../../network/iface-select.js';

export interface ChosenInterface {
  name: string;
  /** the interface's IPv4 address the agent uses */
  ifaceAddr: string;
  /** the address peers use: flannel_public_ip, else ifaceAddr */
  publicIp: string;
  mtu: number;
}

export type InterfaceChoice = { ok: true; iface: ChosenInterface } | { ok: false; error: string };

/** The inventory's flannel_iface entries as the agent's -iface / -iface-regex flags. */
export function chooseInterface(
  ifaces: readonly Ipv4Interface[],
  defaultDev: string | undefined,
  selectors: readonly IfaceSelector[],
  publicIp?: string,
): InterfaceChoice {
  try {
    const e = selectInterface({
      iface: selectors.filter((s) => s.kind !== 'regex').map((s) => s.value),
      ifaceRegex: selectors.filter((s) => s.kind === 'regex').map((s) => s.value),
      publicIp: publicIp ?? '',
    }, ifaces, defaultDev);
    return { ok: true, iface: { name: e.name, ifaceAddr: e.ifaceAddr, publicIp: e.publicIp, mtu: e.mtu } };
  } catch (err) {
    if (err instanceof IfaceError || err instanceof SyntaxError) {
      const wanted = selectors.map((s) => (s.kind === 'regex' ? `/${s.value}/` : s.value)).join(', ');
      return { ok: false, error: `${err.message}${wanted ? ` (flannel_iface: ${wanted}; interfaces: ${ifaces.map((i) => i.name).join(', ')})` : ''}` };
    }
    throw err;
  }
}
