/**
 * The lab's underlay: a switch namespace with a bridge, a router namespace (no default route, so nothing
 * leaves the lab), an etcd namespace, one namespace per host (interface eth0, default route via the router),
 * and one veth pair from the root namespace into the switch, so the user's shell reaches every host and etcd.
 * All changes go through `ip -batch` (one process per namespace) to keep `lab up` fast.
 */
import { existsSync, readFileSync } from 'node:fs';
import { run, runOk } from './exec.js';
import { allNamespaces, type HostPlan, type LabPlan } from './plan.js';
import { InvalidInputError, StepFailedError } from '../util/errors.js';
import { WAN_CTL_IF, WAN_LAB_IF } from './wan.js';

/** Switch-side port names (inside the switch namespace, so they cannot clash with anything else). */
const SW_BRIDGE = 'br0';
const SW_ROUTER_PORT = 'r';
const SW_ETCD_PORT = 'etcd';
const SW_ROOT_PORT = 'root';

function batch(lines: string[], ns?: string): Promise<string> {
  const args = ns ? ['-n', ns, '-batch', '-'] : ['-batch', '-'];
  return runOk('ip', args, { input: lines.join('\n') + '\n' }, ns ?? 'root namespace');
}

export function netnsExists(ns: string): boolean {
  return existsSync(`/run/netns/${ns}`);
}

export async function linkExists(dev: string): Promise<boolean> {
  return (await run('ip', ['link', 'show', 'dev', dev])).code === 0;
}

/** Namespaces on the machine whose names start with the lab's prefix (ours or not). */
export function namespacesWithPrefix(prefix: string): string[] {
  if (!existsSync('/run/netns')) return [];
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp?.startsWith(`/run/netns/${prefix}`)) out.push(mp.slice('/run/netns/'.length));
  }
  return [...new Set(out)];
}

/** Addresses/routes of the root namespace that fall in a lab's ranges: such an index is not free. */
export async function rootUsesIndex(index: number): Promise<boolean> {
  const addrs = await runOk('ip', ['-4', '-o', 'addr', 'show']);
  const routes = await runOk('ip', ['-4', 'route', 'show', 'table', 'all']);
  const re = new RegExp(`\\b198\\.1[89]\\.${index}\\.\\d+`);
  return re.test(addrs) || re.test(routes);
}

/** Refuse when something that is not ours already carries one of the lab's names. */
export async function assertNamesFree(plan: LabPlan): Promise<void> {
  const taken = allNamespaces(plan).filter(netnsExists);
  const stray = namespacesWithPrefix(`fpl-${plan.name}-`);
  const all = [...new Set([...taken, ...stray])];
  if (all.length) {
    throw new InvalidInputError(`network namespace(s) ${all.join(', ')} exist but lab "${plan.name}" has no state file: they are not ours`, `lab ${plan.name}`,
      `choose another --name, or remove them if you know they are left-overs (ip netns del NAME)`);
  }
  if (await linkExists(plan.rootVeth)) {
    throw new InvalidInputError(`interface ${plan.rootVeth} exists in the root namespace but lab "${plan.name}" has no state file: it is not ours`, `lab ${plan.name}`,
      'choose another --name');
  }
}

