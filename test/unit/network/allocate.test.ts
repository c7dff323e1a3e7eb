import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freeSubnets, isSubnetCompatible, planAllocation } from '../../../src/network/allocate.js';
import { parseNetworkConfig } from '../../../src/network/config.js';
import { formatNet, parseCidr } from '../../../src/network/ipv4.js';
import type { Lease } from '../../../src/network/types.js';

const cfg = parseNetworkConfig({ Network: '10.5.0.0/16', Backend: { Type: 'vxlan' } });
const lease = (sn: string, ip: string): Lease => ({ subnet: parseCidr(sn)!, attrs: { PublicIP: ip, PublicIPv6: null, BackendType: 'vxlan' }, modRevision: '7' });

test('reuse the lease of my PublicIP first', () => {
  const p = planAllocation({ config: cfg, leases: [lease('10.5.9.0/24', '1.1.1.1'), lease('10.5.3.0/24', '1.1.1.2')], publicIp: '1.1.1.2', previousSubnet: parseCidr('10.5.7.0/24')! });
  assert.equal(p.kind, 'reuse-lease');
  assert.equal(formatNet((p as { lease: Lease }).lease.subnet), '10.5.3.0/24');
  assert.match(p.log[0]!, /^Found lease \(ip: 10\.5\.3\.0\/24 ipv6: ::\/0\) for current IP \(1\.1\.1\.2\), reusing$/);
});

test('an incompatible lease of mine is deleted and a new one planned', () => {
  const p = planAllocation({ config: cfg, leases: [lease('10.5.0.0/24', '1.1.1.2')], publicIp: '1.1.1.2', random: () => 0 });
  assert.equal(p.kind, 'allocate');
  assert.equal(p.deletes.length, 1);
  assert.match(p.log[0]!, /not compatible with current config, deleting/);
});

test('previous subnet from subnet.env only when nobody holds it', () => {
  const prev = parseCidr('10.5.7.0/24')!;
  const free = planAllocation({ config: cfg, leases: [], publicIp: '1.1.1.2', previousSubnet: prev });
  assert.equal(free.kind, 'reuse-previous');
  const held = planAllocation({ config: cfg, leases: [lease('10.5.7.0/24', '9.9.9.9')], publicIp: '1.1.1.2', previousSubnet: prev, random: () => 0 });
  assert.equal(held.kind, 'allocate');
  assert.notEqual(formatNet((held as { subnet: { ip: number; prefixLen: number } }).subnet), '10.5.7.0/24');
  const bad = planAllocation({ config: cfg, leases: [], publicIp: '1.1.1.2', previousSubnet: parseCidr('10.9.7.0/24')!, random: () => 0 });
  assert.equal(bad.kind, 'allocate');
  assert.match(bad.log[0]!, /not compatible with the Etcd network config, ignoring/);
});

test('random pick among the first 100 free subnets, skipping taken and avoided ones', () => {
  const taken = [lease('10.5.1.0/24', 'a'), lease('10.5.2.0/24', 'b')];
  const free = freeSubnets(cfg, taken);
  assert.equal(free.length, 100);
  assert.equal(formatNet(free[0]!), '10.5.3.0/24');
  assert.equal(formatNet(free[99]!), '10.5.102.0/24');
  const last = planAllocation({ config: cfg, leases: taken, publicIp: 'x', random: () => 0.9999 });
  assert.equal(formatNet((last as { subnet: { ip: number; prefixLen: number } }).subnet), '10.5.102.0/24');
  const avoid = planAllocation({ config: cfg, leases: taken, publicIp: 'x', random: () => 0, avoid: [parseCidr('10.5.3.0/24')!] });
  assert.equal(formatNet((avoid as { subnet: { ip: number; prefixLen: number } }).subnet), '10.5.4.0/24');
});

test('exhaustion: every subnet of a /28 network taken -> exhausted', () => {
  const small = parseNetworkConfig({ Network: '10.9.0.0/28' }); // SubnetLen 30: subnets .4, .8, .12
  assert.equal(freeSubnets(small, []).length, 3);
  const all = ['10.9.0.4/30', '10.9.0.8/30', '10.9.0.12/30'].map((s, i) => lease(s, `h${i}`));
  assert.equal(planAllocation({ config: small, leases: all, publicIp: 'new' }).kind, 'exhausted');
  assert.equal(isSubnetCompatible(small, parseCidr('10.9.0.0/30')!), false);
});
