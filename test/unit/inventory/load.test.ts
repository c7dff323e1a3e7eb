import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadInventory, loadInventoryText, parseIfaceSelector } from '../../../src/inventory/load.js';
import { InventoryError } from '../../../src/inventory/errors.js';
import { ExitCode } from '../../../src/util/errors.js';

const F = '/inv/inventory.yml';
const load = (text: string, env: NodeJS.ProcessEnv = {}, limit?: string) =>
  loadInventoryText(text, F, { env, home: '/home/u', localUser: 'u', systemSshConfig: null, ...(limit ? { limit } : {}) });
/** where a hop goes and as whom */
const hopOf = (j: { host: string; port: number; user: string }) => ({ host: j.host, port: j.port, user: j.user });
const errorOf = (text: string, env: NodeJS.ProcessEnv = {}): InventoryError => {
  try { load(text, env); } catch (e) { assert.ok(e instanceof InventoryError, String(e)); return e; }
  assert.fail('expected an InventoryError');
};

test('Ansible precedence: all < parent < child, siblings alphabetical, host vars last', () => {
  const c = load(`
all:
  vars: { flannel_network: 10.244.0.0/16, flannel_healthz_port: 1000, flannel_bin_dir: /all, flannel_etcd_endpoints: http://e:2379 }
  children:
    dc:
      vars: { flannel_healthz_port: 2000, flannel_bin_dir: /dc }
      children:
        rack:
          vars: { flannel_healthz_port: 3000 }
          hosts:
            n1: { flannel_bin_dir: /host }
            n2:
    zeta:
      vars: { flannel_public_ip: 10.0.0.9, flannel_healthz_port: 9000 }
      hosts: { n3: }
    alpha:
      vars: { flannel_public_ip: 10.0.0.1 }
      hosts: { n2: , n3: }
`);
  const h = Object.fromEntries(c.hosts.map((x) => [x.name, x]));
  // n1: rack (depth 2) beats dc (depth 1) beats all; host var beats groups
  assert.equal(h.n1!.flannel.healthzPort, 3000);
  assert.equal(h.n1!.flannel.binDir, '/host');
  // n2 in rack (depth 2) and alpha (depth 1): deeper group wins for healthz; alpha sets the public ip
  assert.equal(h.n2!.flannel.healthzPort, 3000);
  assert.equal(h.n2!.flannel.binDir, '/dc');
  assert.equal(h.n2!.flannel.publicIp, '10.0.0.1');
  // n3 in alpha and zeta (both depth 1): alphabetical, the later name (zeta) wins
  assert.equal(h.n3!.flannel.publicIp, '10.0.0.9');
  assert.equal(h.n3!.flannel.healthzPort, 9000);
  assert.deepEqual(h.n2!.groups, ['all', 'alpha', 'dc', 'rack']);
});