/** Probe the kernel features the lab and flannel need, in a throw-away namespace. */
export async function probeKernel(probeNs: string): Promise<void> {
  const fs = readFileSync('/proc/filesystems', 'utf8');
  if (!/\toverlay$/m.test(fs)) {
    const r = await run('modprobe', ['overlay']);
    if (r.code !== 0 || !/\toverlay$/m.test(readFileSync('/proc/filesystems', 'utf8'))) {
      throw new StepFailedError('the kernel has no overlay filesystem (overlayfs)', 'kernel', 'load the overlay module (modprobe overlay) or use a kernel with CONFIG_OVERLAY_FS');
    }
  }
  await runOk('ip', ['netns', 'add', probeNs]);
  try {
    const tries: Array<[string, string]> = [
      ['veth', 'link add p0 type veth peer name p1'],
      ['bridge', 'link add b0 type bridge'],
      ['vxlan', 'link add vx0 type vxlan id 42 dstport 8472'],
    ];
    for (const [feature, cmd] of tries) {
      const r = await run('ip', ['-n', probeNs, ...cmd.split(' ')]);
      if (r.code !== 0) {
        throw new StepFailedError(`the kernel cannot create ${feature} devices: ${r.stderr.trim()}`, 'kernel', `load the ${feature} module (modprobe ${feature}) or use a kernel with it`);
      }
    }
  } finally {
    await run('ip', ['netns', 'del', probeNs]);
  }
}

/**
 * A host's NIC: eth0 in its namespace, the peer a switch port named after the host (or the router's eth1
 * for the routed host). The MAC is fixed (derived from the lab index and host number) so that a host whose
 * namespace is made anew at a reboot (hosts.ts) keeps the MAC its neighbours have in their ARP caches.
 */
export function hostMac(plan: LabPlan, h: HostPlan): string {
  const n = Number(h.name.slice(1));
  const hex = (v: number): string => v.toString(16).padStart(2, '0');
  return `02:66:70:${hex(plan.index)}:${hex(n >> 8)}:${hex(n & 0xff)}`;
}

function hostPeer(plan: LabPlan, h: HostPlan): { ns: string; port: string } {
  return h.routed ? { ns: plan.routerNs, port: 'eth1' } : { ns: plan.swNs, port: h.name };
}

/** Root-namespace batch line: the host's veth pair, both ends created in place. */
function hostNicLine(plan: LabPlan, h: HostPlan): string {
  const p = hostPeer(plan, h);
  return `link add eth0 netns ${h.ns} address ${hostMac(plan, h)} type veth peer name ${p.port} netns ${p.ns}`;
}

/** Peer-side lines (in the switch or router namespace): the port in the bridge, or the router's address on it. */
function hostPortLines(plan: LabPlan, h: HostPlan): string[] {
  return h.routed ? [`addr add ${plan.routerRoutedIp}/24 dev eth1`, 'link set dev eth1 up'] : [`link set dev ${h.name} master ${SW_BRIDGE}`, `link set dev ${h.name} up`];
}

/** Host-namespace lines: loopback, the address, the default route (what a machine's network config does at boot). */
function hostNsLines(h: HostPlan): string[] {
  return ['link set dev lo up', `addr add ${h.ip}/${h.prefixLen} dev eth0`, 'link set dev eth0 up', `route add default via ${h.gateway}`];
}

/**
 * What makes a host's network namespace anew between two boots (run by the host's supervisor, hosts.ts):
 * after `ip netns del NS` (the old namespace goes with every route, device, iptables rule and sysctl the
 * host had, as at a real reboot), `ip -batch` of `root`, then of `peer` in peerNs, then of `host` in NS:
 * the same NIC again (same MAC, same address, same default route).
 */
export interface NicRebuild {
  ns: string;
  peerNs: string;
  /** the old veth's peer end: deleted first (the old namespace is freed asynchronously, and its veth with it) */
  peerPort: string;
  root: string[];
  peer: string[];
  host: string[];
}

export function hostNicRebuild(plan: LabPlan, h: HostPlan): NicRebuild {
  const p = hostPeer(plan, h);
  return { ns: h.ns, peerNs: p.ns, peerPort: p.port, root: [`netns add ${h.ns}`, hostNicLine(plan, h)], peer: hostPortLines(plan, h), host: hostNsLines(h) };
}

