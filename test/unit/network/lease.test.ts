import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLeaseAttrs, encodeLeaseAttrs, makeSubnetKey, parseSubnetKey, vxlanBackendData, vxlanLeaseData } from '../../../src/network/lease.js';
import { formatNet, parseCidr } from '../../../src/network/ipv4.js';

// Byte strings as Go's json.Marshal(lease.LeaseAttrs) produces them (flannel-behaviour.md §2).
const GO_VXLAN = '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}';
const GO_HOSTGW = '{"PublicIP":"192.168.1.11","PublicIPv6":null,"BackendType":"host-gw"}';
const GO_UDP = '{"PublicIP":"192.168.1.12","PublicIPv6":null}';

test('subnet keys: make and flannel regex parse', () => {
  assert.equal(makeSubnetKey(parseCidr('10.5.34.0/24')!), '10.5.34.0-24');
  assert.equal(formatNet(parseSubnetKey('/coreos.com/network/subnets/10.5.34.0-24')!.subnet), '10.5.34.0/24');
  const dual = parseSubnetKey('10.5.34.0-24&fc00:0:0:1::-64')!;
  assert.equal(dual.ipv6, 'fc00:0:0:1::/64');
  assert.equal(parseSubnetKey('/coreos.com/network/subnets/garbage'), undefined);
  assert.equal(parseSubnetKey('/coreos.com/network/config'), undefined);
});

test("lease JSON is byte-identical to Go's marshalling", () => {
  assert.equal(encodeLeaseAttrs({ PublicIP: '192.168.64.3', PublicIPv6: null, BackendType: 'vxlan', BackendData: vxlanBackendData(1, 'C6:D2:32:6F:8F:44') }), GO_VXLAN);
  assert.equal(encodeLeaseAttrs({ PublicIP: '192.168.1.11', PublicIPv6: null, BackendType: 'host-gw' }), GO_HOSTGW);
  for (const s of [GO_VXLAN, GO_HOSTGW, GO_UDP]) assert.equal(encodeLeaseAttrs(decodeLeaseAttrs(s)), s);
});

test('Go escaping of <, >, & in strings', () => {
  assert.equal(encodeLeaseAttrs({ PublicIP: '1.2.3.4', PublicIPv6: null, BackendType: 'a<b>&', BackendData: { k: '<' } }),
    '{"PublicIP":"1.2.3.4","PublicIPv6":null,"BackendType":"a\\u003cb\\u003e\\u0026","BackendData":{"k":"\\u003c"}}');
});

test('legacy leases: no PublicIPv6, no BackendType, VtepMAC without VNI, odd key case', () => {
  const old = decodeLeaseAttrs('{"PublicIP":"10.0.0.7","BackendType":"vxlan","BackendData":{"VtepMAC":"0a:0b:0c:0d:0e:0f"}}');
  assert.equal(old.PublicIPv6, null);
  assert.deepEqual(vxlanLeaseData(old), { VtepMAC: '0a:0b:0c:0d:0e:0f' });
  const udp = decodeLeaseAttrs('{"PublicIP":"10.0.0.8"}');
  assert.equal(udp.BackendType, undefined);
  assert.equal(encodeLeaseAttrs(udp), '{"PublicIP":"10.0.0.8","PublicIPv6":null}');
  const lc = decodeLeaseAttrs('{"publicip":"10.0.0.9","backendtype":"vxlan","backenddata":{"vni":1,"vtepmac":"AA:BB:CC:DD:EE:FF"}}');
  assert.equal(lc.PublicIP, '10.0.0.9');
  assert.deepEqual(vxlanLeaseData(lc), { VNI: 1, VtepMAC: 'aa:bb:cc:dd:ee:ff' });
});

test('bad lease values are refused', () => {
  assert.throws(() => decodeLeaseAttrs('not json'));
  assert.throws(() => decodeLeaseAttrs('{"PublicIP":"fc00::1"}'), /Invalid IP address format/);
  assert.equal(vxlanLeaseData(decodeLeaseAttrs('{"PublicIP":"1.1.1.1","BackendData":{"VtepMAC":"zz"}}')), undefined);
});
