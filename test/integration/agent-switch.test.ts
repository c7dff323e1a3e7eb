/**
 * Live backend switch (issue 5 point 2) on the netns test bed with a real etcd: 3 hosts, one container
 * each, the config in etcd rewritten vxlan -> host-gw -> vxlan while every container pings every other
 * one every 10 ms (iputils `ping -D -O`, parsed by src/measure). Loss and the longest gap are printed
 * per pair and direction. To make "make-before-break" observable, one agent is frozen (SIGSTOP) for 3 s
 * while the others switch: pairs with that host only keep working if the others keep the old datapath
 * for it and it keeps reaching them — an agent that drops the old backend or ignores leases of the other
 * type would leave a gap of seconds there. Then: an agent killed in the middle of a switch and restarted
 * (it must adopt the old backend's leftovers while peers still use them, then remove them), and an agent
 * stopped during a switch (the others keep the old datapath until -backend-switch-timeout, then tear it
 * down; the stopped one converges when it starts again).
 *
 * The hosts are set up like lab hosts with Docker: FORWARD policy DROP with Docker's filter rules, and
 * flanneld with -ip-masq (its FLANNEL-POSTRTG chain NATs traffic leaving the Network, never pod-to-pod
 * traffic). The target is zero lost packets in every pair. The last test adds dockerd's own masquerade
 * rule (dockerd without --ip-masq=false): pod-to-pod flows are then NATed to the egress device's address,
 * and when a switch moves the route from flannel.1 to eth0 (or back), the kernel's NAT drops the first
 * packet of every such flow and forgets its mapping (nf_nat_inet_fn: nf_nat_oif_changed → NF_DROP) —
 * the one packet per direction and pair the lab lost before flanprov's drop-in passed --ip-masq=false.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Testbed, agentReadyz, agentStatus, sh, sleep, subnetOf, waitFor, type AgentProc, type Host } from './agent-harness.js';
import type { AgentStatus } from '../../src/network/agent-status.js';
import { parsePingLog } from '../../src/measure/ping-log.js';
import { pairStats, type PairStats } from '../../src/measure/gaps.js';

const tb = new Testbed();
const agents: AgentProc[] = [];
const cips: string[] = [];
const pingers = new Set<ChildProcess>();
const SWITCH_TIMEOUT_S = 6;
const VXLAN = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}';
const HOSTGW = '{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}';
const AGENT_FLAGS = ['-healthz-ip=127.0.0.1', '-healthz-port=8471', `-backend-switch-timeout=${SWITCH_TIMEOUT_S}s`, '-ip-masq'];

type Status = AgentStatus;
const status = agentStatus;
const readyz = agentReadyz;
const leaseOf = (h: Host) => tb.leases().get(subnetOf(h).replace('/', '-'));
const leaseType = (h: Host) => (JSON.parse(leaseOf(h) ?? '{}') as { BackendType?: string }).BackendType;
const agentOf = (h: Host) => agents[h.n - 1]!;

/** Every container pings every other container every 10 ms until stop() (SIGINT: ping prints its totals). */
function startPingers(): { stop: () => Promise<PairStats[]> } {
  const runs: { from: Host; to: Host; p: ChildProcess; out: () => string; done: Promise<void> }[] = [];
  for (const a of tb.hosts) {
    for (const b of tb.hosts) {
      if (a === b) continue;
      const p = spawn('ip', ['netns', 'exec', tb.containerNs(a), 'ping', '-n', '-D', '-O', '-i', '0.01', '-W', '1', cips[b.n - 1]!], { stdio: ['ignore', 'pipe', 'ignore'] });
      pingers.add(p);
      let out = '';
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const done = new Promise<void>((r) => p.once('exit', () => { pingers.delete(p); r(); }));
      runs.push({ from: a, to: b, p, out: () => out, done });
    }
  }
  return {
    stop: async () => {
      for (const r of runs) r.p.kill('SIGINT');
      await Promise.all(runs.map((r) => r.done));
      return runs.map((r) => pairStats(`h${r.from.n}`, `h${r.to.n}`, parsePingLog(r.out()), { intervalMs: 10, inFlightMs: 300 }));
    },
  };
}

