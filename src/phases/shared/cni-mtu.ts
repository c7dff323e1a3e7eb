/**
 * A `cni` host's containers at a new MTU, in place (no restart, same addresses): the cni0 bridge, the
 * host side of each container's veth, and the container's own interface, found through the plugin's
 * sandbox records (<dataDir>/.sandbox/<id>: netns path and interface name, written at ADD). Order keeps
 * full-size packets flowing: when the MTU shrinks, the bridge and the containers first (they stop sending
 * what no longer fits), the veths last; when it grows, the veths and containers first, the bridge last.
 * Each container's stored delegate config gets the new MTU too (what a new ADD would write). Whatever
 * cannot be changed is reported with why (a netns that is gone, an interface that is not there, a veth
 * on cni0 that no recorded container owns: its host side is changed, its container side cannot be). The
 * script is lib.sh's fp_cni_mtu (up's CNI network and switch-backend's Update MTU run it); this module reads
 * its output.
 */
import { parseSections, section } from '../../remote/sections.js';

export interface MtuChange {
  from?: number;
  to: number;
  /** why it was not changed */
  error?: string;
}

export interface ContainerMtuChange extends MtuChange {
  id: string;
  ifname: string;
  /** the host side of its veth */
  veth?: string;
}

export interface CniMtuReport {
  /** undefined: there is no bridge (no container was ever started): nothing to change */
  bridge?: MtuChange;
  containers: ContainerMtuChange[];
  /** veths on the bridge that no recorded container owns (changed on the host side only) */
  orphans: (MtuChange & { name: string })[];
}

/** Where the kernel lists network devices (a parameter of the scripts that run lib.sh's fp_cni_mtu). */
export const SYS_NET = '/sys/class/net';

const num = (s: string | undefined): number | undefined => (s && /^\d+$/.test(s) ? Number(s) : undefined);

export function parseCniMtu(stdout: string, mtu: number): CniMtuReport {
  const body = section(parseSections(stdout), 'cni_mtu')?.body ?? '';
  const out: CniMtuReport = { containers: [], orphans: [] };
  const change = (from: string | undefined, status: string): MtuChange => ({
    ...(num(from) !== undefined ? { from: num(from)! } : {}), to: mtu, ...(status === 'ok' ? {} : { error: status.trim() || 'failed' }),
  });
  for (const line of body.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const w = line.split(' ');
    if (w[0] === 'bridge') out.bridge = change(w[1], w.slice(2).join(' '));
    else if (w[0] === 'container') {
      const [, id = '', ifname = '', veth = '-', from, ...rest] = w;
      out.containers.push({ id, ifname, ...(veth !== '-' ? { veth } : {}), ...change(from, rest.join(' ')) });
    } else if (w[0] === 'orphan') out.orphans.push({ name: w[1] ?? '', ...change(w[2], w.slice(3).join(' ')) });
  }
  return out;
}

/** One line per thing that could not be changed, and the count of what was. */
export function describeCniMtu(r: CniMtuReport): { changed: string[]; problems: string[] } {
  const changed: string[] = [];
  const problems: string[] = [];
  const short = (id: string) => id.slice(0, 12);
  if (r.bridge) {
    if (r.bridge.error) problems.push(`bridge: MTU ${r.bridge.from ?? '?'} → ${r.bridge.to} failed: ${r.bridge.error}`);
    else if (r.bridge.from !== r.bridge.to) changed.push(`bridge MTU ${r.bridge.from ?? '?'} → ${r.bridge.to}`);
  }
  const moved = r.containers.filter((c) => !c.error && c.from !== c.to);
  if (moved.length) changed.push(`${moved.length} container${moved.length > 1 ? 's' : ''} (interface and veth) MTU → ${moved[0]!.to} in place`);
  for (const c of r.containers.filter((x) => x.error)) problems.push(`container ${short(c.id)} (${c.ifname || '?'}): ${c.error}`);
  for (const o of r.orphans) {
    if (o.error) problems.push(`veth ${o.name} on the bridge: ${o.error}`);
    else problems.push(`veth ${o.name} on the bridge belongs to no container in the plugin's state: its host side is at MTU ${o.to}, its container side is not (restart that container)`);
  }
  return { changed, problems };
}
