import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBackend, UnsupportedBackendError } from '../../../../src/agent/backends/registry.js';
import { randomVtepMac, VxlanBackend, vxlanPeerFromLease } from '../../../../src/agent/backends/vxlan.js';
import type { BackendContext } from '../../../../src/agent/backends/backend.js';
import { parseNetworkConfig } from '../../../../src/network/config.js';
import { parseCidr } from '../../../../src/network/ipv4.js';

const log = { info() {}, warn() {}, error() {}, debug() {} };
const ctx = (backend: Record<string, unknown>, mtu = 1500): BackendContext => ({
  extIface: { name: 'eth0', index: 2, ifaceAddr: '10.0.0.11', publicIp: '10.0.0.11', mtu },
  config: parseNetworkConfig({ Network: '10.244.0.0/16', Backend: backend }),
  log,
});

describe('backend registry', () => {
  it('creates vxlan and host-gw (case-insensitive) with flannel\'s MTUs', () => {
    const v = createBackend('VXLAN', ctx({ Type: 'vxlan' }, 9001));
    assert.equal(v.type, 'vxlan');
    assert.equal(v.mtu, 8951);
    assert.equal(createBackend('vxlan', ctx({ Type: 'vxlan', MTU: 1400 })).mtu, 1350);
    assert.equal(createBackend('host-gw', ctx({ Type: 'host-gw' }, 1500)).mtu, 1500);
    assert.equal((v as VxlanBackend).dev, 'flannel.1');
    assert.equal((createBackend('vxlan', ctx({ Type: 'vxlan', VNI: 42 })) as VxlanBackend).dev, 'flannel.42');
    assert.equal((v as VxlanBackend).port, 8472);
  });
  it('names the type and the supported ones for anything else', () => {
    assert.throws(() => createBackend('udp', ctx({ Type: 'udp' })), (e: Error) => e instanceof UnsupportedBackendError && /"udp".*supported: vxlan, host-gw/.test(e.message));
    assert.throws(() => createBackend('foo', ctx({ Type: 'foo' })), /backend type "foo" is unknown; supported: vxlan, host-gw/);
  });
});

describe('vxlan details', () => {
  it('generates locally administered unicast MACs', () => {
    for (let i = 0; i < 50; i++) {
      const first = parseInt(randomVtepMac().slice(0, 2), 16);
      assert.equal(first & 1, 0);
      assert.equal(first & 2, 2);
    }
  });
  it('decodes peer leases, Go flanneld\'s JSON included, and rejects bad ones', () => {
    const l = (data: unknown, ip = '10.0.0.12') => ({ subnet: parseCidr('10.244.2.0/24')!, attrs: { PublicIP: ip, PublicIPv6: null, BackendType: 'vxlan', BackendData: data } });
    assert.deepEqual(vxlanPeerFromLease(l({ VNI: 1, VtepMAC: 'AA:BB:cc:dd:ee:ff' })), { ok: true, mac: 'aa:bb:cc:dd:ee:ff', vni: 1 });
    assert.equal(vxlanPeerFromLease(l({ VNI: 1 })).ok, false);
    assert.equal(vxlanPeerFromLease(l(null)).ok, false);
    assert.equal(vxlanPeerFromLease(l({ VtepMAC: 'aa:bb:cc:dd:ee:ff' }, 'nope')).ok, false);
  });
  it('detects an incompatible existing device', () => {
    const v = createBackend('vxlan', ctx({ Type: 'vxlan' })) as VxlanBackend;
    const link = (d: Record<string, unknown>) => ({ ifindex: 5, ifname: 'flannel.1', flags: [], mtu: 1450, linkinfo: { info_kind: 'vxlan', info_data: { id: 1, local: '10.0.0.11', link: 'eth0', port: 8472, learning: false, ...d } } });
    assert.equal(v.incompatibility(link({})), '');
    assert.equal(v.incompatibility(link({ port: 4789 })), 'port 4789 != 8472');
    assert.equal(v.incompatibility(link({ local: '10.0.0.99', id: 2 })), 'vni 2 != 1, local 10.0.0.99 != 10.0.0.11');
    assert.equal(v.incompatibility({ ...link({}), linkinfo: { info_kind: 'bridge' } }), 'type bridge != vxlan');
  });
});
