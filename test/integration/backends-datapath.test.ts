/**
 * vxlan and host-gw data paths on a real kernel, in namespaces this test creates (prefix fpb<id>):
 *   switch netns <id>sw (bridge br0) with hosts h1..h3 on 10.0.0.0/24 and a router <id>r (10.0.0.1),
 *   host h4 on 10.0.1.0/24 behind the router (not L2-adjacent to h1..h3);
 *   each host hN has bridge cni0 10.244.N.1/24 and a "container" netns hNc at 10.244.N.10.
 * Leases are synthetic (no etcd); each host's backend runs in-process with its commands aimed at the
 * host's netns. Nothing is created in the root namespace.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createBackend } from '../../src/agent/backends/registry.js';
import type { Backend, BackendContext } from '../../src/agent/backends/backend.js';
import { VxlanBackend } from '../../src/agent/backends/vxlan.js';
import { listFdb, listNeighs, listRoutes, getLink, listLinks } from '../../src/agent/kernel/iproute2.js';
import { HOSTGW_PROTO, VXLAN_DIRECT_PROTO } from '../../src/network/datapath-plan.js';
import { parseNetworkConfig } from '../../src/network/config.js';
import { parseCidr } from '../../src/network/ipv4.js';
import type { Lease } from '../../src/network/types.js';

const ID = `fpb${process.pid % 10000}`;
const SW = `${ID}sw`;
const R = `${ID}r`;
const HOSTS = [1, 2, 3, 4];
const hn = (i: number) => `${ID}h${i}`;
const cn = (i: number) => `${ID}h${i}c`;
const hostIp = (i: number) => (i === 4 ? '10.0.1.14' : `10.0.0.${10 + i}`);
const podIp = (i: number) => `10.244.${i}.10`;
const subnet = (i: number) => parseCidr(`10.244.${i}.0/24`)!;

function sh(script: string): string {
  return execFileSync('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8' });
}

function setup(): void {
  const s: string[] = [];
  const nsx = (ns: string, cmd: string) => s.push(`ip netns exec ${ns} ${cmd}`);
  for (const ns of [SW, R, ...HOSTS.map(hn), ...HOSTS.map(cn)]) s.push(`ip netns add ${ns}`, `ip -n ${ns} link set lo up`);
  s.push(`ip -n ${SW} link add br0 type bridge`, `ip -n ${SW} link set br0 up`);
  // router: leg on the LAN and a leg towards h4
  s.push(`ip link add eth0 netns ${R} type veth peer name pr netns ${SW}`, `ip -n ${SW} link set pr master br0 up`);
  s.push(`ip -n ${R} addr add 10.0.0.1/24 dev eth0`, `ip -n ${R} link set eth0 up`);
  nsx(R, 'sysctl -qw net.ipv4.ip_forward=1');
  for (const i of HOSTS) {
    const h = hn(i);
    if (i === 4) {
      s.push(`ip link add eth0 netns ${h} type veth peer name eth4 netns ${R}`);
      s.push(`ip -n ${R} addr add 10.0.1.1/24 dev eth4`, `ip -n ${R} link set eth4 up`);
      s.push(`ip -n ${h} addr add ${hostIp(i)}/24 dev eth0`, `ip -n ${h} link set eth0 up`, `ip -n ${h} route add default via 10.0.1.1`);
    } else {
      s.push(`ip link add eth0 netns ${h} type veth peer name p${i} netns ${SW}`, `ip -n ${SW} link set p${i} master br0 up`);
      s.push(`ip -n ${h} addr add ${hostIp(i)}/24 dev eth0`, `ip -n ${h} link set eth0 up`, `ip -n ${h} route add default via 10.0.0.1`);
    }
    nsx(h, 'sysctl -qw net.ipv4.ip_forward=1');
    s.push(`ip -n ${h} link add cni0 type bridge`, `ip -n ${h} addr add 10.244.${i}.1/24 dev cni0`, `ip -n ${h} link set cni0 up`);
    s.push(`ip link add v${i} netns ${h} mtu 1350 type veth peer name eth0 netns ${cn(i)} mtu 1350`);
    s.push(`ip -n ${h} link set v${i} master cni0 up`);
    s.push(`ip -n ${cn(i)} addr add ${podIp(i)}/24 dev eth0`, `ip -n ${cn(i)} link set eth0 up`, `ip -n ${cn(i)} route add default via 10.244.${i}.1`);
  }
  sh(s.join('\n'));
}

function cleanup(): void {
  const mine = sh('ip netns list | cut -d" " -f1')
    .split('\n')
    .filter((n) => n.startsWith(ID));
  for (const ns of mine) sh(`ip netns del ${ns} || true`);
}

const logs: string[] = [];
const log = {
  info: (m: string) => logs.push(`I ${m}`),
  warn: (m: string) => logs.push(`W ${m}`),
  error: (m: string) => logs.push(`E ${m}`),
  debug: (_l: number, m: string) => logs.push(`D ${m}`),
};

function ctx(i: number, backend: Record<string, unknown>): BackendContext {
  return {
    extIface: { name: 'eth0', index: 0, ifaceAddr: hostIp(i), publicIp: hostIp(i), mtu: 1500 },
    config: parseNetworkConfig({ Network: '10.244.0.0/16', Backend: backend }),
    log,
  };
}

function lease(i: number, type: string, data?: unknown): Lease {
  return {
    subnet: subnet(i),
    attrs: { PublicIP: hostIp(i), PublicIPv6: null, BackendType: type, ...(data !== undefined ? { BackendData: data } : {}) },
  };
}

function ping(from: number, to: number, count = 1): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', cn(from), 'ping', '-c', String(count), '-W', '1', '-q', podIp(to)], { stdio: 'ignore' });
    p.on('close', (code) => resolve(code === 0));
  });
}

async function pingMatrix(hosts: number[]): Promise<string[]> {
  const failed: string[] = [];
  await Promise.all(
    hosts.flatMap((a) =>
      hosts
        .filter((b) => b !== a)
        .map(async (b) => {
          // first packet may be lost to neighbour resolution on the underlay: allow a retry
          if (!(await ping(a, b)) && !(await ping(a, b, 2))) failed.push(`h${a}->h${b}`);
        }),
    ),
  );
  return failed.sort();
}

/** Programs vxlan on the given hosts (each sees the others as peers) and returns the backends + leases. */
async function vxlanAll(hosts: number[], backendCfg: Record<string, unknown> = { Type: 'vxlan' }) {
  const be = new Map<number, VxlanBackend>();
  const leases = new Map<number, Lease>();
  for (const i of hosts) {
    const b = createBackend('vxlan', ctx(i, backendCfg), { target: { netns: hn(i) } }) as VxlanBackend;
    const attrs = await b.prepare();
    await b.activate(subnet(i));
    be.set(i, b);
    leases.set(i, lease(i, 'vxlan', attrs.BackendData));
  }
  for (const i of hosts) await be.get(i)!.reconcile(hosts.filter((j) => j !== i).map((j) => leases.get(j)!));
  return { be, leases };
}

