import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerSet } from '../../../src/agent/peers.js';
import { parseCidr, formatNet } from '../../../src/network/ipv4.js';
import type { Lease } from '../../../src/network/types.js';

const L = (sn: string, ip: string, mac = '0a:00:00:00:00:01', type = 'vxlan'): Lease =>
  ({ subnet: parseCidr(sn)!, attrs: { PublicIP: ip, PublicIPv6: null, BackendType: type, BackendData: { VNI: 1, VtepMAC: mac } } });

test('own subnet is never a peer; puts/deletes become diffs; attribute change is reported', () => {
  const p = new PeerSet();
  p.setOwnSubnet(parseCidr('10.5.1.0/24'));
  let d = p.apply([{ type: 'put', lease: L('10.5.1.0/24', '1.1.1.1') }, { type: 'put', lease: L('10.5.2.0/24', '1.1.1.2') }]);
  assert.deepEqual(d.added.map((l) => formatNet(l.subnet)), ['10.5.2.0/24']);
  d = p.apply([{ type: 'put', lease: L('10.5.2.0/24', '1.1.1.2') }]);
  assert.equal(d.added.length + d.changed.length, 0, 'a renewal with the same attrs changes nothing');
  d = p.apply([{ type: 'put', lease: L('10.5.2.0/24', '1.1.1.2', '0a:00:00:00:00:99') }]);
  assert.equal(d.changed.length, 1);
  d = p.apply([{ type: 'delete', subnet: parseCidr('10.5.2.0/24')! }, { type: 'delete', subnet: parseCidr('10.5.7.0/24')! }]);
  assert.equal(d.removed.length, 1);
  assert.equal(p.size, 0);
});

test('reset turns a snapshot into a diff; ofType filters by BackendType', () => {
  const p = new PeerSet();
  p.reset([L('10.5.2.0/24', 'a'), L('10.5.3.0/24', 'b')]);
  const d = p.reset([L('10.5.3.0/24', 'b'), L('10.5.4.0/24', 'c', undefined, 'host-gw')]);
  assert.deepEqual(d.added.map((l) => formatNet(l.subnet)), ['10.5.4.0/24']);
  assert.deepEqual(d.removed.map((l) => formatNet(l.subnet)), ['10.5.2.0/24']);
  assert.equal(p.ofType('vxlan').length, 1);
  assert.equal(p.ofType('host-gw').length, 1);
});

test('assign: each peer goes to the backend of its own type; a moved peer keeps its remembered lease while its new type is inactive here', () => {
  const p = new PeerSet();
  p.reset([L('10.5.2.0/24', '1.1.1.2', '0a:00:00:00:00:02'), L('10.5.3.0/24', '1.1.1.3', '0a:00:00:00:00:03')]);
  // 10.5.2.0 moves to host-gw
  const moved = { subnet: parseCidr('10.5.2.0/24')!, attrs: { PublicIP: '1.1.1.2', PublicIPv6: null, BackendType: 'host-gw' } };
  p.apply([{ type: 'put', lease: moved }]);
  // only vxlan active here: the old vxlan lease stands in for it
  let a = p.assign(['vxlan']);
  assert.deepEqual(a.byType.get('vxlan')!.map((l) => [formatNet(l.subnet), l.attrs.BackendType]), [['10.5.2.0/24', 'vxlan'], ['10.5.3.0/24', 'vxlan']]);
  assert.deepEqual(a.fallback.map((l) => formatNet(l.subnet)), ['10.5.2.0/24']);
  assert.equal(a.ignored.length, 0);
  // both active: by its current type
  a = p.assign(['host-gw', 'vxlan']);
  assert.deepEqual(a.byType.get('host-gw')!.map((l) => formatNet(l.subnet)), ['10.5.2.0/24']);
  assert.deepEqual(a.byType.get('vxlan')!.map((l) => formatNet(l.subnet)), ['10.5.3.0/24']);
  assert.equal(a.fallback.length, 0);
  // vxlan torn down here: forgotten; a vxlan peer is then ignored
  p.forgetType('vxlan');
  a = p.assign(['host-gw']);
  assert.deepEqual(a.ignored.map((l) => formatNet(l.subnet)), ['10.5.3.0/24']);
  assert.deepEqual(p.countByType(), { 'host-gw': 1, vxlan: 1 });
});

test('assign: the newest remembered lease of an active type wins; a deleted peer forgets everything', () => {
  const p = new PeerSet();
  const v = (mac: string) => L('10.5.2.0/24', '1.1.1.2', mac);
  const hg = { subnet: parseCidr('10.5.2.0/24')!, attrs: { PublicIP: '1.1.1.2', PublicIPv6: null, BackendType: 'host-gw' } };
  const other = { subnet: parseCidr('10.5.2.0/24')!, attrs: { PublicIP: '1.1.1.2', PublicIPv6: null, BackendType: 'wireguard' } };
  p.reset([v('0a:00:00:00:00:01')]);
  p.apply([{ type: 'put', lease: hg }]); // vxlan remembered
  p.apply([{ type: 'put', lease: v('0a:00:00:00:00:09') }]); // back on vxlan (new MAC): host-gw remembered
  p.apply([{ type: 'put', lease: other }]); // an unsupported type: vxlan (new MAC) remembered, newer than host-gw
  const a = p.assign(['vxlan', 'host-gw']);
  assert.equal((a.byType.get('vxlan')![0]!.attrs.BackendData as { VtepMAC: string }).VtepMAC, '0a:00:00:00:00:09');
  assert.equal(a.byType.get('host-gw')!.length, 0);
  p.apply([{ type: 'delete', subnet: parseCidr('10.5.2.0/24')! }]);
  p.apply([{ type: 'put', lease: other }]);
  assert.deepEqual(p.assign(['vxlan', 'host-gw']).ignored.length, 1);
});
