/**
 * Preflight: pure checks over the inventory and every host's facts. Each problem names the host(s) it is
 * about; `up` changes nothing anywhere unless there is no problem of severity "error" on any host.
 */
import { InvalidInputError } from '../../util/errors.js';
import { BACKEND_TYPES, isBackendType, VXLAN_DEFAULT_PORT, VXLAN_DEFAULT_VNI, VXLAN_OVERHEAD, vxlanPort } from '../../network/backends.js';
import type { ClusterSpec, HostSpec } from '../../inventory/types.js';
import type { NetworkConfig } from '../../network/types.js';
import { decodeVxlanOptions } from '../../network/config.js';
import { formatNet, netContains, netOverlaps, parseCidr, parseIpv4 } from '../../network/ipv4.js';
import { isOnLink } from '../../network/iproute2-json.js';
import type { HostFacts } from './facts.js';
import type { InterfaceChoice } from './iface.js';
import { dockerSourceProblems } from './docker-source-checks.js';
import { planDockerAdoption } from './docker-adoption.js';
import { DAEMON_JSON } from './facts.js';
import type { CniFacts } from './cni-facts.js';
import { cniProblems } from './cni-preflight.js';
import { agentBinary } from '../../inventory/host-files.js';
import { adoptProblems } from './adopt-check.js';
import { MEASURE_VETH } from '../../measure/scripts.js';

export type Severity = 'error' | 'warning';

export interface Problem {
  severity: Severity;
  /** short id of the check, stable for JSON output, e.g. "overlap", "l2-adjacency" */
  check: string;
  /** hosts concerned (empty = cluster-wide) */
  hosts: string[];
  message: string;
}

export interface PreflightHost {
  spec: HostSpec;
  facts: HostFacts;
  iface: InterfaceChoice;
  /** a `cni` host's CNI facts */
  cni?: CniFacts;
}

export interface PreflightInput {
  cluster: ClusterSpec;
  /** the validated config, or the validator's error text */
  config: { ok: true; config: NetworkConfig } | { ok: false; error: string };
  hosts: readonly PreflightHost[];
  /** `uname -m` the agent binary runs on (that of the machine that built it) */
  agentMachine: string;
  /** checks that only matter before changing hosts (e.g. daemon.json) can be relaxed by `check` */
  mode?: 'up' | 'check';
  /** `up --adopt`: a foreign flanneld is taken over (its flags checked) instead of refused */
  adopt?: boolean;
}

/** Minimum MTU a container interface should get (IPv4 hosts must accept 576-byte datagrams). */
export const MIN_MTU = 576;

/**
 * Whether flanprov configures Docker on this host (flannel_docker: true | false | auto = when installed);
 * never on a `flannel_runtime: cni` host.
 */
export function dockerManaged(spec: HostSpec, facts: HostFacts): boolean {
  if (spec.flannel.runtime === 'cni') return false;
  if (spec.flannel.docker === 'auto') return facts.docker.installed && !!facts.docker.unit;
  return spec.flannel.docker;
}

/** Devices whose addresses/routes inside the Network are flannel's own (or Docker's, which `up` moves). */
function ownDevice(dev: string | undefined): boolean {
  // fpmeas0: a measurement's namespace link (measure/scripts.ts), /32s inside the host's own subnet
  return !!dev && (/^flannel[.-]/.test(dev) || dev === 'docker0' || dev === 'cni0' || dev === MEASURE_VETH);
}