function report(title: string, stats: PairStats[]): void {
  const lines = stats.map((s) => `  ${s.from} -> ${s.to}: sent ${s.sent}, lost ${s.lost} (${s.lossPct}%), longest gap ${s.longestGapMs} ms, max silence ${s.maxSilenceMs} ms`);
  console.log(`${title}\n${lines.join('\n')}`);
}

function assertGaps(stats: PairStats[]): void {
  for (const s of stats) {
    assert.ok(s.sent > 200, `${s.from} -> ${s.to}: only ${s.sent} packets judged`);
    assert.ok(s.longestGapMs <= 1000, `${s.from} -> ${s.to}: longest gap ${s.longestGapMs} ms (> 1 s)`);
    assert.equal(s.lost, 0, `${s.from} -> ${s.to}: ${s.lost} packet(s) lost`);
  }
}

/** Until every host's lease and /status say `backend` only, and it is ready. */
async function waitAllOn(backend: string, hosts = tb.hosts, timeoutMs = 20_000): Promise<void> {
  for (const h of hosts) {
    await waitFor(`${h.ns} on ${backend} only`, () => {
      const st = status(h);
      return leaseType(h) === backend && st?.ready === true && st.switching === false && JSON.stringify(st.activeBackends) === JSON.stringify([backend]);
    }, timeoutMs, 100);
  }
}

const re = (s: string) => s.replace(/\./g, '\\.');
function linkNames(h: Host): string[] {
  return (JSON.parse(sh(['ip', '-n', h.ns, '-j', 'link', 'show'])) as { ifname: string }[]).map((l) => l.ifname);
}
function subnetEnvMtu(h: Host): number {
  return Number(/FLANNEL_MTU=(\d+)/.exec(readFileSync(h.subnetFile, 'utf8'))![1]);
}

function assertHostGwState(): void {
  for (const h of tb.hosts) {
    assert.deepEqual(linkNames(h).filter((n) => n.startsWith('flannel')), [], `${h.ns}: no flannel.* device`);
    const routes = tb.routes(h);
    assert.doesNotMatch(routes, /dev flannel/, `${h.ns}: no route via a flannel device`);
    for (const p of tb.hosts) {
      if (p === h) continue;
      assert.match(routes, new RegExp(`^${re(subnetOf(p))} via ${re(p.ip)} dev eth0 proto 241`, 'm'), `${h.ns}: host-gw route to ${p.ns}`);
    }
    assert.equal(leaseOf(h), `{"PublicIP":"${h.ip}","PublicIPv6":null,"BackendType":"host-gw"}`);
    assert.equal(subnetEnvMtu(h), 1500, `${h.ns}: subnet.env MTU`);
    const st = status(h)!;
    assert.deepEqual(st.backends, [{ type: 'host-gw', mtu: 1500 }]);
    assert.equal(st.mtu, 1500);
  }
}

