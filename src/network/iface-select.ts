/**
 * External interface selection (flannel's ipmatch.LookupExtIface), shared by the agent (over its own kernel)
 * and the CLI's preflight (over the facts), so both pick the same interface: -iface entries in order (name
 * or IP), then -iface-regex (matched against addresses, then names), else the interface holding
 * -public-ip, else the default-route interface. Unlike flannel, a -public-ip that no local interface holds
 * (a NAT address) falls back to the default-route interface instead of failing.
 */
import { isIpv4, type Ipv4Interface } from './iproute2-json.js';

/** The interface chosen for the underlay (flannel's ExternalInterface). */
export interface ExternalInterface {
  name: string;
  index: number;
  /** the interface's own IPv4 address */
  ifaceAddr: string;
  /** the address advertised to peers (-public-ip, defaults to ifaceAddr) */
  publicIp: string;
  mtu: number;
}

export interface IfaceSelection {
  iface: string[];
  ifaceRegex: string[];
  publicIp: string;
}

export class IfaceError extends Error {}

/** Pure selection over a list of interfaces (unit-tested); `defaultDev` is the default route's device. */
export function selectInterface(sel: IfaceSelection, ifaces: readonly Ipv4Interface[], defaultDev: string | undefined, log?: { info(msg: string): void }): ExternalInterface {
  const usable = ifaces.filter((i) => i.addrs.length > 0);
  const pick = (i: Ipv4Interface, addr?: string): ExternalInterface => {
    const ifaceAddr = addr ?? i.addrs[0]!.ip;
    if (!i.mtu) throw new IfaceError(`failed to determine MTU for ${i.name} interface`);
    log?.info(`Using interface with name ${i.name} and address ${ifaceAddr}`);
    let publicIp = ifaceAddr;
    if (sel.publicIp) {
      publicIp = sel.publicIp;
      log?.info(`Using ${publicIp} as external address`);
    } else {
      log?.info(`Defaulting external address to interface address (${ifaceAddr})`);
    }
    return { name: i.name, index: i.index, ifaceAddr, publicIp, mtu: i.mtu };
  };

  if (sel.iface.length || sel.ifaceRegex.length) {
    for (const want of sel.iface) {
      if (isIpv4(want)) {
        const i = usable.find((x) => x.addrs.some((a) => a.ip === want));
        if (i) return pick(i, want);
      } else {
        const i = ifaces.find((x) => x.name === want);
        if (i) {
          if (!i.addrs.length) throw new IfaceError(`failed to find IPv4 address for interface ${i.name}`);
          return pick(i);
        }
      }
    }
    for (const r of sel.ifaceRegex) {
      const re = new RegExp(r);
      for (const i of usable) {
        const a = i.addrs.find((x) => re.test(x.ip));
        if (a) return pick(i, a.ip);
      }
      const byName = usable.find((i) => re.test(i.name));
      if (byName) return pick(byName);
    }
    throw new IfaceError('Failed to find interface to use that matches the interfaces and/or regexes provided');
  }

  if (sel.publicIp) {
    const holder = usable.find((x) => x.addrs.some((a) => a.ip === sel.publicIp));
    if (holder) return pick(holder, sel.publicIp);
    log?.info(`No interface holds -public-ip ${sel.publicIp} (NAT?): using the default-route interface`);
  }
  log?.info('Determining IP address of default interface');
  if (!defaultDev) throw new IfaceError('failed to get default interface: no default route (use -iface)');
  const i = ifaces.find((x) => x.name === defaultDev);
  if (!i || !i.addrs.length) throw new IfaceError(`failed to find IPv4 address for interface ${defaultDev}`);
  return pick(i);
}
