import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preflight, errors, formatProblems, type PreflightHost } from '../../../../src/phases/shared/preflight.js';
import { validateNetworkConfig } from '../../../../src/network/config.js';
import { chooseInterface } from '../../../../src/phases/shared/iface.js';
import { cluster, cniOutput, facts, hostSpec, type FakeHost } from './fixtures.js';
import { parseCniFacts } from '../../../../src/phases/shared/cni-facts.js';
import type { HostSpec } from '../../../../src/inventory/types.js';

function hosts(defs: Record<string, FakeHost>, over: Partial<HostSpec['flannel']> = {}): PreflightHost[] {
  return Object.entries(defs).map(([name, d]) => {
    const f = facts(name, d);
    const spec = hostSpec(name, over);
    return { spec, facts: f, iface: chooseInterface(f.interfaces, f.defaultRoute?.dev, spec.flannel.iface, spec.flannel.publicIp) };
  });
}

const l2 = (self: string, others: string[]) => Object.fromEntries(others.filter((o) => o !== self).map((o) => [o, { dev: 'eth0' }]));
const ips = ['198.18.1.11', '198.18.1.12', '198.18.1.13'];
const good = (i: number): FakeHost => ({ ip: ips[i]!, routeGet: l2(ips[i]!, ips) });

function run(hs: PreflightHost[], backend: 'vxlan' | 'host-gw' = 'vxlan', networkConfig?: Record<string, unknown>) {
  const c = cluster(hs.map((h) => h.spec), backend);
  if (networkConfig) c.networkConfig = networkConfig;
  return preflight({ cluster: c, config: validateNetworkConfig(c.networkConfig), hosts: hs, agentMachine: 'x86_64' });
}

test('a clean 3-host lab passes on vxlan and host-gw', () => {
  const hs = hosts({ h1: good(0), h2: good(1), h3: good(2) });
  assert.deepEqual(run(hs), []);
  assert.deepEqual(run(hs, 'host-gw'), []);
});

test('host-gw across a router names every non-adjacent pair', () => {
  const routed = (self: string): FakeHost => ({
    ip: self,
    routeGet: Object.fromEntries(ips.filter((o) => o !== self).map((o) => [o, o === '198.18.1.13' || self === '198.18.1.13' ? { gateway: '198.18.1.1', dev: 'eth0' } : { dev: 'eth0' }])),
  });
  const hs = hosts({ h1: routed(ips[0]!), h2: routed(ips[1]!), h3: routed(ips[2]!) });
  const p = errors(run(hs, 'host-gw'));
  assert.equal(p.length, 1);
  assert.equal(p[0]!.check, 'l2-adjacency');
  assert.match(p[0]!.message, /h1 ↔ h3/);
  assert.match(p[0]!.message, /h2 ↔ h3/);
  assert.doesNotMatch(p[0]!.message, /h1 ↔ h2/);
  assert.deepEqual(p[0]!.hosts.sort(), ['h1', 'h2', 'h3']);
  assert.deepEqual(errors(run(hs, 'vxlan')), [], 'vxlan does not need L2 adjacency');
});

