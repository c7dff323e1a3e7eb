import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setInventoryBackend } from '../../../../src/phases/switch/update-inventory.js';
import { loadInventoryText } from '../../../../src/inventory/load.js';

const inv = `# my cluster   (comments, odd spacing and quotes must survive)
all:
  vars:
    ansible_user: root
    flannel_network: 10.244.0.0/16
    flannel_backend:   vxlan    # changed by hand in 2024
    flannel_etcd_endpoints: "http://198.18.1.10:2379"
  children:
    nodes:
      hosts:
        h1: { ansible_host: 198.18.1.11 }
        h2: { ansible_host: 198.18.1.12, flannel_backend: 'vxlan' }
`;

test('every flannel_backend value is replaced in place; nothing else in the file changes', () => {
  const e = setInventoryBackend(inv, 'inv.yml', 'host-gw');
  assert.equal(e.text, inv.replace('flannel_backend:   vxlan ', 'flannel_backend:   host-gw ').replace("flannel_backend: 'vxlan'", "flannel_backend: 'host-gw'"));
  assert.deepEqual(e.changes, ['line 6', 'line 12']);
  const back = setInventoryBackend(e.text, 'inv.yml', 'vxlan');
  assert.equal(back.text, inv);
});

test('the edited inventory loads with the new backend', () => {
  const e = setInventoryBackend(inv, '/tmp/inv.yml', 'host-gw');
  assert.equal(loadInventoryText(e.text, '/tmp/inv.yml', { home: '/root', localUser: 'root' }).network.backend, 'host-gw');
});

test('already right: unchanged text', () => {
  assert.equal(setInventoryBackend(inv, 'inv.yml', 'vxlan').text, inv);
});

test('absent: added to all.vars', () => {
  const noBackend = inv.split('\n').filter((l) => !l.includes('flannel_backend')).join('\n');
  const e = setInventoryBackend(noBackend, 'inv.yml', 'host-gw');
  assert.deepEqual(e.changes, ['added to all: vars:']);
  assert.match(e.text, /^ {4}flannel_backend: host-gw$/m);
  assert.match(e.text, /# my cluster/);
});

test('a templated value is refused, not guessed', () => {
  assert.throws(() => setInventoryBackend('all:\n  vars:\n    flannel_backend: [vxlan]\n', 'inv.yml', 'host-gw'), /not a plain value/);
});
