import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFactsScript, parseEtcdEndpoint } from '../../../../src/phases/shared/facts.js';
import { parseSections } from '../../../../src/remote/sections.js';
import { splitSystemctlCat } from '../../../../src/phases/shared/docker-unit.js';
import { serviceDirectives } from '../../../../src/phases/shared/docker-sources.js';

const effectiveExecStart = (f: Parameters<typeof serviceDirectives>[0], exclude: string[] = []) => serviceDirectives(f, exclude).execStart?.command;
import { chooseInterface } from '../../../../src/phases/shared/iface.js';
import { agentStatusFixture } from '../../../fixtures/agent-status.js';
import { facts } from './fixtures.js';

test('sections: markers split output, args kept, text before the first marker ignored', () => {
  const s = parseSections('noise\n::fp:: a\n1\n2\n\n::fp:: file /etc/x y\nbody\n');
  assert.deepEqual(s, [
    { name: 'a', arg: '', body: '1\n2' },
    { name: 'file', arg: '/etc/x y', body: 'body' },
  ]);
});

test('facts: parses a lab host', () => {
  const f = facts('h1', {
    ip: '198.18.1.11',
    routeGet: { '198.18.1.12': { dev: 'eth0' }, '198.19.1.13': { gateway: '198.18.1.1', dev: 'eth0' }, '1.2.3.4': 'RTNETLINK answers: Network is unreachable' },
    etcd: { '198.18.1.10:2379': true, '198.18.1.11:2379': false },
    daemonJson: '{"log-level":"warn"}',
    subnetEnv: 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true',
    docker0: '10.244.7.1/24',
    files: { '/etc/systemd/system/flanneld.service': { sha: 'a'.repeat(64), mode: '644', content: '[Unit]\n' } },
    status: agentStatusFixture(['vxlan'], { subnet: '10.244.7.0/24' }),
  });
  assert.equal(f.kernelName, 'Linux');
  assert.equal(f.machine, 'x86_64');
  assert.equal(f.os.id, 'debian');
  assert.equal(f.os.prettyName, 'Debian GNU/Linux 12 (bookworm)');
  assert.equal(f.systemdPid1, true);
  assert.equal(f.systemdVersion, 252);
  assert.equal(f.docker.installed, true);
  assert.equal(f.docker.unit?.active, 'active');
  assert.equal(f.docker.unit?.mainPid, 321);
  assert.equal(f.docker.execStart, '/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS');
  assert.deepEqual(f.docker.daemonJson, { 'log-level': 'warn' });
  assert.deepEqual(f.docker.bridge, { addr: '10.244.7.1/24', mtu: 1500 });
  assert.equal(f.agent.unit, undefined, 'a not-found unit is no unit');
  assert.deepEqual(f.defaultRoute, { dev: 'eth0', gateway: '198.18.1.1' });
  assert.equal(f.routes[0]!.dst, '0.0.0.0/0');
  assert.equal(f.interfaces.find((i) => i.name === 'eth0')!.addrs[0]!.ip, '198.18.1.11');
  assert.equal((f.routeGet.get('198.18.1.12') as { gateway?: string }).gateway, undefined);
  assert.equal((f.routeGet.get('198.19.1.13') as { gateway?: string }).gateway, '198.18.1.1');
  assert.match((f.routeGet.get('1.2.3.4') as { error: string }).error, /unreachable/);
  assert.equal(f.etcdReach.get('198.18.1.10:2379'), true);
  assert.equal(f.etcdReach.get('198.18.1.11:2379'), false);
  assert.equal(f.subnetEnv?.mtu, 1450);
  assert.equal(f.subnetEnv?.subnet?.prefixLen, 24);
  const file = f.files.get('/etc/systemd/system/flanneld.service');
  assert.equal(file?.mode, 0o644);
  assert.equal(file?.content, '[Unit]\n');
  assert.equal(f.agent.status?.ready, true);
  assert.deepEqual(f.forward, { policy: 'DROP', flannelFwd: true });
});

test('facts: invalid daemon.json is reported, not thrown', () => {
  const f = facts('h1', { ip: '198.18.1.11', daemonJson: '{"bip": ' });
  assert.equal(f.docker.daemonJson, undefined);
  assert.ok(f.docker.daemonJsonError);
});