test('Network overlapping a host address or route is refused, flannel/docker0 state is not', () => {
  const hs = hosts({
    h1: { ...good(0), extraAddrs: [{ dev: 'eth1', cidr: '10.244.3.5/24' }] },
    h2: { ...good(1), extraRoutes: [{ dst: '10.0.0.0/8', gateway: '198.18.1.1', dev: 'eth0', flags: [] }] },
    h3: {
      ...good(2), docker0: '10.244.9.1/24',
      extraAddrs: [{ dev: 'flannel.1', cidr: '10.244.9.0/32' }],
      extraRoutes: [
        { dst: '10.244.5.0/24', gateway: '10.244.5.0', dev: 'flannel.1', flags: ['onlink'] },
        { dst: '10.244.6.0/24', gateway: '198.18.1.11', dev: 'eth0', flags: [] },
      ],
    },
  });
  const p = errors(run(hs));
  assert.equal(p.length, 2, formatProblems(p));
  assert.deepEqual(p.map((x) => x.hosts[0]), ['h1', 'h2']);
  assert.match(p[0]!.message, /eth1's address 10\.244\.3\.5\/24/);
  assert.match(p[1]!.message, /route 10\.0\.0\.0\/8 via 198\.18\.1\.1/);
});

test('daemon.json bip/mtu, unreachable etcd, wrong arch, no systemd, invalid config', () => {
  const hs = hosts({
    h1: { ...good(0), daemonJson: '{"bip": "172.30.0.1/16", "mtu": 1400}' },
    h2: { ...good(1), etcd: { '198.18.1.10:2379': false } },
    h3: { ...good(2), machine: 'aarch64', pid1: 'init' },
  });
  const p = errors(run(hs));
  const by = (check: string) => p.filter((x) => x.check === check);
  assert.match(by('docker')[0]!.message, /^\/etc\/docker\/daemon\.json:1 sets "bip": 172\.30\.0\.1\/16; \/etc\/docker\/daemon\.json:1 sets "mtu": 1400: Docker refuses/);
  assert.deepEqual(by('docker')[0]!.hosts, ['h1']);
  assert.deepEqual(by('etcd')[0]!.hosts, ['h2']);
  assert.match(by('platform')[0]!.message, /aarch64/);
  assert.deepEqual(by('systemd')[0]!.hosts, ['h3']);
  const bad = errors(run(hosts({ h1: good(0) }), 'vxlan', { Network: '10.244.0.0/30' }));
  assert.equal(bad[0]!.check, 'network-config');
  assert.match(bad[0]!.message, /network is too small/);
});

test('Docker settings from /etc/default/docker and a drop-in are refused naming file and line (issue 9.1)', () => {
  const debianUnit = '# /lib/systemd/system/docker.service\n[Unit]\nDescription=Docker\n[Service]\nType=notify\nEnvironmentFile=-/etc/default/docker\nExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS\n';
  const hs = hosts({
    h1: { ...good(0), dockerUnit: debianUnit, envFiles: { '/etc/default/docker': '# Docker Upstart and SysVinit configuration file\n\nDOCKER_OPTS="--bip=10.99.5.1/24 --ip-masq=false --mtu=1472"\n' } },
    h2: { ...good(1), dockerUnit: debianUnit + '\n# /etc/systemd/system/docker.service.d/10-machine.conf\n[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376 --bip=10.1.2.1/24 \\\n  --mtu=1450 --label provider=generic\n' },
    h3: { ...good(2), dockerUnit: debianUnit, envFiles: { '/etc/default/docker': 'DOCKER_OPTS="--dns 10.0.0.2"\n' } },
  });
  const p = errors(run(hs)).filter((x) => x.check === 'docker');
  assert.deepEqual(p.map((x) => x.hosts[0]), ['h1', 'h2', 'h2']);
  assert.match(p[2]!.message, /10-machine\.conf:2 sets ExecStart= and sorts after flanprov's \/etc\/systemd\/system\/docker\.service\.d\/10-flannel\.conf/);
  assert.match(p[0]!.message, /dockerd already gets --bip, --ip-masq, --mtu from outside flanprov: \/etc\/default\/docker:3 \(DOCKER_OPTS\) sets --bip=10\.99\.5\.1\/24; \/etc\/default\/docker:3 \(DOCKER_OPTS\) sets --ip-masq=false;/);
  assert.match(p[0]!.message, /remove them from \/etc\/default\/docker \(keep every other flag\)/);
  assert.match(p[1]!.message, /\/etc\/systemd\/system\/docker\.service\.d\/10-machine\.conf:3 sets --bip=10\.1\.2\.1\/24; \/etc\/systemd\/system\/docker\.service\.d\/10-machine\.conf:3 sets --mtu=1450/);
});

test('some etcd endpoints unreachable is a warning; duplicate public IPs an error; MTU too small', () => {
  const hs = hosts({
    h1: { ...good(0), etcd: { '198.18.1.10:2379': true, '198.18.1.20:2379': false } },
    h2: { ...good(1), mtu: 600 },
  }, { publicIp: '198.18.1.50' });
  const p = run(hs);
  assert.ok(p.some((x) => x.check === 'etcd' && x.severity === 'warning'));
  const dup = p.find((x) => x.check === 'public-ip')!;
  assert.deepEqual(dup.hosts, ['h1', 'h2']);
  assert.ok(p.some((x) => x.check === 'mtu' && x.severity === 'error' && x.hosts[0] === 'h2'));
});

test('flannel_docker: true without Docker; auto without Docker is fine', () => {
  const noDocker = { ...good(0), dockerUnit: '' };
  const f = hosts({ h1: noDocker }, { docker: true });
  f[0]!.facts.docker.unit = undefined;
  assert.ok(errors(run(f)).some((x) => x.check === 'docker'));
  const a = hosts({ h1: noDocker });
  a[0]!.facts.docker.unit = undefined;
  assert.deepEqual(errors(run(a)), []);
});

test('a cni host gets the CNI checks (and no Docker ones: daemon.json with bip is not its business)', () => {
  const hs = hosts({ h1: { ...good(0), daemonJson: '{"bip":"10.1.0.1/24"}' }, h2: good(1), h3: good(2) }, { runtime: 'cni' });
  hs[0]!.cni = parseCniFacts(cniOutput({ link: 'symlink /usr/local/bin/flanneld', plugins: ['/usr/lib/cni/bridge'] }));
  hs[1]!.cni = parseCniFacts(cniOutput({ link: 'symlink /usr/local/bin/flanneld' }));
  const p = errors(run(hs));
  assert.deepEqual(p.map((x) => [x.check, x.hosts]), [['cni-plugins', ['h1']], ['cni', ['h3']]]);
  assert.match(p[0]!.message, /host-local, portmap not found/);
});