/** machine name of the local node binary's architecture (process.arch) as uname -m prints it */
export function unameMachine(arch: string = process.arch): string {
  return ({ x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', arm: 'armv7l' } as Record<string, string>)[arch] ?? arch;
}

export function preflight(inp: PreflightInput): Problem[] {
  const out: Problem[] = [];
  const err = (check: string, hosts: string[], message: string) => out.push({ severity: 'error', check, hosts, message });
  const warn = (check: string, hosts: string[], message: string) => out.push({ severity: 'warning', check, hosts, message });

  let cfg: NetworkConfig | undefined;
  if (!inp.config.ok) err('network-config', [], `invalid network config: ${inp.config.error}`);
  else {
    cfg = inp.config.config;
    if (!isBackendType(cfg.backendType)) {
      err('network-config', [], `backend type "${cfg.backendType}" is not supported by flanprov's agent (${BACKEND_TYPES.join(', ')})`);
    }
  }
  let vxlanMtu = 0;
  let port = VXLAN_DEFAULT_PORT;
  let vni = VXLAN_DEFAULT_VNI;
  if (cfg?.backendType === 'vxlan') {
    try {
      const o = decodeVxlanOptions(cfg.backendRaw);
      vxlanMtu = o.mtu;
      vni = o.vni;
      port = vxlanPort(o.port);
      if (o.port < 0 || o.port > 65535) err('vxlan-port', [], `vxlan Port ${o.port} is not a UDP port (1-65535, 0 = ${VXLAN_DEFAULT_PORT})`);
      if (o.vni < 0 || o.vni > 16777215) err('network-config', [], `vxlan VNI ${o.vni} is out of range (0-16777215)`);
    } catch (e) {
      err('network-config', [], (e as Error).message);
    }
  }

  const publicIps = new Map<string, string[]>();
  for (const h of inp.hosts) {
    const n = h.spec.name;
    const f = h.facts;
    // platform
    if (f.kernelName !== 'Linux') err('platform', [n], `unsupported OS kernel "${f.kernelName || 'unknown'}" (${f.os.prettyName || 'no /etc/os-release'}): flanprov supports Linux only`);
    if (f.machine !== inp.agentMachine) err('platform', [n], `unsupported architecture ${f.machine || 'unknown'}: the agent binary is built for ${inp.agentMachine}`);
    else if (f.loaders.length === 0) err('platform', [n], 'no glibc dynamic loader found (/lib64/ld-linux-x86-64.so.2): the agent is a glibc executable (musl hosts are not supported)');
    if (!f.systemdPid1) err('systemd', [n], 'systemd is not PID 1 (/proc/1/comm): flanprov runs the agent as a systemd service');
    for (const tool of ['ip', 'iptables', 'systemctl']) {
      if (!f.tools.has(tool)) err('tools', [n], `${tool} is not installed (the agent needs iproute2 and iptables)`);
    }
    // a flanneld flanprov did not install (warned about by `check`, refused by `up` unless --adopt)
    for (const p of adoptProblems(inp.cluster, h.spec, f.agent.foreign, !!inp.adopt)) (inp.mode === 'check' ? warn : err)(p.check, [n], p.message);
    // interface
    if (!h.iface.ok) {
      err('interface', [n], h.iface.error);
      continue;
    }
    const ifc = h.iface.iface;
    if (parseIpv4(ifc.publicIp) === undefined) err('interface', [n], `flannel_public_ip "${ifc.publicIp}" is not an IPv4 address`);
    publicIps.set(ifc.publicIp, [...(publicIps.get(ifc.publicIp) ?? []), n]);

    // Docker
    const managed = dockerManaged(h.spec, f);
    if (h.spec.flannel.docker === true && !f.docker.unit) {
      err('docker', [n], 'flannel_docker is true but docker.service is not installed');
    }
    if (managed && inp.mode !== 'check') {
      if (f.docker.daemonJsonError) err('docker', [n], `${DAEMON_JSON} is not valid JSON: ${f.docker.daemonJsonError}`);
      // with --adopt the flags are taken out of their sources (phases/up/adopt-docker.ts) instead
      for (const m of inp.adopt ? planDockerAdoption(f.docker.sources).problems : dockerSourceProblems(f.docker.sources)) err('docker', [n], m);
      if (!f.docker.execStart) err('docker', [n], "cannot read dockerd's ExecStart from docker.service (systemctl cat docker.service)");
    }

    if (h.spec.flannel.runtime === 'cni') out.push(...cniProblems(h.spec, agentBinary(h.spec), h.cni));

    // etcd reachability from the host
    const eps = [...f.etcdReach.entries()];
    const bad = eps.filter(([, ok]) => !ok).map(([ep]) => ep);
    if (eps.length && bad.length === eps.length) err('etcd', [n], `etcd is unreachable from this host (TCP to ${bad.join(', ')} failed): the agent could not start`);
    else if (bad.length) warn('etcd', [n], `some etcd endpoints are unreachable from this host: ${bad.join(', ')}`);

    if (!cfg) continue;
    // overlap: Network vs the host's own addresses and routes (not flannel's or docker0's)
    for (const i of f.interfaces) {
      if (ownDevice(i.name)) continue;
      for (const a of i.addrs) {
        const ip = parseIpv4(a.ip);
        if (ip === undefined) continue;
        const net = { ip, prefixLen: a.prefixLen };
        if (netOverlaps(cfg.network, net)) {
          err('overlap', [n], `the flannel Network ${formatNet(cfg.network)} overlaps ${i.name}'s address ${a.ip}/${a.prefixLen}`);
        }
      }
    }
    const clusterIps = new Set(inp.hosts.flatMap((x) => (x.iface.ok ? [x.iface.iface.publicIp] : [])));
    for (const r of f.routes) {
      if (r.dst === '0.0.0.0/0' || ownDevice(r.dev)) continue;
      const dst = parseCidr(r.dst);
      if (!dst || !netOverlaps(cfg.network, dst)) continue;
      // host-gw routes that flannel itself programmed towards peers' subnets
      if (dst.prefixLen === cfg.subnetLen && netContains(cfg.network, dst.ip) && r.gateway && clusterIps.has(r.gateway)) continue;
      err('overlap', [n], `the flannel Network ${formatNet(cfg.network)} overlaps the route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`);
    }

    // MTU sanity
    if (cfg.backendType === 'vxlan') {
      const under = vxlanMtu || ifc.mtu;
      if (under - VXLAN_OVERHEAD < MIN_MTU) err('mtu', [n], `vxlan MTU would be ${under - VXLAN_OVERHEAD} (underlay ${under} − ${VXLAN_OVERHEAD}), below ${MIN_MTU}`);
      if (vxlanMtu > ifc.mtu) warn('mtu', [n], `Backend.MTU ${vxlanMtu} is larger than ${ifc.name}'s MTU ${ifc.mtu}: full-size packets will be dropped`);
      // another vxlan device (not flannel's) on the same port and VNI would swallow our packets
      for (const l of f.vxlanLinks) {
        const d = l.linkinfo?.info_data;
        if (l.ifname === `flannel.${vni}` || !d) continue;
        if ((d.port ?? VXLAN_DEFAULT_PORT) === port && d.id === vni) {
          err('vxlan-port', [n], `vxlan device ${l.ifname} already uses UDP port ${port} with VNI ${vni}`);
        }
      }
    } else if (cfg.backendType === 'host-gw') {
      if (ifc.mtu < MIN_MTU) err('mtu', [n], `${ifc.name}'s MTU ${ifc.mtu} is below ${MIN_MTU}`);
      if (ifc.publicIp !== ifc.ifaceAddr) {
        err('host-gw', [n], `flannel_public_ip ${ifc.publicIp} differs from ${ifc.name}'s address ${ifc.ifaceAddr}: host-gw does not work through NAT`);
      }
    }
  }

  for (const [ip, names] of publicIps) {
    if (names.length > 1) err('public-ip', names, `hosts ${names.join(', ')} would all advertise the same public IP ${ip} (set flannel_iface or flannel_public_ip)`);
  }

  if (cfg?.backendType === 'host-gw') {
    const bad: string[] = [];
    const ok = inp.hosts.filter((h) => h.iface.ok);
    for (let i = 0; i < ok.length; i++) {
      for (let j = i + 1; j < ok.length; j++) {
        const a = ok[i]!;
        const b = ok[j]!;
        const why = [notAdjacent(a, b), notAdjacent(b, a)].filter(Boolean);
        if (why.length) bad.push(`${a.spec.name} ↔ ${b.spec.name} (${why.join('; ')})`);
      }
    }
    if (bad.length) {
      const hosts = [...new Set(bad.flatMap((p) => p.split(' (')[0]!.split(' ↔ ')))];
      err('l2-adjacency', hosts, `host-gw needs every pair of hosts on one L2 segment; not adjacent: ${bad.join(', ')}. Use the vxlan backend (DirectRouting: true keeps direct routes where hosts are adjacent)`);
    }
  }

  if (cfg) {
    const mtus = new Set(inp.hosts.flatMap((h) => (h.iface.ok ? [h.iface.iface.mtu] : [])));
    if (mtus.size > 1) warn('mtu', [], `hosts' underlay MTUs differ (${[...mtus].join(', ')}): containers get different MTUs; full-size packets may be dropped between them`);
  }
  return out;
}

/** Why `b` is not on-link from `a` (`ip route get <b's public IP>` on `a` has a gateway), or "". */
function notAdjacent(a: PreflightHost, b: PreflightHost): string {
  if (!b.iface.ok) return '';
  const ip = b.iface.iface.publicIp;
  const r = a.facts.routeGet.get(ip);
  if (!r) return `${a.spec.name} did not look up ${ip}`;
  if ('error' in r) return `${a.spec.name}: ip route get ${ip}: ${r.error}`;
  if (isOnLink(r)) return '';
  return `${a.spec.name} reaches ${ip} via ${r.gateway ?? '?'}`;
}

export function errors(problems: readonly Problem[]): Problem[] {
  return problems.filter((p) => p.severity === 'error');
}

/** Text for a refusal: one line per problem, hosts first. */
/** Each host a set of problems names, with its problems in one line (the run shows those hosts as failed). */
export function problemsByHost(problems: readonly Problem[]): Map<string, string> {
  const m = new Map<string, string[]>();
  for (const p of problems) for (const h of p.hosts) m.set(h, [...(m.get(h) ?? []), p.message]);
  return new Map([...m].map(([h, msgs]) => [h, msgs.join('; ')]));
}

/** A preflight refusal: exit 2, the problems listed, each host they name counted as failed. */
export function preflightRefusal(heading: string, problems: readonly Problem[], hint?: string): InvalidInputError {
  return new InvalidInputError(`${heading}:\n${formatProblems(problems)}`, undefined, hint).withHosts(problemsByHost(problems));
}

export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.severity === 'error' ? '✗' : '!'} ${p.hosts.length ? p.hosts.join(', ') + ': ' : ''}${p.message}`).join('\n');
}
