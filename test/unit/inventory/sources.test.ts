import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInventory } from '../../../src/inventory/load.js';
import { InventoryError } from '../../../src/inventory/errors.js';
import { ExitCode, FlanprovError } from '../../../src/util/errors.js';

/** Write files into a fresh directory; returns its path. */
function tree(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'flanprov-inv-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(d, p, '..'), { recursive: true });
    writeFileSync(join(d, p), text);
  }
  return d;
}
const opts = { env: { PW: 'sekret', SUDO: 's2' }, home: '/home/u', localUser: 'u', systemSshConfig: null };
const refusal = (sources: string[], re: RegExp): void => {
  assert.throws(() => loadInventory(sources, opts), (e: unknown) => {
    assert.ok(e instanceof FlanprovError, String(e));
    assert.equal(e.exitCode, ExitCode.INVALID_INPUT);
    assert.match(e instanceof InventoryError ? e.message : `${e.where}: ${e.message}`, re);
    return true;
  });
};

test('an INI inventory with ranges, group_vars/ and host_vars/, templates and INI typing', () => {
  const d = tree({
    'hosts.ini': `[etcd]\netcd1 ansible_host=10.0.0.10\n\n[nodes]\nnode[1:3] ansible_host=10.0.0.1{{ inventory_hostname[-1:] }}\n`.replace('{{ inventory_hostname[-1:] }}', ''),
    'group_vars/all.yml': 'flannel_network: 10.244.0.0/16\nansible_user: "{{ deploy_user | default(\'root\') }}"\nansible_become: "true"\n',
    'group_vars/nodes/net.yml': 'flannel_iface: eth1\nflannel_ip_masq: "no"\n',
    'host_vars/node2.yml': 'deploy_user: ops\nansible_port: "2222"\nansible_password: "{{ lookup(\'env\', \'PW\') }}"\n',
    'host_vars/node3': 'ansible_connection: local\n',
  });
  const c = loadInventory([join(d, 'hosts.ini')], opts);
  assert.deepEqual(c.hosts.map((h) => h.name), ['node1', 'node2', 'node3']);
  // an etcd group without flannel_etcd_endpoints: an etcd flanprov runs (TLS by default, docs/etcd.md)
  assert.deepEqual(c.etcd.endpoints, ['https://10.0.0.10:2379']);
  assert.deepEqual(c.etcd.managed?.members.map((m) => m.name), ['etcd1']);
  const [n1, n2, n3] = c.hosts;
  assert.equal(n1!.connection.user, 'root');
  assert.equal(n2!.connection.user, 'ops');
  assert.equal(n2!.connection.port, 2222);
  assert.equal(n2!.connection.password, 'sekret');
  assert.equal(n1!.connection.password, undefined);
  assert.equal(n1!.connection.become, true);
  assert.equal(n1!.flannel.ipMasq, false);
  assert.deepEqual(n1!.flannel.iface, [{ kind: 'name', value: 'eth1' }]);
  assert.equal(n3!.connection.transport, 'local');
  assert.equal(n1!.connection.transport, 'ssh');
});

test('legacy ansible_ssh_* names win over the new ones (as Ansible)', () => {
  const d = tree({ 'inv.ini': "[nodes]\nn1 ansible_ssh_host=10.0.0.1 ansible_host=10.9.9.9 ansible_ssh_port=2222 ansible_ssh_user=old ansible_user=new ansible_ssh_pass=\"{{ lookup('env', 'PW') }}\"\n[all:vars]\nflannel_network=10.244.0.0/16\nflannel_etcd_endpoints=http://e:2379\n" });
  const h = loadInventory([join(d, 'inv.ini')], opts).hosts[0]!;
  assert.deepEqual([h.connection.host, h.connection.port, h.connection.user, h.connection.password], ['10.0.0.1', 2222, 'old', 'sekret']);
});

