import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cniPluginLink, renderHostFiles, renderDockerDropIn, systemdWord, renderNetworkConfig } from '../../../src/inventory/host-files.js';
import type { HostSpec } from '../../../src/inventory/types.js';

const host = (over: Partial<HostSpec['flannel']> = {}, env: Record<string, string> = {}): Pick<HostSpec, 'name' | 'flannel' | 'agentFlags' | 'agentEnv'> => ({
  name: 'n1',
  flannel: { iface: [], ipMasq: true, docker: 'auto', binDir: '/usr/local/bin', runtime: 'docker', cni: { binDir: '/opt/cni/bin', network: 'flannel', version: '1.0.0' }, healthzPort: 8471, transfer: 'gzip', agentSource: { kind: 'push', servePort: 8473, peerCompression: false }, ...over },
  agentFlags: ['-etcd-endpoints=http://10.0.0.1:2379', '-etcd-prefix=/coreos.com/network', '-iface-regex=^eth[0-9]+$', '-ip-masq=true'],
  agentEnv: env,
});

test('flanneld.service golden text', () => {
  const [unit] = renderHostFiles({ host: host(), docker: false });
  assert.equal(unit!.path, '/etc/systemd/system/flanneld.service');
  assert.equal(unit!.mode, 0o644);
  assert.equal(unit!.content, `# Written by flanprov; changes are overwritten by the next \`flanprov up\`.
[Unit]
Description=flannel network agent (flanprov)
Documentation=https://github.com/flannel-io/flannel
After=network-online.target
Wants=network-online.target
Before=docker.service

[Service]
# flanneld tells systemd READY=1 only after subnet.env is written and routes are programmed. READY=1 is
# sent by systemd-notify, a child process of the agent: systemd must accept it from any PID of the unit.
Type=notify
NotifyAccess=all
ExecStart=/usr/local/bin/flanneld -etcd-endpoints=http://10.0.0.1:2379 -etcd-prefix=/coreos.com/network -iface-regex=^eth[0-9]+$$ -ip-masq=true
Restart=always
RestartSec=5
TimeoutStartSec=300
LimitNOFILE=40000

[Install]
WantedBy=multi-user.target
`);
});

test('docker drop-in golden text, with the host\'s own dockerd command line', () => {
  assert.equal(renderDockerDropIn({ host: host({ ipMasq: false }), docker: true, dockerdCommand: '/usr/bin/dockerd -H fd://' }), `# Written by flanprov: Docker's bridge on this host's flannel subnet. NAT has one owner: Docker's own
# masquerade is off (--ip-masq=false), flanneld's FLANNEL-POSTRTG chain (flannel_ip_masq) does it, so
# container-to-container traffic keeps its source address.
[Unit]
After=flanneld.service
Wants=flanneld.service

[Service]
EnvironmentFile=/run/flannel/subnet.env
ExecStart=
ExecStart=/usr/bin/dockerd -H fd:// --bip=\${FLANNEL_SUBNET} --mtu=\${FLANNEL_MTU} --ip-masq=false
`);
  // Without the host's command line: Debian's default; flannel_ip_masq never changes the drop-in (no Docker restart).
  assert.equal(renderDockerDropIn({ host: host({ ipMasq: true }), docker: true }), renderDockerDropIn({ host: host({ ipMasq: false }), docker: true }));
  assert.match(renderDockerDropIn({ host: host(), docker: true }), /^ExecStart=\/usr\/sbin\/dockerd -H fd:\/\/ --containerd=\/run\/containerd\/containerd.sock \$DOCKER_OPTS --bip=\$\{FLANNEL_SUBNET\} --mtu=\$\{FLANNEL_MTU\} --ip-masq=false$/m);
});

test('secrets go to a 0600 EnvironmentFile, never into ExecStart', () => {
  const files = renderHostFiles({ host: host({}, { FLANNELD_ETCD_PASSWORD: 'p"w' }), docker: true });
  assert.deepEqual(files.map((f) => [f.path, f.mode.toString(8), f.role]), [
    ['/etc/systemd/system/flanneld.service', '644', 'agent-unit'],
    ['/etc/systemd/system/docker.service.d/10-flannel.conf', '644', 'docker-dropin'],
    ['/etc/flannel/flanneld.env', '600', 'agent-env'],
  ]);
  assert.match(files[0]!.content, /^EnvironmentFile=\/etc\/flannel\/flanneld.env$/m);
  assert.ok(!files[0]!.content.includes('p"w'));
  assert.match(files[2]!.content, /^FLANNELD_ETCD_PASSWORD="p\\"w"$/m);
});

test('systemd quoting of ExecStart words; network config JSON', () => {
  assert.equal(systemdWord('-iface-regex=a b'), '"-iface-regex=a b"');
  assert.equal(systemdWord('100%'), '100%%');
  assert.equal(systemdWord('$x'), '$$x');
  assert.equal(renderNetworkConfig({ networkConfig: { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } } }), '{\n  "Network": "10.244.0.0/16",\n  "Backend": {\n    "Type": "vxlan"\n  }\n}\n');
});

test('a cni host: the conflist (network name and version from the inventory), no Docker drop-in; the plugin link beside the agent', () => {
  const h = host({ runtime: 'cni', cni: { binDir: '/opt/cni/bin', network: 'pods', version: '0.4.0' } });
  const files = renderHostFiles({ host: h, docker: false });
  assert.deepEqual(files.map((f) => [f.path, f.role, f.mode]), [
    ['/etc/systemd/system/flanneld.service', 'agent-unit', 0o644],
    ['/etc/cni/net.d/10-flannel.conflist', 'cni-conf', 0o644],
  ]);
  const list = JSON.parse(files[1]!.content);
  assert.equal(list.name, 'pods');
  assert.equal(list.cniVersion, '0.4.0');
  assert.deepEqual(list.plugins.map((p: { type: string }) => p.type), ['flannel', 'portmap']);
  assert.equal(cniPluginLink(h), '/opt/cni/bin/flannel');
  assert.equal(renderHostFiles({ host: host(), docker: true }).some((f) => f.role === 'cni-conf'), false);
});
