/**
 * State another backend left in the kernel (issue 5 point 4): an agent restarted in the middle of a live
 * backend switch — or a node switched by hand, flannel #517 — finds the configured backend's opposite
 * still there: a `flannel.<VNI>` vxlan device when host-gw is configured, host-gw routes (our route
 * protocol) when vxlan is configured. Each is wrapped in a Backend object of its own type, so the agent
 * can either keep it (peers still use that backend) or tear it down with the backend's own teardown.
 * vxlan devices of another VNI than the configured one are simply stray (all nodes share one VNI).
 */
import type { NetworkConfig } from '../network/types.js';
import type { Backend, ExternalInterface } from './backends/backend.js';
import { hostGwOwnedRoutes, HOSTGW_PROTO } from '../network/datapath-plan.js';
import { createBackend } from './backends/registry.js';
import { VXLAN_OVERHEAD } from '../network/backends.js';
import { decodeVxlanOptions } from '../network/config.js';
import { batch, isNotFound, listLinksOfType, listRoutes, type IpLink } from './kernel/iproute2.js';
import type { KernelTarget } from './kernel/exec.js';
import type { AgentLogger } from './log.js';

export interface Leftover {
  backend: Backend;
  /** the config the backend object was made with (its options decoded from the kernel state) */
  config: NetworkConfig;
  /** for logs: "device flannel.1" / "3 host-gw route(s)" */
  what: string;
}

export interface LeftoverScan {
  leftovers: Leftover[];
  /** vxlan devices named flannel.<n> that no backend here can use (another VNI) */
  stray: string[];
}

const FLANNEL_DEV = /^flannel\.(\d+)$/;

/** The vxlan config that describes an existing device, so adopting it changes nothing. */
export function vxlanConfigOf(base: NetworkConfig, link: IpLink): NetworkConfig {
  const d = link.linkinfo?.info_data ?? {};
  const raw: Record<string, unknown> = { Type: 'vxlan', VNI: d.id ?? Number(FLANNEL_DEV.exec(link.ifname)?.[1] ?? 1) };
  if (d.port) raw.Port = d.port;
  if (link.mtu) raw.MTU = link.mtu + VXLAN_OVERHEAD;
  if (d.learning) raw.Learning = true;
  if (d.gbp) raw.GBP = true;
  return { ...base, backendType: 'vxlan', backendRaw: raw };
}

export async function scanLeftovers(configured: NetworkConfig, extIface: ExternalInterface, log: AgentLogger, target?: KernelTarget): Promise<LeftoverScan> {
  const [links, routes] = await Promise.all([
    listLinksOfType('vxlan', target),
    listRoutes(['proto', String(HOSTGW_PROTO)], target),
  ]);
  const out: LeftoverScan = { leftovers: [], stray: [] };
  const devs = links.filter((l) => FLANNEL_DEV.test(l.ifname));
  const opts = target ? { target } : {};
  if (configured.backendType === 'vxlan') {
    const vni = decodeVxlanOptions(configured.backendRaw).vni;
    for (const l of devs) if (l.ifname !== `flannel.${vni}`) out.stray.push(l.ifname);
    // `proto X` filtering drops the protocol from the JSON: put it back for the ownership test
    for (const r of routes) r.protocol = String(HOSTGW_PROTO);
    const mine = hostGwOwnedRoutes(routes, { extDev: extIface.name, network: configured.network });
    if (mine.length) {
      const config: NetworkConfig = { ...configured, backendType: 'host-gw', backendRaw: { Type: 'host-gw' } };
      try {
        out.leftovers.push({ backend: createBackend('host-gw', { extIface, config, log: log.child('host-gw') }, opts), config, what: `${mine.length} host-gw route(s)` });
      } catch (e) {
        log.warn(`cannot handle ${mine.length} leftover host-gw route(s): ${(e as Error).message}`);
      }
    }
  } else if (configured.backendType === 'host-gw') {
    const [first, ...rest] = devs;
    out.stray.push(...rest.map((l) => l.ifname));
    if (first) {
      const config = vxlanConfigOf(configured, first);
      out.leftovers.push({ backend: createBackend('vxlan', { extIface, config, log: log.child('vxlan') }, opts), config, what: `device ${first.ifname}` });
    }
  }
  return out;
}

/** vxlan devices of another VNI than the configured one: nothing uses them (all nodes share one VNI). */
export async function removeStrayDevices(stray: readonly string[], log: AgentLogger): Promise<void> {
  if (!stray.length) return;
  await batch('ip', stray.map((d) => `link del ${d}`), undefined, { force: true, tolerate: isNotFound })
    .then(() => log.info(`removed stray vxlan device(s) ${stray.join(', ')} (not the configured VNI)`))
    .catch((e: Error) => log.warn(`cannot remove stray device(s) ${stray.join(', ')}: ${e.message}`));
}