function assertVxlanState(): void {
  const macs = new Map<number, string>();
  for (const h of tb.hosts) {
    const link = (JSON.parse(sh(['ip', '-n', h.ns, '-j', 'link', 'show', 'flannel.1'])) as { address: string; mtu: number; flags: string[] }[])[0]!;
    assert.equal(link.mtu, 1450, `${h.ns}: flannel.1 MTU`);
    assert.ok(link.flags.includes('UP'), `${h.ns}: flannel.1 up`);
    macs.set(h.n, link.address);
    assert.equal(leaseOf(h), `{"PublicIP":"${h.ip}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${link.address}"}}`);
    assert.equal(subnetEnvMtu(h), 1450, `${h.ns}: subnet.env MTU`);
    assert.deepEqual(status(h)!.backends, [{ type: 'vxlan', mtu: 1450 }]);
  }
  for (const h of tb.hosts) {
    const peers = tb.hosts.filter((p) => p !== h);
    const devRoutes = sh(['ip', '-n', h.ns, 'route', 'show', 'dev', 'flannel.1']).trim().split('\n').sort();
    assert.equal(devRoutes.length, peers.length, `${h.ns}: one route per peer on flannel.1`);
    assert.doesNotMatch(tb.routes(h), /proto 241/, `${h.ns}: no host-gw route left`);
    const neigh = sh(['ip', '-n', h.ns, 'neigh', 'show', 'dev', 'flannel.1']).trim().split('\n');
    assert.equal(neigh.length, peers.length, `${h.ns}: neighbours ${neigh.join(' | ')}`);
    const fdb = sh(['bridge', '-n', h.ns, 'fdb', 'show', 'dev', 'flannel.1']).trim().split('\n').filter((l) => l.includes(' dst '));
    assert.equal(fdb.length, peers.length, `${h.ns}: FDB ${fdb.join(' | ')}`);
    for (const p of peers) {
      const gw = subnetOf(p).split('/')[0]!;
      assert.ok(devRoutes.some((r) => r.startsWith(`${subnetOf(p)} via ${gw} onlink`)), `${h.ns}: vxlan route to ${p.ns}: ${devRoutes.join(' | ')}`);
      assert.ok(neigh.some((n) => n.startsWith(`${gw} lladdr ${macs.get(p.n)} PERMANENT`)), `${h.ns}: neighbour for ${p.ns}`);
      assert.ok(fdb.some((f) => f.startsWith(`${macs.get(p.n)} dst ${p.ip} self permanent`)), `${h.ns}: FDB entry for ${p.ns}`);
    }
  }
}

function pingAll(): void {
  for (const a of tb.hosts) for (const b of tb.hosts) if (a !== b) assert.ok(tb.ping(tb.containerNs(a), cips[b.n - 1]!), `ping ${a.ns} -> ${b.ns}`);
}

/**
 * Writes `config` while h3's agent is frozen for `freezeMs`, polling /readyz on the running agents and
 * catching one mid-switch /status; returns the pair figures.
 */
async function switchWithFrozenPeer(config: string, to: string, from: string, freezeMs = 3000): Promise<{ stats: PairStats[]; mid: Status | undefined; readyCodes: string[] }> {
  const h3 = tb.hosts[2]!;
  const pings = startPingers();
  await sleep(700);
  const readyCodes: string[] = [];
  let mid: Status | undefined;
  process.kill(agentOf(h3).pid, 'SIGSTOP');
  try {
    tb.putConfig(config);
    const end = Date.now() + freezeMs;
    while (Date.now() < end) {
      for (const h of tb.hosts.slice(0, 2)) readyCodes.push(readyz(h));
      const st = status(tb.hosts[0]!);
      if (st?.switching && leaseType(tb.hosts[0]!) === to) mid ??= st;
      await sleep(150);
    }
  } finally {
    process.kill(agentOf(h3).pid, 'SIGCONT');
  }
  await waitAllOn(to);
  await sleep(700);
  const stats = await pings.stop();
  report(`${from} -> ${to} (h3's agent frozen ${freezeMs / 1000} s during the switch), ping every 10 ms:`, stats);
  return { stats, mid, readyCodes };
}

before(async () => {
  await tb.setup();
  tb.startEtcd();
  for (let i = 0; i < 3; i++) tb.dockerLikeFilter(tb.addHost());
  await tb.waitEtcd();
  tb.putConfig(VXLAN);
  for (const h of tb.hosts) agents.push(tb.startAgent(h, AGENT_FLAGS));
  await Promise.all(agents.map((a) => tb.waitReady(a)));
  for (const h of tb.hosts) cips.push(tb.addContainer(h));
  pingAll();
});
after(async () => {
  for (const p of pingers) p.kill('SIGKILL');
  for (const a of agents) if (a.proc.exitCode === null && a.proc.signalCode === null) process.kill(a.pid, 'SIGCONT');
  await tb.cleanup();
});