test('facts script: every probe is present and quoted', () => {
  const s = buildFactsScript({
    agentPath: '/usr/local/bin/flanneld', files: ["/etc/it's"], peers: ['198.18.1.12'],
    etcd: [{ url: 'http://198.18.1.10:2379', host: '198.18.1.10', port: 2379 }], healthzPort: 8471,
  });
  // the parameters as quoted assignments (src/remote/remote-script.ts), the probes in facts.sh (run in test/unit/remote/scripts/)
  for (const want of ["FILES=('/etc/it'\\''s')", "PEERS=('198.18.1.12')", "ETCD=('198.18.1.10:2379')", "HEALTHZ_PORT='8471'", "AGENT_PATH='/usr/local/bin/flanneld'", 'ip -force -j -batch -', 'systemctl cat docker.service', 'ip -j -4 addr show']) {
    assert.ok(s.includes(want), `script has ${want}`);
  }
});

test('etcd endpoints parse', () => {
  assert.deepEqual(parseEtcdEndpoint('http://198.18.1.10:2379'), { url: 'http://198.18.1.10:2379', host: '198.18.1.10', port: 2379 });
  assert.deepEqual(parseEtcdEndpoint('https://etcd.example:4001/'), { url: 'https://etcd.example:4001/', host: 'etcd.example', port: 4001 });
  assert.equal(parseEtcdEndpoint('https://etcd.example')?.port, 2379);
  assert.equal(parseEtcdEndpoint('http://a b'), undefined);
});

test('docker unit: our drop-in is left out, ExecStart= resets, continuations join', () => {
  const text = [
    '# /lib/systemd/system/docker.service',
    '[Service]',
    'ExecStart=/usr/sbin/dockerd -H fd:// \\',
    '   --containerd=/run/containerd/containerd.sock',
    '',
    '# /etc/systemd/system/docker.service.d/05-lab.conf',
    '[Service]',
    'ExecStart=',
    'ExecStart=-/usr/sbin/dockerd -H fd:// --iptables=true',
    '',
    '# /etc/systemd/system/docker.service.d/10-flannel.conf',
    '[Service]',
    'EnvironmentFile=/run/flannel/subnet.env',
    'ExecStart=',
    'ExecStart=/usr/sbin/dockerd -H fd:// --iptables=true --bip=${FLANNEL_SUBNET} --mtu=${FLANNEL_MTU}',
  ].join('\n');
  const frags = splitSystemctlCat(text);
  assert.equal(frags.length, 3);
  assert.equal(effectiveExecStart(frags, ['/etc/systemd/system/docker.service.d/10-flannel.conf']), '/usr/sbin/dockerd -H fd:// --iptables=true');
  assert.match(effectiveExecStart(frags)!, /--bip=\$\{FLANNEL_SUBNET\}/);
  assert.equal(effectiveExecStart(frags.slice(0, 1)), '/usr/sbin/dockerd -H fd://     --containerd=/run/containerd/containerd.sock');
});

test('interface choice: default route, name, IP, regex, public IP', () => {
  const ifaces = [
    { name: 'lo', index: 1, mtu: 65536, up: true, loopback: true, addrs: [{ ip: '127.0.0.1', prefixLen: 8 }] },
    { name: 'eth0', index: 2, mtu: 1500, up: true, loopback: false, addrs: [{ ip: '10.0.2.15', prefixLen: 24 }] },
    { name: 'eth1', index: 3, mtu: 9000, up: true, loopback: false, addrs: [{ ip: '198.18.1.11', prefixLen: 24 }] },
  ];
  const d = chooseInterface(ifaces, 'eth0', []);
  assert.deepEqual(d, { ok: true, iface: { name: 'eth0', ifaceAddr: '10.0.2.15', mtu: 1500, publicIp: '10.0.2.15' } });
  assert.equal((chooseInterface(ifaces, 'eth0', [{ kind: 'name', value: 'eth1' }]) as { iface: { mtu: number } }).iface.mtu, 9000);
  assert.equal((chooseInterface(ifaces, 'eth0', [{ kind: 'ip', value: '198.18.1.11' }]) as { iface: { name: string } }).iface.name, 'eth1');
  assert.equal((chooseInterface(ifaces, 'eth0', [{ kind: 'regex', value: '^198\\.18\\.' }]) as { iface: { name: string } }).iface.name, 'eth1');
  assert.equal((chooseInterface(ifaces, 'eth0', [{ kind: 'regex', value: 'th1$' }]) as { iface: { name: string } }).iface.name, 'eth1');
  assert.equal((chooseInterface(ifaces, 'eth0', [], '203.0.113.5') as { iface: { publicIp: string } }).iface.publicIp, '203.0.113.5');
  const miss = chooseInterface(ifaces, 'eth0', [{ kind: 'name', value: 'ens5' }]);
  assert.equal(miss.ok, false);
  assert.match((miss as { error: string }).error, /ens5/);
  assert.equal(chooseInterface(ifaces, undefined, []).ok, false);
});
