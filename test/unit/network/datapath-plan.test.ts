import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  HOSTGW_PROTO,
  inNetwork,
  planHostGw,
  planVxlan,
  routeDelLine,
  VXLAN_DIRECT_PROTO,
  vxlanStateOf,
  type VxlanPeer,
} from '../../../src/network/datapath-plan.js';
import type { IpRoute } from '../../../src/network/iproute2-json.js';
import { parseCidr } from '../../../src/network/ipv4.js';

const network = parseCidr('10.244.0.0/16')!;
const P = { dev: 'flannel.1', extDev: 'eth0', network };
const peer = (n: number, mac = `02:00:00:00:00:0${n}`, direct = false): VxlanPeer => ({
  subnet: parseCidr(`10.244.${n}.0/24`)!,
  publicIp: `192.168.1.${n}`,
  vtepMac: mac,
  direct,
});
const vxRoute = (n: number): IpRoute => ({ dst: `10.244.${n}.0/24`, gateway: `10.244.${n}.0`, dev: 'flannel.1', flags: ['onlink'] });

describe('planVxlan', () => {
  it('programs new peers: FDB, then neighbour, then route', () => {
    const plan = planVxlan([peer(2)], { routes: [], neighs: [], fdb: [] }, P);
    assert.deepEqual(plan.fdbAdd, ['fdb replace 02:00:00:00:00:02 dev flannel.1 dst 192.168.1.2 self permanent']);
    assert.deepEqual(plan.ip, [
      'neigh replace 10.244.2.0 lladdr 02:00:00:00:00:02 dev flannel.1 nud permanent',
      'route replace 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink',
    ]);
    assert.deepEqual(plan.fdbDel, []);
    assert.deepEqual(plan.counts, { added: 1, removed: 0, unchanged: 0 });
  });

  it('leaves a matching state alone', () => {
    const state = vxlanStateOf([peer(2), peer(3)], P);
    const plan = planVxlan([peer(2), peer(3)], state, P);
    assert.deepEqual([plan.fdbAdd, plan.ip, plan.fdbDel], [[], [], []]);
    assert.deepEqual(plan.counts, { added: 0, removed: 0, unchanged: 2 });
  });

  it('replaces a changed VtepMAC and deletes the old MAC\'s FDB entry', () => {
    const state = vxlanStateOf([peer(2)], P);
    const plan = planVxlan([peer(2, '02:aa:aa:aa:aa:aa')], state, P);
    assert.deepEqual(plan.fdbAdd, ['fdb replace 02:aa:aa:aa:aa:aa dev flannel.1 dst 192.168.1.2 self permanent']);
    assert.deepEqual(plan.ip, ['neigh replace 10.244.2.0 lladdr 02:aa:aa:aa:aa:aa dev flannel.1 nud permanent']);
    assert.deepEqual(plan.fdbDel, ['fdb del 02:00:00:00:00:02 dev flannel.1 dst 192.168.1.2 self']);
  });

  it('re-points an FDB entry whose destination changed (peer got a new public IP)', () => {
    const state = vxlanStateOf([peer(2)], P);
    const moved = { ...peer(2), publicIp: '192.168.1.200' };
    const plan = planVxlan([moved], state, P);
    assert.deepEqual(plan.fdbAdd, ['fdb replace 02:00:00:00:00:02 dev flannel.1 dst 192.168.1.200 self permanent']);
    assert.deepEqual(plan.ip, []);
    assert.deepEqual(plan.fdbDel, []);
  });

  it('deletes entries that belong to no lease, but never routes it does not own', () => {
    const state = {
      routes: [
        vxRoute(2),
        vxRoute(9),
        { dst: '10.244.7.0/24', gateway: '192.168.1.7', dev: 'eth0', protocol: String(VXLAN_DIRECT_PROTO), flags: [] },
        { dst: '10.244.8.0/24', gateway: '192.168.1.8', dev: 'eth0', protocol: String(HOSTGW_PROTO), flags: [] },
        { dst: '10.244.6.0/24', gateway: '192.168.1.6', dev: 'eth0', flags: [] },
        { dst: '10.244.1.0/24', dev: 'cni0', protocol: 'kernel', scope: 'link', flags: [] },
        { dst: '172.16.0.0/24', gateway: '10.0.0.1', dev: 'flannel.1', flags: [] },
      ],
      neighs: [
        { dst: '10.244.2.0', lladdr: '02:00:00:00:00:02', state: ['PERMANENT'] },
        { dst: '10.244.9.0', lladdr: '02:00:00:00:00:09', state: ['PERMANENT'] },
      ],
      fdb: [
        { mac: '02:00:00:00:00:02', dst: '192.168.1.2', flags: ['self'], state: 'permanent' },
        { mac: '02:00:00:00:00:09', dst: '192.168.1.9', flags: ['self'], state: 'permanent' },
        { mac: '4a:00:00:00:00:01', flags: ['self'], state: 'permanent' },
      ],
    };
    const plan = planVxlan([peer(2)], state, P);
    assert.deepEqual(plan.fdbAdd, []);
    assert.deepEqual(plan.ip, [
      'route del 10.244.9.0/24 via 10.244.9.0 dev flannel.1',
      'route del 10.244.7.0/24 via 192.168.1.7 dev eth0 proto 242',
      'neigh del 10.244.9.0 dev flannel.1',
    ]);
    assert.deepEqual(plan.fdbDel, ['fdb del 02:00:00:00:00:09 dev flannel.1 dst 192.168.1.9 self']);
    assert.deepEqual(plan.counts, { added: 0, removed: 2, unchanged: 1 });
  });

  it('DirectRouting: plain route via the public IP, no neighbour/FDB; switching modes replaces the route', () => {
    const d = peer(3, undefined, true);
    const plan = planVxlan([d], vxlanStateOf([peer(3)], P), P);
    assert.deepEqual(plan.fdbAdd, []);
    assert.deepEqual(plan.ip, ['route replace 10.244.3.0/24 via 192.168.1.3 dev eth0 proto 242', 'neigh del 10.244.3.0 dev flannel.1']);
    assert.deepEqual(plan.fdbDel, ['fdb del 02:00:00:00:00:03 dev flannel.1 dst 192.168.1.3 self']);
    const back = planVxlan([peer(3)], vxlanStateOf([d], P), P);
    assert.deepEqual(back.ip, [
      'neigh replace 10.244.3.0 lladdr 02:00:00:00:00:03 dev flannel.1 nud permanent',
      'route replace 10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink',
    ]);
  });

  it('takes over a route another backend holds for the same subnet (live switch) with replace', () => {
    const routes: IpRoute[] = [{ dst: '10.244.2.0/24', gateway: '192.168.1.2', dev: 'eth0', protocol: String(HOSTGW_PROTO), flags: [] }];
    const plan = planVxlan([peer(2)], { routes, neighs: [], fdb: [] }, P);
    assert.ok(plan.ip.includes('route replace 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink'));
    assert.ok(!plan.ip.some((l) => l.startsWith('route del')));
  });

  it('fixes a missing onlink flag or a non-permanent neighbour', () => {
    const state = {
      routes: [{ ...vxRoute(2), flags: [] }],
      neighs: [{ dst: '10.244.2.0', lladdr: '02:00:00:00:00:02', state: ['STALE'] }],
      fdb: [{ mac: '02:00:00:00:00:02', dst: '192.168.1.2', flags: ['self'] }],
    };
    const plan = planVxlan([peer(2)], state, P);
    assert.equal(plan.ip.length, 2);
    assert.equal(plan.counts.added, 1);
  });
});