test('vxlan -> host-gw live: no gap over 1 s in any pair, old datapath kept for the frozen peer, then removed', async () => {
  const { stats, mid, readyCodes } = await switchWithFrozenPeer(HOSTGW, 'host-gw', 'vxlan');
  assert.ok(mid, 'h1 reported a switch in progress while h3 was frozen');
  assert.equal(mid.backend, 'host-gw');
  assert.deepEqual(mid.activeBackends, ['host-gw', 'vxlan']);
  assert.deepEqual(mid.backends.map((b) => b.type), ['host-gw', 'vxlan']);
  assert.ok(mid.switchingSince);
  assert.deepEqual(mid.switch?.from, ['vxlan']);
  assert.equal(mid.peersByBackend.vxlan, 1, 'h3 still on vxlan');
  assert.equal(mid.peersByBackend['host-gw'], 1, 'h2 already on host-gw');
  assert.ok(readyCodes.length > 5 && readyCodes.every((c) => c === '200'), `/readyz during the switch: ${readyCodes.join(',')}`);
  assertGaps(stats);
  assertHostGwState();
  pingAll();
  for (const a of agents) await waitFor(`${a.host.ns} logs the completed switch`, () => /backend switch to host-gw complete .*every peer moved/.test(a.log()), 3000);
});

test('host-gw -> vxlan live: no gap over 1 s, device back with MTU 1450, routes/neighbours/FDB match the leases', async () => {
  const { stats, mid } = await switchWithFrozenPeer(VXLAN, 'vxlan', 'host-gw');
  assert.ok(mid, 'h1 reported a switch in progress while h3 was frozen');
  assert.deepEqual(mid.activeBackends, ['vxlan', 'host-gw']);
  assertGaps(stats);
  assertVxlanState();
  pingAll();
});

test('agent killed in the middle of a switch: on restart it keeps the old datapath while peers use it, then removes it', async () => {
  const [h1, h2, h3] = tb.hosts as [Host, Host, Host];
  const pings = startPingers();
  await sleep(700);
  process.kill(agentOf(h2).pid, 'SIGSTOP');
  process.kill(agentOf(h3).pid, 'SIGSTOP');
  try {
    tb.putConfig(HOSTGW);
    await waitFor('h1 lease on host-gw', () => leaseType(h1) === 'host-gw', 5000, 20);
    await tb.kill(agentOf(h1), 'SIGKILL');
    assert.ok(linkNames(h1).includes('flannel.1'), 'kill -9 leaves the device');
    agents[0] = tb.startAgent(h1, AGENT_FLAGS);
    await tb.waitReady(agents[0]!);
    const st = status(h1)!;
    assert.equal(st.switching, true);
    assert.equal(st.switch?.reason, 'restart');
    assert.deepEqual(st.activeBackends, ['host-gw', 'vxlan']);
    await waitFor('h1 logs the adopted leftover', () => /found device flannel\.1 of the vxlan backend .*keeping it for 2 peer\(s\) still on vxlan/.test(agents[0]!.log()), 3000);
    await sleep(1000);
  } finally {
    process.kill(agentOf(h2).pid, 'SIGCONT');
    process.kill(agentOf(h3).pid, 'SIGCONT');
  }
  await waitAllOn('host-gw');
  await sleep(700);
  const stats = await pings.stop();
  report('vxlan -> host-gw with h1 killed (-9) and restarted mid-switch, h2/h3 frozen meanwhile:', stats);
  assertGaps(stats);
  assertHostGwState();
});