const t1 = { netns: hn(1) };

describe('backends on a real kernel', { timeout: 120_000 }, () => {
  before(() => {
    cleanup();
    setup();
  });
  after(() => cleanup());

  let vx: Awaited<ReturnType<typeof vxlanAll>>;

  it('vxlan: containers reach each other across all pairs, including across the router', async () => {
    vx = await vxlanAll(HOSTS);
    const link = await getLink('flannel.1', t1);
    assert.equal(link?.mtu, 1450);
    assert.equal(link?.linkinfo?.info_data?.port, 8472);
    assert.equal(link?.linkinfo?.info_data?.learning, false);
    assert.equal(link?.address, (vx.leases.get(1)!.attrs.BackendData as { VtepMAC: string }).VtepMAC);
    assert.match(link!.address!, /^[0-9a-f][26ae]:/); // locally administered unicast
    const routes = await listRoutes(['dev', 'flannel.1'], t1);
    assert.deepEqual(routes.map((r) => `${r.dst} via ${r.gateway}`).sort(), ['10.244.2.0/24 via 10.244.2.0', '10.244.3.0/24 via 10.244.3.0', '10.244.4.0/24 via 10.244.4.0']);
    assert.deepEqual(await pingMatrix(HOSTS), []);
  });

  it('vxlan: reconcile removes stale entries, re-adds a missing route, replaces a changed VtepMAC', async () => {
    sh(
      [
        `ip -n ${hn(1)} route add 10.244.99.0/24 via 10.244.99.0 dev flannel.1 onlink`,
        `ip -n ${hn(1)} neigh add 10.244.99.0 lladdr 02:99:99:99:99:99 dev flannel.1 nud permanent`,
        `bridge -n ${hn(1)} fdb append 02:99:99:99:99:99 dev flannel.1 dst 10.0.0.99 self permanent`,
        `ip -n ${hn(1)} route del 10.244.2.0/24`,
      ].join('\n'),
    );
    const peers = [2, 3, 4].map((j) => vx.leases.get(j)!);
    const res = await vx.be.get(1)!.reconcile(peers);
    assert.equal(res.added, 1);
    assert.ok(res.removed >= 1);
    const routes = await listRoutes(['dev', 'flannel.1'], t1);
    assert.ok(!routes.some((r) => r.dst === '10.244.99.0/24'));
    assert.ok(routes.some((r) => r.dst === '10.244.2.0/24'));
    assert.ok(!(await listNeighs('flannel.1', t1)).some((n) => n.dst === '10.244.99.0'));
    assert.ok(!(await listFdb('flannel.1', t1)).some((f) => f.mac === '02:99:99:99:99:99'));
    assert.ok(await ping(1, 2));
    // h3's VtepMAC changes (as after a reboot): new neighbour + FDB entry, the old MAC's FDB entry is gone
    const oldMac = (vx.leases.get(3)!.attrs.BackendData as { VtepMAC: string }).VtepMAC;
    const changed = lease(3, 'vxlan', { VNI: 1, VtepMAC: '02:33:33:33:33:33' });
    await vx.be.get(1)!.reconcile([vx.leases.get(2)!, changed, vx.leases.get(4)!]);
    const fdb = await listFdb('flannel.1', t1);
    assert.ok(fdb.some((f) => f.mac === '02:33:33:33:33:33' && f.dst === hostIp(3)));
    assert.ok(!fdb.some((f) => f.mac === oldMac));
    assert.equal((await listNeighs('flannel.1', t1)).find((n) => n.dst === '10.244.3.0')?.lladdr, '02:33:33:33:33:33');
    const again = await vx.be.get(1)!.reconcile(peers);
    assert.equal(again.added, 1);
    assert.deepEqual(await vx.be.get(1)!.reconcile(peers), { added: 0, removed: 0, unchanged: 3 });
    assert.ok(await ping(1, 3));
  });

  it('vxlan: incremental passes apply lease events from memory; the full pass finds drift', async () => {
    const b = vx.be.get(1)!;
    const peers = [2, 3, 4].map((j) => vx.leases.get(j)!);
    await b.reconcile(peers);
    assert.deepEqual(await b.reconcile([peers[0]!, peers[1]!], { mode: 'incremental' }), { added: 0, removed: 1, unchanged: 2 });
    assert.ok(!(await listRoutes(['dev', 'flannel.1'], t1)).some((r) => r.dst === '10.244.4.0/24'));
    assert.equal((await b.reconcile(peers, { mode: 'incremental' })).added, 1);
    assert.ok(await ping(1, 4));
    sh(`ip -n ${hn(1)} route del 10.244.2.0/24`);
    assert.equal((await b.reconcile(peers, { mode: 'incremental' })).added, 0); // trusts its own record
    assert.equal((await b.reconcile(peers)).added, 1); // the full pass reads the kernel
    assert.ok(await ping(1, 2));
  });

  it('vxlan: an existing device is reused (same MAC) and its MTU updated', async () => {
    const before = await getLink('flannel.1', t1);
    const b = createBackend('vxlan', ctx(1, { Type: 'vxlan', MTU: 1400 }), { target: t1 });
    const attrs = await b.prepare();
    await b.activate(subnet(1));
    const now = await getLink('flannel.1', t1);
    assert.equal(now?.mtu, 1350);
    assert.equal(b.mtu, 1350);
    assert.equal(now?.address, before?.address);
    assert.equal((attrs.BackendData as { VtepMAC: string }).VtepMAC, before?.address);
    assert.equal(now?.ifindex, before?.ifindex, 'device was not recreated');
    // an incompatible device (other port) is recreated
    const c = createBackend('vxlan', ctx(1, { Type: 'vxlan', Port: 4789 }), { target: t1 });
    await c.prepare();
    assert.equal((await getLink('flannel.1', t1))?.linkinfo?.info_data?.port, 4789);
    assert.ok(logs.some((l) => l.includes('incompatible configuration: port 8472 != 4789')));
    // back to the cluster's settings; the peers' entries are reprogrammed by reconcile
    vx.be.set(1, createBackend('vxlan', ctx(1, { Type: 'vxlan' }), { target: t1 }) as VxlanBackend);
    const a = await vx.be.get(1)!.prepare();
    await vx.be.get(1)!.activate(subnet(1));
    vx.leases.set(1, lease(1, 'vxlan', a.BackendData));
    for (const i of HOSTS) await vx.be.get(i)!.reconcile(HOSTS.filter((j) => j !== i).map((j) => vx.leases.get(j)!));
    assert.deepEqual(await pingMatrix([1, 2]), []);
  });

  it('vxlan DirectRouting: on-link peers get plain routes, the routed peer stays on vxlan', async () => {
    const cfg = { Type: 'vxlan', DirectRouting: true };
    const dr = createBackend('vxlan', ctx(1, cfg), { target: t1 });
    await dr.prepare();
    await dr.activate(subnet(1));
    const peers = [2, 3, 4].map((j) => vx.leases.get(j)!);
    await dr.reconcile(peers);
    const direct = await listRoutes(['proto', String(VXLAN_DIRECT_PROTO)], t1);
    assert.deepEqual(direct.map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}`).sort(), ['10.244.2.0/24 via 10.0.0.12 dev eth0', '10.244.3.0/24 via 10.0.0.13 dev eth0']);
    const onDev = await listRoutes(['dev', 'flannel.1'], t1);
    assert.deepEqual(onDev.map((r) => r.dst), ['10.244.4.0/24']);
    assert.deepEqual((await listNeighs('flannel.1', t1)).map((n) => n.dst), ['10.244.4.0']);
    assert.deepEqual(await pingMatrix([1, 2, 3, 4]), []);
    // DirectRouting off again: the plain routes are replaced by vxlan ones
    await vx.be.get(1)!.reconcile(peers);
    assert.deepEqual(await listRoutes(['proto', String(VXLAN_DIRECT_PROTO)], t1), []);
    assert.equal((await listRoutes(['dev', 'flannel.1'], t1)).length, 3);
  });

  it('vxlan + host-gw active at once: a peer moving to host-gw keeps pings flowing', async () => {
    // h2 moves from vxlan to host-gw; h1 runs both backends (make-before-break)
    const hg1 = createBackend('host-gw', ctx(1, { Type: 'host-gw' }), { target: t1 });
    const hg2 = createBackend('host-gw', ctx(2, { Type: 'host-gw' }), { target: { netns: hn(2) } });
    await hg1.activate(subnet(1));
    await hg2.activate(subnet(2));
    const pinger = spawn('ip', ['netns', 'exec', cn(1), 'ping', '-i', '0.01', '-c', '300', '-W', '1', podIp(2)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    pinger.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const done = new Promise<void>((r) => pinger.on('close', () => r()));
    await new Promise((r) => setTimeout(r, 500));
    const l2hg = lease(2, 'host-gw');
    const peersH1 = [vx.leases.get(3)!, vx.leases.get(4)!];
    // h1: new route first (route replace swaps it), then vxlan drops h2's neighbour/FDB entries
    await hg1.reconcile([l2hg]);
    await vx.be.get(1)!.reconcile([l2hg, ...peersH1]);
    // h2: reaches h1 via host-gw too; its vxlan device stays for peers still on vxlan
    await hg2.reconcile([lease(1, 'host-gw')]);
    await vx.be.get(2)!.reconcile([vx.leases.get(3)!, vx.leases.get(4)!]);
    await done;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    assert.ok(m, out);
    const lost = Number(m[1]) - Number(m[2]);
    console.log(`# vxlan -> host-gw move h1<->h2: ${m[1]} sent, ${lost} lost`);
    assert.ok(lost <= 3, `lost ${lost} packets during the move`);
    const r = (await listRoutes([], t1)).find((x) => x.dst === '10.244.2.0/24');
    assert.equal(r?.dev, 'eth0');
    assert.equal(r?.protocol, String(HOSTGW_PROTO));
    assert.ok(!(await listNeighs('flannel.1', t1)).some((n) => n.dst === '10.244.2.0'));
    assert.ok(await ping(1, 3));
    // and back to vxlan on h1's side
    await vx.be.get(1)!.reconcile([vx.leases.get(2)!, ...peersH1]);
    await hg1.reconcile([]);
    assert.equal((await listRoutes([], t1)).find((x) => x.dst === '10.244.2.0/24')?.dev, 'flannel.1');
    await hg2.teardown();
    await vx.be.get(2)!.reconcile(HOSTS.filter((j) => j !== 2).map((j) => vx.leases.get(j)!));
    assert.deepEqual(await pingMatrix([1, 2]), []);
  });

  it('vxlan teardown leaves no device and no routes inside the Network', async () => {
    for (const i of HOSTS) await vx.be.get(i)!.teardown();
    for (const i of HOSTS) {
      const t = { netns: hn(i) };
      assert.ok(!(await listLinks(t)).some((l) => l.ifname.startsWith('flannel')));
      assert.deepEqual((await listRoutes([], t)).filter((r) => r.dst.startsWith('10.244.') && r.dev !== 'cni0'), []);
    }
  });

  it('host-gw: all adjacent pairs ping; the routed peer is reported, not fatal; stale routes removed', async () => {
    const be = new Map<number, Backend>();
    for (const i of HOSTS) {
      const b = createBackend('host-gw', ctx(i, { Type: 'host-gw' }), { target: { netns: hn(i) } });
      await b.prepare();
      await b.activate(subnet(i));
      be.set(i, b);
    }
    const hgLease = (i: number) => lease(i, 'host-gw');
    logs.length = 0;
    for (const i of HOSTS) await be.get(i)!.reconcile(HOSTS.filter((j) => j !== i).map(hgLease));
    assert.deepEqual(await pingMatrix([1, 2, 3]), []);
    assert.ok(logs.some((l) => l.startsWith('E host-gw: cannot route peer 10.244.4.0/24 via 10.0.1.14') && l.includes('not on-link')), logs.join('\n'));
    assert.ok(logs.some((l) => l.startsWith('E host-gw: cannot route peer 10.244.1.0/24 via 10.0.0.11')));
    // reported once, not on every pass
    const n = logs.filter((l) => l.startsWith('E ')).length;
    await be.get(1)!.reconcile([2, 3, 4].map(hgLease));
    assert.equal(logs.filter((l) => l.startsWith('E ')).length, n);
    // stale own route (as left by an earlier run) removed, a foreign route inside the Network kept,
    // a missing route re-added
    sh(
      [
        `ip -n ${hn(1)} route add 10.244.77.0/24 via 10.0.0.77 dev eth0 proto ${HOSTGW_PROTO}`,
        `ip -n ${hn(1)} route add 10.244.78.0/24 via 10.0.0.78 dev eth0`,
        `ip -n ${hn(1)} route del 10.244.3.0/24`,
      ].join('\n'),
    );
    const res = await be.get(1)!.reconcile([2, 3, 4].map(hgLease));
    assert.equal(res.removed, 1);
    const routes = await listRoutes([], t1);
    assert.ok(!routes.some((r) => r.dst === '10.244.77.0/24'));
    assert.ok(routes.some((r) => r.dst === '10.244.78.0/24'));
    assert.ok(routes.some((r) => r.dst === '10.244.3.0/24' && r.gateway === '10.0.0.13'));
    sh(`ip -n ${hn(1)} route del 10.244.78.0/24`);
    // a peer whose lease is gone loses its route
    await be.get(1)!.reconcile([3, 4].map(hgLease));
    assert.ok(!(await listRoutes([], t1)).some((r) => r.dst === '10.244.2.0/24'));
    for (const i of HOSTS) await be.get(i)!.teardown();
    for (const i of HOSTS) {
      assert.deepEqual((await listRoutes([], { netns: hn(i) })).filter((r) => r.dst.startsWith('10.244.') && r.dev !== 'cni0'), []);
    }
  });

  it('host-gw refuses a public IP that is not the interface IP (NAT)', () => {
    const c = ctx(1, { Type: 'host-gw' });
    c.extIface = { ...c.extIface, publicIp: '203.0.113.5' };
    assert.throws(() => createBackend('host-gw', c), /differs from interface IP.*NAT/);
  });
});
