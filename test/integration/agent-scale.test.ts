/**
 * Subnet uniqueness under a race, at scale (issue 13 item 5): 100 agents, each in its own network
 * namespace with its own address, against one real etcd, all racing for a lease at the same moment.
 * They are started while the config key is missing (each polls it every second, as flannel does), and
 * the config is written once every one of them is up and polling: within that second they all list,
 * plan and try their create-only transactions together.
 *  - A Network with room for 255 subnets: 100 distinct leases, each agent's subnet.env is its lease.
 *  - A Network with room for 4: 4 of 24 agents get one, every other one exits 1 with "out of subnets" and the
 *    range, and leaves no lease behind.
 * The agents run from the esbuild bundle with node (what flanneld.cjs is); wall times and the memory
 * they took are printed. FLANPROV_SCALE_AGENTS changes the number (default 100), FLANPROV_SCALE_SCARCE_AGENTS
 * the contenders for 4 subnets (default 24).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { Testbed, sleep, waitFor, type AgentProc, type Host } from './agent-harness.js';

const N = Number(process.env.FLANPROV_SCALE_AGENTS ?? 100);
const tb = new Testbed();
/** the periodic passes are not what is tested: keep 100 agents from re-reading the kernel every 2 s */
const FLAGS = ['-reconcile-interval=120', '-iptables-resync=120'];

before(async () => {
  await tb.setup();
  tb.startEtcd();
  for (let i = 0; i < N; i++) tb.addHost();
  await tb.waitEtcd();
});
after(() => tb.cleanup());

const subnetEnvOf = (h: Host) => /FLANNEL_SUBNET=(\d+\.\d+\.\d+)\.1\/(\d+)/.exec(readFileSync(h.subnetFile, 'utf8'));

/**
 * Memory of the agents, in MB: the largest RSS, and the sum of their private (anonymous) memory — the
 * node executable's pages are shared by all of them, so summing RSS would count them 100 times.
 */
function memoryOf(agents: AgentProc[]): { anonSum: number; maxRss: number } {
  let anonSum = 0;
  let maxRss = 0;
  for (const a of agents) {
    try {
      const st = readFileSync(`/proc/${a.pid}/status`, 'utf8');
      const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? 0);
      anonSum += kb('RssAnon') / 1024;
      maxRss = Math.max(maxRss, kb('VmRSS') / 1024);
    } catch { /* exited */ }
  }
  return { anonSum, maxRss };
}

/**
 * Starts one agent per host with the config key absent, waits until every one is polling for it, then
 * writes `config`. Returns the agents and the moments of the spawn and of the config write.
 */
async function raceFor(config: string, count = N): Promise<{ agents: AgentProc[]; spawnedAt: number; configAt: number }> {
  tb.etcdctl(['del', '--prefix', `${tb.prefix}/`]);
  for (const h of tb.hosts) rmSync(h.subnetFile, { force: true });
  const spawnedAt = Date.now();
  const agents = tb.hosts.slice(0, count).map((h) => tb.startAgent(h, FLAGS));
  await waitFor(`all ${count} agents polling for the config`, () => agents.every((a) => a.log().includes('Couldn\'t fetch network config')), 120_000, 200);
  console.log(`  ${N} agents up and polling for the config ${((Date.now() - spawnedAt) / 1000).toFixed(1)} s after the first spawn`);
  const configAt = Date.now();
  tb.putConfig(config);
  return { agents, spawnedAt, configAt };
}

async function stopAll(agents: AgentProc[]): Promise<void> {
  await Promise.all(agents.map((a) => tb.kill(a, 'SIGTERM')));
}

