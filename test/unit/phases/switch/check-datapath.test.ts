import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDatapath, parseKernel, type DatapathInput } from '../../../../src/phases/switch/check-datapath.js';
import { parseCidr } from '../../../../src/network/ipv4.js';
import { parseNetworkConfig } from '../../../../src/network/config.js';
import type { Lease } from '../../../../src/network/types.js';

const MAC2 = '62:aa:bb:cc:dd:02';
const MAC3 = '62:aa:bb:cc:dd:03';
const lease = (subnet: string, ip: string, type: string, mac?: string): Lease => ({
  subnet: parseCidr(subnet)!,
  attrs: { PublicIP: ip, PublicIPv6: null, BackendType: type, ...(mac ? { BackendData: { VNI: 1, VtepMAC: mac } } : {}) },
});
const vxlanCfg = parseNetworkConfig({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
const hostgwCfg = parseNetworkConfig({ Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } });

// `ip -j` output as iproute2 6.1 prints it (trimmed to the fields read).
const kernelText = (o: { flannel: boolean; vxlanRoutes: boolean; hostgwRoutes: boolean; mtu?: number }) => `
::fp:: links
[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"mtu":65536},{"ifindex":2,"ifname":"eth0","flags":["UP"],"mtu":1500}${o.flannel ? `,{"ifindex":5,"ifname":"flannel.1","flags":["BROADCAST","UP","LOWER_UP"],"mtu":${o.mtu ?? 1450},"linkinfo":{"info_kind":"vxlan","info_data":{"id":1}}}` : ''}]
::fp:: routes
[{"dst":"default","gateway":"198.18.1.1","dev":"eth0","flags":[]},{"dst":"198.18.1.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"198.18.1.11","flags":[]}${o.vxlanRoutes ? ',{"dst":"10.244.2.0/24","gateway":"10.244.2.0","dev":"flannel.1","flags":["onlink"]},{"dst":"10.244.3.0/24","gateway":"10.244.3.0","dev":"flannel.1","flags":["onlink"]}' : ''}${o.hostgwRoutes ? ',{"dst":"10.244.2.0/24","gateway":"198.18.1.12","dev":"eth0","protocol":"241","flags":[]},{"dst":"10.244.3.0/24","gateway":"198.18.1.13","dev":"eth0","protocol":"241","flags":[]}' : ''}]
::fp:: neigh
${o.flannel ? `[{"dst":"10.244.2.0","dev":"flannel.1","lladdr":"${MAC2}","state":["PERMANENT"]},{"dst":"10.244.3.0","dev":"flannel.1","lladdr":"${MAC3}","state":["PERMANENT"]}]` : ''}
::fp:: fdb
${o.flannel ? `[{"mac":"${MAC2}","ifname":"flannel.1","dst":"198.18.1.12","flags":["self"],"state":"permanent"},{"mac":"${MAC3}","ifname":"flannel.1","dst":"198.18.1.13","flags":["self"],"state":"permanent"}]` : ''}
`;

function input(cfg: typeof vxlanCfg, leases: Lease[], text: string): DatapathInput {
  return { config: cfg, ownSubnet: parseCidr('10.244.1.0/24')!, extDev: 'eth0', extMtu: 1500, leases, routeGet: new Map(), kernel: parseKernel(text) };
}

const vxLeases = [lease('10.244.1.0/24', '198.18.1.11', 'vxlan', '62:aa:bb:cc:dd:01'), lease('10.244.2.0/24', '198.18.1.12', 'vxlan', MAC2), lease('10.244.3.0/24', '198.18.1.13', 'vxlan', MAC3)];
const hgLeases = [lease('10.244.1.0/24', '198.18.1.11', 'host-gw'), lease('10.244.2.0/24', '198.18.1.12', 'host-gw'), lease('10.244.3.0/24', '198.18.1.13', 'host-gw')];

test('host-gw done right: no flannel device, a route via each peer', () => {
  assert.deepEqual(checkDatapath(input(hostgwCfg, hgLeases, kernelText({ flannel: false, vxlanRoutes: false, hostgwRoutes: true }))), []);
});

test('host-gw with vxlan left behind: the device, its routes, and missing host-gw routes are named', () => {
  const p = checkDatapath(input(hostgwCfg, hgLeases, kernelText({ flannel: true, vxlanRoutes: true, hostgwRoutes: false })));
  assert.ok(p.includes('device flannel.1 still exists'), p.join('\n'));
  assert.ok(p.some((x) => /route 10\.244\.2\.0\/24 via 10\.244\.2\.0 dev flannel\.1 is left/.test(x)));
  assert.ok(p.some((x) => /needs `ip route replace 10\.244\.3\.0\/24 via 198\.18\.1\.13 dev eth0 proto 241`/.test(x)));
});

test('vxlan done right: device with MTU 1450, route/neighbour/FDB per lease', () => {
  assert.deepEqual(checkDatapath(input(vxlanCfg, vxLeases, kernelText({ flannel: true, vxlanRoutes: true, hostgwRoutes: false }))), []);
});

test('vxlan after a switch back with host-gw routes left and a wrong MTU', () => {
  const p = checkDatapath(input(vxlanCfg, vxLeases, kernelText({ flannel: true, vxlanRoutes: true, hostgwRoutes: true, mtu: 1500 })));
  assert.ok(p.includes('flannel.1 has MTU 1500, expected 1450'), p.join('\n'));
  assert.ok(p.some((x) => /host-gw route 10\.244\.3\.0\/24 via 198\.18\.1\.13 is left/.test(x)));
});

test('vxlan without its device, and a peer whose lease changed MAC', () => {
  assert.deepEqual(checkDatapath(input(vxlanCfg, vxLeases, kernelText({ flannel: false, vxlanRoutes: false, hostgwRoutes: false }))), ['device flannel.1 does not exist']);
  const moved = [vxLeases[0]!, lease('10.244.2.0/24', '198.18.1.12', 'vxlan', '62:aa:bb:cc:dd:99'), vxLeases[2]!];
  const p = checkDatapath(input(vxlanCfg, moved, kernelText({ flannel: true, vxlanRoutes: true, hostgwRoutes: false })));
  assert.ok(p.some((x) => /neigh replace 10\.244\.2\.0 lladdr 62:aa:bb:cc:dd:99/.test(x)), p.join('\n'));
  assert.ok(p.some((x) => /fdb replace 62:aa:bb:cc:dd:99/.test(x)));
  assert.ok(p.some((x) => /stale FDB entry: needs `bridge fdb del 62:aa:bb:cc:dd:02/.test(x)));
});

test('leases still on the other backend are not expected (like the agent, which ignores them)', () => {
  const mixed = [hgLeases[0]!, hgLeases[1]!, lease('10.244.3.0/24', '198.18.1.13', 'vxlan', MAC3)];
  const text = kernelText({ flannel: false, vxlanRoutes: false, hostgwRoutes: true }).replace(',{"dst":"10.244.3.0/24","gateway":"198.18.1.13","dev":"eth0","protocol":"241","flags":[]}', '');
  assert.deepEqual(checkDatapath(input(hostgwCfg, mixed, text)), []);
});