test('nodes group selects agent hosts; an etcd group without endpoints is an etcd flanprov runs', () => {
  const c = load(`
all:
  vars: { flannel_network: 10.244.0.0/16 }
  children:
    etcd: { hosts: { e1: { ansible_host: 10.1.0.1 }, e2: { flannel_etcd_address: 10.1.0.2 } } }
    nodes: { hosts: { n1: , n2: } }
`);
  assert.deepEqual(c.hosts.map((h) => h.name), ['n1', 'n2']);
  assert.deepEqual(c.allHostNames, ['e1', 'e2', 'n1', 'n2']);
  assert.deepEqual(c.etcd.endpoints, ['https://10.1.0.1:2379', 'https://10.1.0.2:2379']);
  assert.deepEqual(c.etcd.managed?.members.map((m) => [m.name, m.address, m.host.connection.host]), [['e1', '10.1.0.1', '10.1.0.1'], ['e2', '10.1.0.2', 'e2']]);
  assert.equal(c.etcd.prefix, '/coreos.com/network');
  assert.deepEqual(c.networkConfig, { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
});

test('YAML 1.1 booleans (yes/no) as Ansible reads them; endpoints as a comma string', () => {
  const c = load(`
all:
  vars: { flannel_network: 10.244.0.0/16, flannel_direct_routing: yes, flannel_ip_masq: no, flannel_docker: off, flannel_etcd_endpoints: "http://a:2379, http://b:2379" }
  hosts: { n1: }
`);
  assert.equal(c.network.directRouting, true);
  assert.equal(c.hosts[0]!.flannel.ipMasq, false);
  assert.equal(c.hosts[0]!.flannel.docker, false);
  assert.deepEqual(c.etcd.endpoints, ['http://a:2379', 'http://b:2379']);
  assert.deepEqual(c.networkConfig, { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', DirectRouting: true } });
});

test('typo in a flannel_* key: file:line:col, key, did you mean', () => {
  const e = errorOf(`all:
  vars:
    flannel_network: 10.244.0.0/16
    flannel_etcd_endpoint: http://e:2379
  hosts: { n1: }
`);
  assert.match(e.message, /^\/inv\/inventory\.yml:4:5: flannel_etcd_endpoint: unknown flannel setting \(did you mean "flannel_etcd_endpoints"\?\)/m);
  assert.equal(e.exitCode, ExitCode.INVALID_INPUT);
});

test('wrong type points at the group var where it was written, reported once for all hosts', () => {
  const e = errorOf(`all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: http://e:2379 }
  children:
    nodes:
      vars:
        flannel_vni: one
        flannel_backend: vxlan-ish
      hosts: { n1: , n2: }
`);
  assert.equal(e.issues.length, 2);
  assert.match(e.message, /inventory\.yml:6:9: flannel_vni: must be an integer; got "one"/);
  assert.match(e.message, /inventory\.yml:7:9: flannel_backend: must be one of vxlan, host-gw; got "vxlan-ish"/);
});

test('a literal become password is refused; an env lookup is read from the environment', () => {
  const e = errorOf(`all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: http://e:2379, ansible_become: true }
  hosts:
    n1: { ansible_become_password: hunter2 }
`);
  assert.match(e.message, /inventory\.yml:4:11: ansible_become_password: a literal password in the inventory is refused/);
  assert.doesNotMatch(e.message, /hunter2/);
  const text = `all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: http://e:2379, ansible_become: yes, ansible_user: deb }
  hosts:
    n1: { ansible_become_password: "{{ lookup('env', 'SUDO_PW') }}" }
`;
  assert.equal(load(text, { SUDO_PW: 's3cret' }).hosts[0]!.connection.becomePassword, 's3cret');
  assert.match(errorOf(text).message, /4:11: ansible_become_password: environment variable SUDO_PW is not set/);
  assert.match(errorOf(text.replace('n1: {', 'n1: { ansible_password: x,')).message, /ansible_password: a literal password in the inventory is refused/);
});

test('a cluster-wide setting that differs between hosts names host, key and both places', () => {
  const e = errorOf(`all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: http://e:2379 }
  hosts:
    n1:
    n2: { flannel_backend: host-gw }
    n3: { flannel_public_ip: 10.0.0.3 }
`);
  assert.equal(e.issues.length, 1);
  assert.match(e.message, /inventory\.yml:5:11: flannel_backend: cluster-wide setting differs between hosts: n2 has "host-gw" \(\/inv\/inventory\.yml:5:11\), n1 has unset; every node must use the same value/);
});

test('ssh args: ProxyJump, known hosts file, strict checking; ansible_port wins over -o Port', () => {
  const c = load(`all:
  vars:
    flannel_network: 10.244.0.0/16
    flannel_etcd_endpoints: [http://e:2379]
    ansible_user: ops
    ansible_ssh_common_args: "-o ProxyJump=jump@bastion:2222,10.0.0.1 -o UserKnownHostsFile=./kh -o StrictHostKeyChecking=accept-new -o Port=2200 -i ~/.ssh/lab"
  hosts:
    n1: { ansible_host: 10.0.0.11 }
    n2: { ansible_port: 2201 }
`);
  const [n1, n2] = c.hosts;
  // a jump host without a user logs in as the local user (or its ssh_config User), as OpenSSH's -J does
  assert.deepEqual(n1!.connection.proxyJump.map(hopOf), [{ host: 'bastion', port: 2222, user: 'jump' }, { host: '10.0.0.1', port: 22, user: 'u' }]);
  assert.equal(n1!.connection.knownHostsFile, '/inv/kh');
  assert.equal(n1!.connection.strictHostKeyChecking, 'accept-new');
  assert.deepEqual(n1!.connection.identityFiles, ['/home/u/.ssh/lab']);
  assert.equal(n1!.connection.port, 2200);
  assert.equal(n1!.connection.host, '10.0.0.11');
  assert.equal(n2!.connection.port, 2201);
  assert.equal(n2!.connection.host, 'n2');
  assert.match(errorOf(`all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: http://e:2379, ansible_ssh_common_args: "-o ProxyCommand='nc %h %p'" }
  hosts: { n1: }
`).message, /2:82: ansible_ssh_common_args: ProxyCommand is not supported/);
});

test('YAML syntax errors and structure errors carry positions', () => {
  assert.match(errorOf('all:\n  hosts:\n    n1: {\n').message, /^\/inv\/inventory\.yml:\d+:\d+: YAML syntax error/);
  assert.match(errorOf('all:\n  host:\n    n1:\n').message, /2:3: host: unexpected key in group "all": only hosts, children and vars are valid \(did you mean "hosts"\?\)/);
  assert.match(errorOf('all:\n  hosts: { n1: }\n').message, /flannel_network: is required/);
});

test('flannel_iface: name, IP or /regex/', () => {
  assert.deepEqual(parseIfaceSelector('eth1'), { kind: 'name', value: 'eth1' });
  assert.deepEqual(parseIfaceSelector('10.0.0.5'), { kind: 'ip', value: '10.0.0.5' });
  assert.deepEqual(parseIfaceSelector('/^en.*/'), { kind: 'regex', value: '^en.*' });
  assert.match(parseIfaceSelector('10.0.0.500') as string, /not a valid IPv4/);
  assert.match(parseIfaceSelector('a-very-long-interface-name') as string, /not an interface name/);
  assert.match(parseIfaceSelector('/(/') as string, /not a valid regular expression/);
});

test('--limit: names, groups, globs, exclusions', () => {
  const text = `all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: http://e:2379 }
  children:
    nodes: { hosts: { n1: , n2: , n3: } }
    edge: { hosts: { n3: } }
`;
  assert.deepEqual(load(text, {}, 'n1,n3').hosts.map((h) => h.name), ['n1', 'n3']);
  assert.deepEqual(load(text, {}, 'nodes:!edge').hosts.map((h) => h.name), ['n1', 'n2']);
  assert.deepEqual(load(text, {}, 'n*:!n2').hosts.map((h) => h.name), ['n1', 'n3']);
  assert.throws(() => load(text, {}, 'zz'), /matches no host or group/);
});

test('the example inventories load', () => {
  const dir = join(__dirname, '../../../inventories');
  const opts = { env: {}, home: '/home/u', localUser: 'u', systemSshConfig: null };
  const v = loadInventory(join(dir, 'vxlan-3-nodes.yml'), opts);
  assert.deepEqual(v.hosts.map((h) => h.name), ['node1', 'node2', 'node3']);
  assert.equal(v.etcd.endpoints.length, 3);
  assert.deepEqual(v.networkConfig, { Network: '10.244.0.0/16', SubnetLen: 24, Backend: { Type: 'vxlan', VNI: 1, Port: 8472, DirectRouting: false } });
  assert.ok(v.hosts[2]!.agentFlags.includes('-iface-regex=^(eth|ens)1$'));
  const g = loadInventory(join(dir, 'host-gw-2-nodes.yml'), opts);
  assert.equal(g.etcd.prefix, '/docker-test/network');
  assert.equal(g.network.backend, 'host-gw');
  assert.deepEqual(g.hosts.map((h) => hopOf(h.connection.proxyJump[0]!)), [{ host: 'bastion.example.com', port: 2222, user: 'ops' }, { host: 'bastion.example.com', port: 2222, user: 'ops' }]);
  assert.ok(g.hosts[0]!.agentFlags.includes('-etcd-prefix=/docker-test/network'));
});

test('etcd password only from the environment, into the agent env file, never into flags', () => {
  const c = load(`all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: http://e:2379, flannel_etcd_username: flannel, flannel_etcd_password: "{{ lookup('env', 'ETCD_PW') }}" }
  hosts: { n1: }
`, { ETCD_PW: 'pw' });
  assert.deepEqual(c.hosts[0]!.agentEnv, { FLANNELD_ETCD_PASSWORD: 'pw' });
  assert.ok(c.hosts[0]!.agentFlags.includes('-etcd-username=flannel'));
  assert.ok(!c.hosts[0]!.agentFlags.join(' ').includes('pw '));
});

test('flannel_transfer_compression: auto by default (docs/transfer.md), per host or group; flannel_agent_source and its settings', () => {
  const c = load(`
all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: http://e:2379 }
  children:
    wan:
      vars: { flannel_transfer_compression: gzip, flannel_agent_source: url, flannel_agent_url: 'https://mirror.example/flanneld.xz' }
      hosts: { w1: , w2: { flannel_transfer_compression: sftp, flannel_agent_proxy: 'http://proxy.example:3128' } }
  hosts:
    n1:
    n2: { flannel_transfer_compression: none, flannel_agent_source: peers, flannel_agent_serve_port: 9000, flannel_agent_peer_compression: true }
    n3: { flannel_transfer_compression: true }
    n4: { flannel_transfer_compression: xz }
`);
  const t = Object.fromEntries(c.hosts.map((x) => [x.name, x.flannel.transfer]));
  assert.deepEqual(t, { n1: 'auto', n2: 'plain', n3: 'auto', n4: 'xz', w1: 'gzip', w2: 'sftp' });
  const src = Object.fromEntries(c.hosts.map((x) => [x.name, x.flannel.agentSource]));
  assert.deepEqual(src.n1, { kind: 'auto', servePort: 8473, peerCompression: false });
  assert.deepEqual(src.n2, { kind: 'peers', servePort: 9000, peerCompression: true });
  assert.deepEqual(src.w1, { kind: 'url', servePort: 8473, peerCompression: false, url: 'https://mirror.example/flanneld.xz' });
  assert.deepEqual(src.w2, { kind: 'url', servePort: 8473, peerCompression: false, url: 'https://mirror.example/flanneld.xz', proxy: 'http://proxy.example:3128' });
});

test('flannel_agent_source: url without flannel_agent_url, a URL that is not http(s), an unknown source: named with their place', () => {
  const bad = (vars: string): string => {
    try {
      load(`all:\n  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: http://e:2379 }\n  hosts:\n    n1: ${vars}\n`);
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  assert.match(bad('{ flannel_agent_source: url }'), /flannel_agent_source.*is url but flannel_agent_url is not set/s);
  assert.match(bad("{ flannel_agent_url: 'ftp://m/flanneld' }"), /flannel_agent_url.*must be an http:\/\/ or https:\/\/ URL/s);
  assert.match(bad('{ flannel_agent_source: rsync }'), /flannel_agent_source.*must be auto, push, url or peers/s);
  assert.match(bad("{ flannel_agent_proxy: 'proxy:3128' }"), /flannel_agent_proxy.*must be an HTTP proxy URL/s);
  assert.match(bad('{ flannel_transfer_compression: zstd }'), /flannel_transfer_compression.*auto, xz, gzip, none or sftp/s);
});

test('flannel_runtime: docker by default, cni per host or group with the CNI settings; contradictions and bad values refused', () => {
  const c = load(`
all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: http://e:2379 }
  children:
    podman:
      vars: { flannel_runtime: cni, flannel_cni_network: pods, flannel_cni_version: 0.4.0 }
      hosts: { n2: , n3: { flannel_cni_bin_dir: /usr/libexec/cni/ } }
    rest:
      hosts: { n1: }
`);
  const h = Object.fromEntries(c.hosts.map((x) => [x.name, x.flannel]));
  assert.equal(h.n1!.runtime, 'docker');
  assert.deepEqual(h.n1!.cni, { binDir: '/opt/cni/bin', network: 'flannel', version: '1.0.0' });
  assert.equal(h.n2!.runtime, 'cni');
  assert.deepEqual(h.n2!.cni, { binDir: '/opt/cni/bin', network: 'pods', version: '0.4.0' });
  assert.equal(h.n3!.cni.binDir, '/usr/libexec/cni');
  const e = errorOf(`
all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: http://e:2379 }
  hosts:
    n1: { flannel_runtime: containerd }
    n2: { flannel_runtime: cni, flannel_docker: true }
    n3: { flannel_cni_network: "-x", flannel_cni_version: 0.2.0, flannel_cni_bin_dir: opt/cni }
`);
  assert.equal(e.exitCode, ExitCode.INVALID_INPUT);
  assert.match(e.message, /flannel_runtime: must be docker or cni; got "containerd"/);
  assert.match(e.message, /flannel_cni_network: must be a CNI network name/);
  assert.match(e.message, /flannel_cni_version: must be one of 0.3.1, 0.4.0, 1.0.0; got "0.2.0"/);
  assert.match(e.message, /flannel_cni_bin_dir: must be an absolute directory/);
});

test('flannel_docker: true on a cni host names both', () => {
  const e = errorOf(`
all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: http://e:2379 }
  hosts:
    n1: { flannel_runtime: cni, flannel_docker: true }
`);
  assert.match(e.message, /inventory.yml:\d+:\d+: flannel_docker: is true on a host with flannel_runtime: cni/);
});

test('a float where an integer belongs is refused (Ansible keeps 24.0 a float; flannel and ssh refuse it); floats in text keep their dot', () => {
  const e = errorOf(`all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: "http://e:{{ etcd_port }}", etcd_port: 2379.0, flannel_subnet_len: 24.0 }
  hosts: { n1: { ansible_port: 22.0, flannel_mtu: 1450.5 } }
`);
  assert.match(e.message, /2:\d+: flannel_subnet_len: must be an integer; got the float 24\.0 \(Ansible keeps it a float, and flannel and ssh refuse one\): write 24/);
  assert.match(e.message, /3:\d+: ansible_port: must be an integer; got the float 22\.0 .*: write 22/);
  assert.match(e.message, /flannel_mtu: must be an integer; got the float 1450\.5 \(Ansible/);
  const url = errorOf(`all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: "http://e:{{ etcd_port }}", etcd_port: 2379.0 }
  hosts: { n1: }
`);
  assert.match(url.message, /flannel_etcd_endpoints: "http:\/\/e:2379\.0" is not an etcd URL/);
});