test('-i several times and an inventory directory merge as in Ansible', () => {
  const d = tree({
    'a.yml': 'all:\n  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: "http://e:2379" }\n  children:\n    nodes: { hosts: { n1: , n2: } }\n',
    'b.ini': '[nodes]\nn3\n[nodes:vars]\nflannel_iface=eth2\n',
    'dir/01.yml': 'all:\n  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: "http://e:2379" }\n  hosts: { d1: }\n',
    'dir/02.ini': '[x]\nignored\n',
  });
  const c = loadInventory([join(d, 'a.yml'), join(d, 'b.ini')], opts);
  assert.deepEqual(c.hosts.map((h) => [h.name, h.flannel.iface[0]?.value]), [['n1', 'eth2'], ['n2', 'eth2'], ['n3', 'eth2']]);
  assert.deepEqual(loadInventory([join(d, 'dir')], opts).allHostNames, ['d1']);
});

test('refusals name file:line:col, the feature, and what to write instead (exit 2)', () => {
  const d = tree({
    'badsection.ini': '[nodes]\nn1\n[nodes:child]\n',
    'undef.ini': '[nodes:children]\nworkers\n',
    'undefvars.ini': '[ghost:vars]\nx=1\n',
    'badrange.ini': '[nodes]\nweb[01:3]\n',
    'novalue.ini': '[nodes]\nn1 flag\n',
    'plugin.yml': 'plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n',
    'inv.toml': '[all.hosts]\n',
    'script': '#!/bin/sh\necho {}\n',
    'filter.ini': "[nodes]\nn1\n[all:vars]\nflannel_network=10.244.0.0/16\nflannel_etcd_endpoints=http://e:2379\nflannel_iface={{ nic | upper }}\nnic=eth0\n",
    'complex.ini': '[nodes]\nn1 flannel_vni=1j\n[all:vars]\nflannel_network=10.244.0.0/16\nflannel_etcd_endpoints=http://e:2379\n',
    'stamp.yml': 'all:\n  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: "http://e:2379", flannel_public_ip: 2001-12-14 }\n  hosts: { n1: }\n',
    'literalpw.ini': '[nodes]\nn1 ansible_password=hunter2\n[all:vars]\nflannel_network=10.244.0.0/16\nflannel_etcd_endpoints=http://e:2379\n',
    'loop.yml': 'all:\n  children:\n    a: { children: { b: { children: { a: } } } }\n',
  });
  chmodSync(join(d, 'script'), 0o755);
  const f = (n: string): string[] => [join(d, n)];
  refusal(f('badsection.ini'), /badsection\.ini:3:1: \[nodes:child\]: section type "child" is unknown: write \[nodes\], \[nodes:vars\] or \[nodes:children\]/);
  refusal(f('undef.ini'), /undef\.ini:2:1: workers: \[nodes:children\] names group "workers", which is not defined: add a \[workers\] section/);
  refusal(f('undefvars.ini'), /undefvars\.ini:1:1: \[ghost:vars\]: group "ghost" is not defined/);
  refusal(f('badrange.ini'), /badrange\.ini:2:1: web\[01:3\]: .*equal-length/);
  refusal(f('novalue.ini'), /novalue\.ini:2:4: flag: expected key=value/);
  refusal(f('plugin.yml'), /plugin\.yml:1:1: plugin: inventory plugin "amazon\.aws\.aws_ec2" is not supported/);
  refusal(f('inv.toml'), /inv\.toml:1:1: TOML inventories are not supported/);
  refusal(f('script'), /script:1:1: dynamic inventory scripts are not supported/);
  refusal(f('filter.ini'), /filter\.ini:6:1: flannel_iface: .*filter 'upper' is not supported/);
  refusal(f('complex.ini'), /complex\.ini:2:4: flannel_vni: the INI value 1j \(complex numbers .*\) is not supported here/);
  refusal(f('stamp.yml'), /stamp\.yml:2:\d+: flannel_public_ip: the timestamp 2001-12-14 \(quote it to keep it a string\) is not supported here/);
  refusal(f('literalpw.ini'), /literalpw\.ini:2:4: ansible_password: a literal password in the inventory is refused: write "\{\{ lookup\('env', 'VAR'\) \}\}"/);
  refusal(f('loop.yml'), /loop\.yml:3:\d+: a: group loop: all -> a -> b -> a/);
  refusal([join(d, 'missing.ini')], /missing\.ini: cannot read the inventory: no such file or directory/);
});
