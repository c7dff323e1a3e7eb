import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadInventoryText } from '../../../src/inventory/load.js';
import { InventoryError } from '../../../src/inventory/errors.js';
import { defaultPkiDir } from '../../../src/inventory/managed-etcd.js';

const F = '/inv/cluster.yml';
const load = (text: string, env: NodeJS.ProcessEnv = { PATH: '/nonexistent' }, limit?: string) =>
  loadInventoryText(text, F, { env, home: '/home/u', localUser: 'u', ...(limit ? { limit } : {}) });
const issues = (text: string): string[] => {
  try { load(text); } catch (e) { assert.ok(e instanceof InventoryError, String(e)); return e.issues.map((i) => `${i.pos?.line}: ${i.key}: ${i.message}`); }
  assert.fail('expected an InventoryError');
};

test('an etcd group without endpoints: members, https endpoints, the PKI dir next to the inventory, per-agent TLS', () => {
  const c = load(`
all:
  vars: { flannel_network: 10.244.0.0/16 }
  children:
    etcd: { hosts: { e1: { ansible_host: 10.1.0.1 }, n1: } }
    nodes: { hosts: { n1: { ansible_host: 10.1.0.11 }, n2: { ansible_host: 10.1.0.12 } } }
`);
  assert.equal(defaultPkiDir(F, '/inv'), '/inv/cluster.etcd-pki');
  const m = c.etcd.managed!;
  assert.equal(m.pkiDir, '/inv/cluster.etcd-pki');
  assert.equal(m.tls, true);
  assert.deepEqual(m.members.map((x) => [x.name, x.address, x.install, x.binPath, x.binary]), [['e1', '10.1.0.1', 'auto', '/usr/local/bin/etcd', undefined], ['n1', '10.1.0.11', 'auto', '/usr/local/bin/etcd', undefined]]);
  assert.equal(m.members[1]!.host, c.hosts[0], 'a member that is a node shares its spec');
  assert.deepEqual(c.hosts.map((h) => h.name), ['n1', 'n2'], 'an etcd-only member runs no agent');
  assert.deepEqual(c.etcd.endpoints, ['https://10.1.0.1:2379', 'https://10.1.0.11:2379']);
  assert.deepEqual(c.etcd.controllerTls, { caFile: '/inv/cluster.etcd-pki/ca.pem', certFile: '/inv/cluster.etcd-pki/controller.pem', keyFile: '/inv/cluster.etcd-pki/controller-key.pem' });
  const n2 = c.hosts[1]!;
  assert.equal(n2.flannel.etcdCertFile, '/inv/cluster.etcd-pki/agents/n2.pem');
  assert.ok(n2.agentFlags.includes('-etcd-endpoints=https://10.1.0.1:2379,https://10.1.0.11:2379'));
  assert.ok(n2.agentFlags.includes('-etcd-certfile=/etc/flannel/etcd-cert.pem'));
});

test('settings: no TLS, own PKI dir, per-member address, install mode and binary; --limit keeps every member', () => {
  const c = load(`
all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_tls: false, flannel_etcd_pki_dir: ~/pki }
  children:
    etcd: { hosts: { n1: { flannel_etcd_address: 10.2.0.1, flannel_etcd_install: push, flannel_etcd_binary: /bin/sh }, n2: } }
    nodes: { hosts: { n1: { ansible_host: n1.example }, n2: { ansible_host: 10.1.0.12 } } }
`, { PATH: '/nonexistent' }, 'n2');
  const m = c.etcd.managed!;
  assert.equal(m.pkiDir, '/home/u/pki');
  assert.deepEqual(c.etcd.endpoints, ['http://10.2.0.1:2379', 'http://10.1.0.12:2379']);
  assert.deepEqual(m.members.map((x) => [x.name, x.install, x.binary ?? '-']), [['n1', 'push', '/bin/sh'], ['n2', 'auto', '-']]);
  assert.deepEqual(c.hosts.map((h) => h.name), ['n2']);
  assert.equal(c.etcd.controllerTls, undefined);
  assert.equal(c.hosts[0]!.flannel.etcdCertFile, undefined);
});

test('refused: a member without an IPv4 address, the same address twice, TLS files of your own, a missing binary', () => {
  const got = issues(`
all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_cafile: /etc/hosts }
  children:
    etcd:
      hosts:
        n1: { ansible_host: n1.example }
        n2: { ansible_host: 10.1.0.12, flannel_etcd_binary: /no/such/etcd }
        n3: { ansible_host: 10.1.0.12 }
`);
  assert.deepEqual(got.map((g) => g.slice(0, 70)), [
    '3: flannel_etcd_cafile: flanprov runs this etcd cluster itself (group "etcd", no flannel_',
    '7: ansible_host: etcd member n1 needs an IPv4 address to listen on (etcd binds to',
    '9: ansible_host: etcd members n2 and n3 have the same address 10.1.0.12',
    '8: flannel_etcd_binary: file not found: /no/such/etcd',
  ].map((x) => x.slice(0, 70)));
});
