/** Test helpers: a ClusterSpec/HostSpec and facts script output shaped like a lab host's. */
import type { ClusterSpec, HostSpec } from '../../../../src/inventory/types.js';
import { parseFacts, type HostFacts } from '../../../../src/phases/shared/facts.js';
import { RemotePaths } from '../../../../src/inventory/types.js';

export function hostSpec(name: string, over: Partial<HostSpec['flannel']> = {}): HostSpec {
  return {
    name,
    groups: ['all', 'nodes'],
    connection: {
      transport: 'ssh', host: name, port: 22, user: 'root', identityFiles: [], identityExplicit: false, useAgent: false, identitiesOnly: false,
      knownHostsFile: '/dev/null', strictHostKeyChecking: 'yes', proxyJump: [], connectTimeoutMs: 1000,
      become: false, becomeUser: 'root',
    },
    flannel: { iface: [], ipMasq: true, docker: 'auto', binDir: '/usr/local/bin', runtime: 'docker', cni: { binDir: '/opt/cni/bin', network: 'flannel', version: '1.0.0' }, healthzPort: 8471, transfer: 'plain', agentSource: { kind: 'push', servePort: 8473, peerCompression: false }, ...over },
    agentFlags: [],
    agentEnv: {},
    varPos: {},
  };
}

export function cluster(hosts: HostSpec[], backend: 'vxlan' | 'host-gw' = 'vxlan', network = '10.244.0.0/16'): ClusterSpec {
  return {
    inventoryFile: '/tmp/inventory.yml',
    hosts,
    allHostNames: hosts.map((h) => h.name),
    network: { network, backend },
    networkConfig: { Network: network, Backend: { Type: backend } },
    etcd: { endpoints: ['http://198.18.1.10:2379'], prefix: '/coreos.com/network' },
  };
}

export interface FakeHost {
  ip: string;
  mtu?: number;
  gateway?: string;
  extraAddrs?: { dev: string; cidr: string }[];
  extraRoutes?: object[];
  routeGet?: Record<string, { gateway?: string; dev?: string } | string>;
  etcd?: Record<string, boolean>;
  machine?: string;
  pid1?: string;
  daemonJson?: string;
  dockerUnit?: string;
  /** environment files the docker unit names, as the facts script prints them */
  envFiles?: Record<string, string>;
  subnetEnv?: string;
  docker0?: string;
  files?: Record<string, { sha: string; mode: string; content: string }>;
  status?: object;
}

/** Facts script output as a lab host would print it. */
export function factsOutput(h: FakeHost): string {
  const mtu = h.mtu ?? 1500;
  const addrs = [
    { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], mtu: 65536, addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
    { ifindex: 2, ifname: 'eth0', flags: ['BROADCAST', 'UP'], mtu, addr_info: [{ family: 'inet', local: h.ip, prefixlen: 24 }] },
    ...(h.docker0 ? [{ ifindex: 3, ifname: 'docker0', flags: ['UP'], mtu: 1500, addr_info: [{ family: 'inet', local: h.docker0.split('/')[0], prefixlen: Number(h.docker0.split('/')[1]) }] }] : []),
    ...(h.extraAddrs ?? []).map((a, i) => ({ ifindex: 10 + i, ifname: a.dev, flags: ['UP'], mtu: 1500, addr_info: [{ family: 'inet', local: a.cidr.split('/')[0], prefixlen: Number(a.cidr.split('/')[1]) }] })),
  ];
  const net = h.ip.split('.').slice(0, 3).join('.') + '.0/24';
  const routes = [
    { dst: 'default', gateway: h.gateway ?? h.ip.replace(/\.\d+$/, '.1'), dev: 'eth0', flags: [] },
    { dst: net, dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: h.ip, flags: [] },
    ...(h.extraRoutes ?? []),
  ];
  const sec = (name: string, body: string) => `\n::fp:: ${name}\n${body}\n`;
  let out = '';
  out += sec('os', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"');
  out += sec('uname', `Linux 6.1.0-18-amd64 ${h.machine ?? 'x86_64'}`);
  out += sec('pid1', h.pid1 ?? 'systemd');
  out += sec('systemd', 'systemd 252 (252.39-1~deb12u2)');
  out += sec('ldso', '/lib64/ld-linux-x86-64.so.2');
  out += sec('tools', 'ip\niptables\ndocker\ndockerd\nsystemctl\nbase64\nsha256sum\ntimeout');
  out += sec('docker_unit', h.dockerUnit ?? '# /lib/systemd/system/docker.service\n[Unit]\nDescription=Docker\n[Service]\nType=notify\nExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS\n');
  for (const [path, text] of Object.entries(h.envFiles ?? {})) out += sec(`docker_envfile ${path}`, Buffer.from(text).toString('base64'));
  out += sec('docker_show', 'LoadState=loaded\nActiveState=active\nMainPID=321\nActiveEnterTimestampMonotonic=123456');
  out += sec('agent_show', 'LoadState=not-found\nActiveState=inactive\nMainPID=0\nUnitFileState=\nActiveEnterTimestampMonotonic=0\nNRestarts=0');
  out += sec('docker_cmdline', '/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock ');
  out += sec('daemon_json', h.daemonJson ?? '');
  out += sec('addr', JSON.stringify(addrs));
  out += sec('route', JSON.stringify(routes));
  out += sec('vxlan', '[]');
  // one `ip -force -j -batch -` answer line per peer; a failed lookup is an error line on its own
  const rg = Object.entries(h.routeGet ?? {}).map(([peer, r]) => (typeof r === 'string' ? r : JSON.stringify([{ dst: peer, ...r, flags: [], cache: [] }])));
  if (rg.length) out += sec('routegets', rg.join('\n'));
  out += sec('agent_sha', '');
  for (const [p, f] of Object.entries(h.files ?? {})) out += sec(`file ${p}`, `${f.sha} ${f.mode} ${Buffer.from(f.content).toString('base64')}`);
  out += sec('subnet_env', h.subnetEnv ?? '');
  out += sec('agent_status', h.status ? JSON.stringify(h.status) : '');
  out += sec('forward', '-P FORWARD DROP\nFLANNEL-FWD');
  for (const [ep, ok] of Object.entries(h.etcd ?? { '198.18.1.10:2379': true })) out += sec(`etcd ${ep}`, ok ? 'ok' : 'fail');
  return out;
}

export function facts(name: string, h: FakeHost): HostFacts {
  return parseFacts(name, factsOutput(h), RemotePaths.dockerDropIn, Object.keys(h.routeGet ?? {}));
}

/** CNI facts script output (cni-facts.ts) as a Podman lab host prints it. */
export function cniOutput(o: { link?: string; plugins?: string[]; confs?: string[]; podman?: boolean; bridge?: object; ports?: object[] } = {}): string {
  const sec = (name: string, body: string) => `\n::fp:: ${name}\n${body}\n`;
  return sec('cni_link', o.link ?? '')
    + sec('cni_plugins', (o.plugins ?? ['/usr/lib/cni/bridge', '/usr/lib/cni/host-local', '/usr/lib/cni/portmap']).join('\n'))
    + sec('cni_confs', (o.confs ?? ['10-flannel.conflist', '87-podman-bridge.conflist']).join('\n'))
    + sec('cni_podman', o.podman === false ? '' : '/usr/bin/podman')
    + sec('cni_bridge', o.bridge ? JSON.stringify([o.bridge]) : '')
    + sec('cni_ports', JSON.stringify(o.ports ?? []));
}