test('agent stopped during a switch: the others keep the old datapath until the timeout, then tear it down; the stopped one converges', async () => {
  const [h1, h2, h3] = tb.hosts as [Host, Host, Host];
  assert.equal(await tb.kill(agentOf(h3), 'SIGTERM'), 0);
  const t0 = Date.now();
  tb.putConfig(VXLAN);
  await waitFor('h1 and h2 leases on vxlan', () => leaseType(h1) === 'vxlan' && leaseType(h2) === 'vxlan', 10_000, 50);
  // h3 is still on host-gw: h1 and h2 keep host-gw for it, and its containers stay reachable
  for (const h of [h1, h2]) {
    const st = status(h)!;
    assert.equal(st.switching, true);
    assert.deepEqual(st.activeBackends, ['vxlan', 'host-gw']);
    assert.deepEqual(st.switch?.waitingFor, [subnetOf(h3)]);
    assert.match(tb.routes(h), new RegExp(`^${re(subnetOf(h3))} via ${re(h3.ip)} dev eth0 proto 241`, 'm'));
  }
  assert.ok(tb.ping(tb.containerNs(h1), cips[2]!), 'h1 -> h3 during the wait');
  assert.ok(tb.ping(tb.containerNs(h3), cips[1]!), 'h3 -> h2 during the wait');
  assert.ok(tb.ping(tb.containerNs(h1), cips[1]!), 'h1 -> h2 (vxlan)');
  // the timeout tears host-gw down on h1 and h2
  await waitAllOn('vxlan', [h1, h2], (SWITCH_TIMEOUT_S + 8) * 1000);
  const waited = (Date.now() - t0) / 1000;
  assert.ok(waited >= SWITCH_TIMEOUT_S - 0.5, `host-gw kept ${waited.toFixed(1)} s (timeout ${SWITCH_TIMEOUT_S} s)`);
  for (const h of [h1, h2]) {
    assert.doesNotMatch(tb.routes(h), /proto 241/, `${h.ns}: host-gw routes removed`);
    await waitFor(`${h.ns} logs the timeout`, () => /1 peer\(s\) still on host-gw after 6s: .*removing host-gw anyway/.test(agentOf(h).log()), 3000);
  }
  // h3 starts again: config says vxlan, its host-gw routes are leftovers nobody needs
  agents[2] = tb.startAgent(h3, AGENT_FLAGS);
  await tb.waitReady(agents[2]!);
  await waitFor('h3 logs the leftover removal', () => /removed 2 host-gw route\(s\) left by the host-gw backend/.test(agents[2]!.log()), 3000);
  await waitAllOn('vxlan');
  await waitFor('h1/h2 program h3 by vxlan', () => tb.hosts.every((h) => h === h3 || tb.routes(h).includes(`${subnetOf(h3)} via ${subnetOf(h3).split('/')[0]} dev flannel.1 onlink`)), 10_000, 100);
  assertVxlanState();
  pingAll();
});

test('dockerd\'s own masquerade on (no --ip-masq=false): a switch drops exactly one packet of every masqueraded flow (kernel NAT, not the agent)', async () => {
  for (const h of tb.hosts) tb.dockerMasquerade(h, true);
  try {
    const pings = startPingers();
    await sleep(700);
    tb.putConfig(HOSTGW);
    await waitAllOn('host-gw');
    await sleep(700);
    const stats = await pings.stop();
    report('vxlan -> host-gw with dockerd\'s MASQUERADE in every host, ping every 10 ms:', stats);
    for (const s of stats) {
      assert.ok(s.longestGapMs <= 1000, `${s.from} -> ${s.to}: longest gap ${s.longestGapMs} ms (> 1 s)`);
      assert.equal(s.lost, 1, `${s.from} -> ${s.to}: the first packet after the route moved to eth0 is dropped by NAT, no other`);
    }
    assertHostGwState();
  } finally {
    for (const h of tb.hosts) tb.dockerMasquerade(h, false);
  }
});
