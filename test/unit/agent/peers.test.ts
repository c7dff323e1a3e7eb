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