describe('planHostGw', () => {
  const H = { extDev: 'eth0', network };
  const hg = (n: number, gw = `192.168.1.${n}`): IpRoute => ({ dst: `10.244.${n}.0/24`, gateway: gw, dev: 'eth0', protocol: String(HOSTGW_PROTO), flags: [] });
  const hp = (n: number) => ({ subnet: parseCidr(`10.244.${n}.0/24`)!, publicIp: `192.168.1.${n}` });

  it('adds missing, replaces a changed gateway, deletes stale own routes only', () => {
    const routes: IpRoute[] = [
      hg(2),
      hg(3, '192.168.1.99'),
      hg(9),
      { dst: '10.244.8.0/24', gateway: '192.168.1.8', dev: 'eth0', flags: [] }, // someone else's
      { dst: '10.244.5.0/24', gateway: '10.244.5.0', dev: 'flannel.1', flags: ['onlink'] }, // vxlan's
      { ...hg(7), dev: 'eth1' }, // another interface
    ];
    const plan = planHostGw([hp(2), hp(3), hp(4), hp(5)], routes, H);
    assert.deepEqual(plan.ip, [
      `route replace 10.244.3.0/24 via 192.168.1.3 dev eth0 proto ${HOSTGW_PROTO}`,
      `route replace 10.244.4.0/24 via 192.168.1.4 dev eth0 proto ${HOSTGW_PROTO}`,
      `route replace 10.244.5.0/24 via 192.168.1.5 dev eth0 proto ${HOSTGW_PROTO}`,
      `route del 10.244.9.0/24 via 192.168.1.9 dev eth0 proto ${HOSTGW_PROTO}`,
    ]);
    assert.deepEqual(plan.counts, { added: 3, removed: 1, unchanged: 1 });
    assert.deepEqual(plan.linePeer.get(1), hp(4));
  });

  it('removes a duplicate own route with a metric', () => {
    const plan = planHostGw([hp(2)], [hg(2), { ...hg(2), metric: 100 }], H);
    assert.deepEqual(plan.ip, [
      `route replace 10.244.2.0/24 via 192.168.1.2 dev eth0 proto ${HOSTGW_PROTO}`,
      `route del 10.244.2.0/24 via 192.168.1.2 dev eth0 proto ${HOSTGW_PROTO} metric 100`,
    ]);
  });
});

describe('helpers', () => {
  it('inNetwork', () => {
    assert.equal(inNetwork('10.244.3.0/24', network), true);
    assert.equal(inNetwork('10.244.3.7', network), true);
    assert.equal(inNetwork('10.0.0.0/8', network), false);
    assert.equal(inNetwork('10.245.0.0/24', network), false);
    assert.equal(inNetwork('fe80::/64', network), false);
    assert.equal(inNetwork('10.244.300.0/24', network), false);
  });
  it('routeDelLine is precise', () => {
    assert.equal(routeDelLine({ dst: '10.244.2.0/24', dev: 'cni0', flags: [] }), 'route del 10.244.2.0/24 dev cni0');
  });
});