test(`${N} agents racing for leases at the same moment get ${N} distinct subnets, each agent's subnet.env its lease`, async () => {
  const { agents, spawnedAt, configAt } = await raceFor('{"Network":"10.16.0.0/16","Backend":{"Type":"vxlan"}}');
  try {
    await Promise.all(agents.map((a) => tb.waitReady(a, 120_000)));
    const readyAt = Date.now();
    const leases = tb.leases();
    assert.equal(leases.size, N, `${N} leases in etcd`);
    const byIp = new Map<string, string>();
    for (const [key, value] of leases) {
      const ip = (JSON.parse(value) as { PublicIP: string }).PublicIP;
      assert.ok(!byIp.has(ip), `${ip} holds two leases (${byIp.get(ip)} and ${key})`);
      byIp.set(ip, key);
    }
    for (const h of tb.hosts) {
      const m = subnetEnvOf(h);
      assert.ok(m, `${h.ns}: subnet.env has FLANNEL_SUBNET`);
      assert.equal(`${m[1]}.0-${m[2]}`, byIp.get(h.ip), `${h.ns}: subnet.env equals its lease`);
    }
    // every agent programs every other one (a sample: all of them would be 9,900 route checks)
    for (const h of [tb.hosts[0]!, tb.hosts[N - 1]!]) {
      await waitFor(`${h.ns} has a route to each of the ${N - 1} peers`, () => tb.routes(h).split('\n').filter((l) => l.includes('dev flannel.1 onlink')).length === N - 1, 60_000, 500);
    }
    const mem = memoryOf(agents);
    console.log(`  ${N} distinct leases: all agents ready ${((readyAt - configAt) / 1000).toFixed(1)} s after the config was written (${((readyAt - spawnedAt) / 1000).toFixed(1)} s after the first spawn); private memory ${mem.anonSum.toFixed(0)} MB in all, largest RSS ${mem.maxRss.toFixed(1)} MB`);
    for (const a of agents) assert.equal(a.proc.exitCode, null, `${a.host.ns} still running`);
  } finally {
    await stopAll(agents);
  }
});

/** 24 contenders for 4 subnets is the same race as 100 (the outcome is decided by the create-only txns) at a
 * quarter of the suite's time. */
const SCARCE = Math.min(N, Number(process.env.FLANPROV_SCALE_SCARCE_AGENTS ?? 24));

test(`a Network with room for 4 subnets: 4 of ${SCARCE} agents get one, every other one exits with "out of subnets" and leaves no lease`, async () => {
  const config = '{"Network":"10.17.0.0/21","SubnetLen":24,"SubnetMin":"10.17.1.0","SubnetMax":"10.17.4.0","Backend":{"Type":"vxlan"}}';
  const { agents, configAt } = await raceFor(config, SCARCE);
  try {
    await waitFor('every agent ready or exited', () => agents.every((a) => a.proc.exitCode !== null || a.log().includes('flannel is ready')), 120_000, 200);
    const settledAt = Date.now();
    const winners = agents.filter((a) => a.proc.exitCode === null);
    const losers = agents.filter((a) => a.proc.exitCode !== null);
    assert.equal(winners.length, 4, `4 agents with a lease (got ${winners.map((a) => a.host.ns).join(', ')})`);
    for (const a of losers) {
      assert.equal(a.proc.exitCode, 1, `${a.host.ns} exits 1`);
      assert.match(a.log(), /Error registering network: failed to acquire lease: out of subnets \(range 10\.17\.1\.0 \.\.\. 10\.17\.4\.0\)/, `${a.host.ns} says why`);
      assert.doesNotMatch(a.log(), /flannel is ready/);
    }
    const leases = tb.leases();
    assert.deepEqual([...leases.keys()].sort(), ['10.17.1.0-24', '10.17.2.0-24', '10.17.3.0-24', '10.17.4.0-24']);
    const holders = new Set([...leases.values()].map((v) => (JSON.parse(v) as { PublicIP: string }).PublicIP));
    assert.deepEqual([...holders].sort(), winners.map((a) => a.host.ip).sort(), 'the 4 leases belong to the 4 running agents, none to an agent that exited');
    for (const a of winners) {
      const m = subnetEnvOf(a.host)!;
      assert.equal(holders.has(a.host.ip) && leases.get(`${m[1]}.0-${m[2]}`)?.includes(`"PublicIP":"${a.host.ip}"`), true, `${a.host.ns}: subnet.env equals its lease`);
    }
    console.log(`  4 of ${SCARCE} agents got a lease, ${losers.length} exited with "out of subnets", ${((settledAt - configAt) / 1000).toFixed(1)} s after the config was written`);
    await sleep(500);
    assert.equal(tb.leases().size, 4, 'still 4: nobody left a lease behind or took one late');
  } finally {
    await stopAll(agents);
  }
});
