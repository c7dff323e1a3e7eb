import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdFlags, newClusterBootstrap, renderBootstrapEnv, renderEtcdUnit } from '../../../src/inventory/etcd-files.js';

const m = { name: 'h1', address: '10.0.0.11' };

test('etcd.service: Type=notify, user etcd, the bootstrap file optional, flags with peer and client TLS', () => {
  const u = renderEtcdUnit(m, { tls: true }, '/usr/local/bin/etcd');
  assert.match(u, /^Type=notify$/m);
  assert.match(u, /^User=etcd$/m);
  assert.match(u, /^EnvironmentFile=-\/etc\/etcd\/flanprov-bootstrap\.env$/m);
  const exec = /^ExecStart=(.*)$/m.exec(u)![1]!.split(' ');
  assert.equal(exec[0], '/usr/local/bin/etcd');
  assert.deepEqual(exec.slice(1), etcdFlags(m, true));
  for (const f of ['--name=h1', '--data-dir=/var/lib/etcd/flanprov', '--listen-peer-urls=https://10.0.0.11:2380', '--initial-advertise-peer-urls=https://10.0.0.11:2380',
    '--listen-client-urls=https://10.0.0.11:2379,https://127.0.0.1:2379', '--advertise-client-urls=https://10.0.0.11:2379', '--client-cert-auth', '--peer-client-cert-auth',
    '--trusted-ca-file=/etc/etcd/pki/ca.pem', '--peer-cert-file=/etc/etcd/pki/peer.pem', '--key-file=/etc/etcd/pki/server-key.pem']) {
    assert.ok(exec.includes(f), `${f} in ${exec.join(' ')}`);
  }
  // nothing that changes when members join or leave: that goes to the bootstrap file
  assert.doesNotMatch(u, /initial-cluster(=|-state|-token)/);
});

test('without TLS: http URLs, no certificate flags', () => {
  const f = etcdFlags(m, false);
  assert.ok(f.includes('--listen-client-urls=http://10.0.0.11:2379,http://127.0.0.1:2379'));
  assert.ok(!f.some((x) => /cert|ca-file/.test(x)));
});

test('the bootstrap file of a new cluster: every member, state new, the token', () => {
  const members = [m, { name: 'h2', address: '10.0.0.12' }].map((x) => ({ ...x, host: {} as never, install: 'auto' as const, binPath: '/usr/local/bin/etcd' }));
  assert.equal(renderBootstrapEnv(newClusterBootstrap({ members, tls: true }, 'flanprov-abc')).split('\n').slice(1).join('\n'),
    'ETCD_INITIAL_CLUSTER="h1=https://10.0.0.11:2380,h2=https://10.0.0.12:2380"\nETCD_INITIAL_CLUSTER_STATE="new"\nETCD_INITIAL_CLUSTER_TOKEN="flanprov-abc"\n');
});
