import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectInterface } from '../../../src/network/iface-select.js';

const ifaces = [
  { name: 'lo', index: 1, mtu: 65536, up: true, loopback: true, addrs: [{ ip: '127.0.0.1', prefixLen: 8 }] },
  { name: 'eth0', index: 2, mtu: 1500, up: true, loopback: false, addrs: [{ ip: '10.0.2.15', prefixLen: 24 }] },
  { name: 'eth1', index: 3, mtu: 9000, up: true, loopback: false, addrs: [{ ip: '172.17.8.101', prefixLen: 24 }, { ip: '172.17.9.1', prefixLen: 24 }] },
  { name: 'eth2', index: 4, mtu: 1500, up: true, loopback: false, addrs: [] },
];
const sel = (o: Partial<{ iface: string[]; ifaceRegex: string[]; publicIp: string }>) => ({ iface: [], ifaceRegex: [], publicIp: '', ...o });

test('default-route interface when nothing is given', () => {
  const e = selectInterface(sel({}), ifaces, 'eth0');
  assert.deepEqual(e, { name: 'eth0', index: 2, ifaceAddr: '10.0.2.15', publicIp: '10.0.2.15', mtu: 1500 });
});

test('-iface by name or IP, first match wins', () => {
  assert.equal(selectInterface(sel({ iface: ['nope', 'eth1'] }), ifaces, 'eth0').name, 'eth1');
  const byIp = selectInterface(sel({ iface: ['172.17.9.1'] }), ifaces, 'eth0');
  assert.equal(byIp.name, 'eth1');
  assert.equal(byIp.ifaceAddr, '172.17.9.1');
});

test('-iface-regex matches addresses first, then names', () => {
  assert.equal(selectInterface(sel({ ifaceRegex: ['^172\\.17\\.9\\.'] }), ifaces, 'eth0').ifaceAddr, '172.17.9.1');
  assert.equal(selectInterface(sel({ ifaceRegex: ['^eth1$'] }), ifaces, 'eth0').ifaceAddr, '172.17.8.101');
  assert.throws(() => selectInterface(sel({ iface: ['wlan0'], ifaceRegex: ['^ens'] }), ifaces, 'eth0'),
    { message: 'Failed to find interface to use that matches the interfaces and/or regexes provided' });
});

test('-public-ip: the interface holding it, else (NAT) the default-route interface', () => {
  const held = selectInterface(sel({ publicIp: '172.17.8.101' }), ifaces, 'eth0');
  assert.equal(held.name, 'eth1');
  const nat = selectInterface(sel({ publicIp: '203.0.113.7' }), ifaces, 'eth0');
  assert.equal(nat.name, 'eth0');
  assert.equal(nat.ifaceAddr, '10.0.2.15');
  assert.equal(nat.publicIp, '203.0.113.7');
});

test('no default route and no flags -> clear error', () => {
  assert.throws(() => selectInterface(sel({}), ifaces, undefined), /no default route/);
});