export async function createUnderlay(plan: LabPlan): Promise<void> {
  const routed = plan.hosts.find((h) => h.routed);
  // root namespace: the namespaces, every veth pair (created with both ends already in place), our one veth
  const root: string[] = allNamespaces(plan).map((ns) => `netns add ${ns}`);
  root.push(`link add eth0 netns ${plan.routerNs} type veth peer name ${SW_ROUTER_PORT} netns ${plan.swNs}`);
  if (!plan.noEtcd) root.push(`link add eth0 netns ${plan.etcdNs} type veth peer name ${SW_ETCD_PORT} netns ${plan.swNs}`);
  for (const h of plan.hosts) root.push(hostNicLine(plan, h));
  if (plan.wan) {
    // the controller's way in goes through the WAN namespace (wan.ts): root veth -> ctl | forwarder | lab -> switch
    root.push(`link add ${plan.rootVeth} type veth peer name ${WAN_CTL_IF} netns ${plan.wanNs}`);
    root.push(`link add ${WAN_LAB_IF} netns ${plan.wanNs} type veth peer name ${SW_ROOT_PORT} netns ${plan.swNs}`);
  } else root.push(`link add ${plan.rootVeth} type veth peer name ${SW_ROOT_PORT} netns ${plan.swNs}`);
  root.push(`addr add ${plan.rootIp}/24 dev ${plan.rootVeth}`);
  root.push(`link set dev ${plan.rootVeth} up`);
  if (routed) root.push(`route add ${plan.routedCidr} via ${plan.routerIp} dev ${plan.rootVeth}`);
  await batch(root);

  const sw = ['link set dev lo up', `link add ${SW_BRIDGE} type bridge`, `link set dev ${SW_BRIDGE} up`];
  for (const p of [SW_ROUTER_PORT, ...(plan.noEtcd ? [] : [SW_ETCD_PORT]), SW_ROOT_PORT]) sw.push(`link set dev ${p} master ${SW_BRIDGE}`, `link set dev ${p} up`);
  for (const h of plan.hosts) if (!h.routed) sw.push(...hostPortLines(plan, h));
  const r = ['link set dev lo up', `addr add ${plan.routerIp}/24 dev eth0`, 'link set dev eth0 up'];
  if (routed) r.push(...hostPortLines(plan, routed));
  const etcd = ['link set dev lo up', `addr add ${plan.etcdIp}/24 dev eth0`, 'link set dev eth0 up', `route add default via ${plan.routerIp}`];
  const jobs = [batch(sw, plan.swNs), batch(r, plan.routerNs)];
  if (!plan.noEtcd) jobs.push(batch(etcd, plan.etcdNs));
  for (const h of plan.hosts) jobs.push(batch(hostNsLines(h), h.ns));
  jobs.push(runOk('ip', ['netns', 'exec', plan.routerNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'], {}, plan.routerNs));
  await Promise.all(jobs);
}

/** Delete the lab's namespaces (their veths go with them, including the root one) and the root veth. */
export async function destroyUnderlay(plan: LabPlan): Promise<void> {
  const present = [...new Set([...allNamespaces(plan), ...namespacesWithPrefix(`fpl-${plan.name}-`)])].filter(netnsExists);
  if (present.length) {
    const r = await run('ip', ['-force', '-batch', '-'], { input: present.map((ns) => `netns del ${ns}`).join('\n') + '\n' });
    if (r.code !== 0) {
      // retry one by one, to name the one that fails
      for (const ns of present) if (netnsExists(ns)) await runOk('ip', ['netns', 'del', ns]);
    }
  }
  // the root veth dies with its peer in the switch namespace; remove it anyway when the switch was gone
  // (it may vanish between the check and the delete: the kernel removes it as the switch namespace goes)
  if (await linkExists(plan.rootVeth)) {
    const r = await run('ip', ['link', 'del', 'dev', plan.rootVeth]);
    if (r.code !== 0 && (await linkExists(plan.rootVeth))) throw new StepFailedError(`cannot delete ${plan.rootVeth}: ${r.stderr.trim()}`, 'root namespace');
  }
}
