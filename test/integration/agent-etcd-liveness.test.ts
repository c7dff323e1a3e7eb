/**
 * An unresponsive etcd (issue 13 item 2), on the netns test bed with a real etcd and two agents:
 *  - etcd frozen with SIGSTOP (the TCP connections stay open, nothing fails, nothing answers);
 *  - one agent's connection stuck (iptables DROP in its namespace) while etcd keeps serving the other.
 * Each time: /status says etcd is not answering within seconds (one log line, not a flood), containers
 * keep pinging each other with nothing lost, no route, lease or subnet.env changes, and once etcd answers
 * again the agent says so and applies what changed meanwhile (leases and config re-read). Detection and
 * recovery times are printed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ETCD_IP, Testbed, agentReadyz, agentStatus, sh, sleep, subnetOf, waitFor, type AgentProc, type Host } from './agent-harness.js';

const tb = new Testbed();
const agents: AgentProc[] = [];
const cips: string[] = [];
const AGENT_FLAGS = ['-healthz-ip=127.0.0.1', '-healthz-port=8471'];
const CONFIG = '{"Network":"10.244.0.0/16","SubnetMax":"10.244.200.0","Backend":{"Type":"vxlan"}}';
/** the probe runs every 2 s with a 3 s deadline: detection within 5 s, plus slack for a busy machine */
const DETECT_LIMIT_S = 9;
const RECOVER_LIMIT_S = 12;
const FREEZE_S = 20;
/** longer than gRPC's keepalive (15 s + 5 s): the stuck connection is given up and a new one is needed */
const DROP_S = 25;
const peerLease = (n: number) => `{"PublicIP":"172.30.0.${n}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0e:2a:00:00:00:${n.toString(16).padStart(2, '0')}"}}`;
const fakeKey = (third: number) => `${tb.prefix}/subnets/10.244.${third}.0-24`;
const fakeRoute = (third: number) => `10.244.${third}.0/24 via 10.244.${third}.0 dev flannel.1 onlink`;

const status = agentStatus;
const readyz = agentReadyz;
const count = (s: string, re: RegExp) => (s.match(new RegExp(re, 'g')) ?? []).length;

/** Seconds until every host's /status says etcd.connected === want. */
async function until(hosts: Host[], want: boolean, what: string, limitS: number): Promise<number> {
  const t0 = Date.now();
  for (const h of hosts) await waitFor(`${h.ns}: ${what}`, () => status(h)?.etcd.connected === want, limitS * 1000, 100);
  return (Date.now() - t0) / 1000;
}

/** The data path as the kernel and the files have it (compared before/during an outage). */
function datapath(h: Host): string {
  const routes = sh(['ip', '-n', h.ns, 'route', 'show']).split('\n').sort().join('\n');
  const neigh = sh(['ip', '-n', h.ns, 'neigh', 'show', 'dev', 'flannel.1']).split('\n').filter((l) => l.includes('PERMANENT')).sort().join('\n');
  return `${routes}\n--\n${neigh}\n--\n${readFileSync(h.subnetFile, 'utf8')}`;
}

/** Containers ping each other both ways every 20 ms; resolves to [sent, received] per direction. */
function pingBothWays(seconds: number): Promise<[number, number][]> {
  const n = Math.round(seconds / 0.02);
  const [h1, h2] = tb.hosts as [Host, Host];
  return Promise.all([tb.pingLong(tb.containerNs(h1), cips[1]!, n, 0.02), tb.pingLong(tb.containerNs(h2), cips[0]!, n, 0.02)]);
}

before(async () => {
  await tb.setup();
  tb.startEtcd();
  for (let i = 0; i < 2; i++) tb.addHost();
  await tb.waitEtcd();
  tb.putConfig(CONFIG);
  for (const h of tb.hosts) agents.push(tb.startAgent(h, AGENT_FLAGS));
  await Promise.all(agents.map((a) => tb.waitReady(a)));
  for (const h of tb.hosts) cips.push(tb.addContainer(h));
  await until(tb.hosts, true, 'etcd connected', 5);
});
after(async () => {
  if (tb.etcd?.pid) process.kill(tb.etcd.pid, 'SIGCONT');
  await tb.cleanup();
});

test('etcd frozen (SIGSTOP): disconnected within seconds, data path untouched, an agent restarted meanwhile comes back, changes right after the thaw applied', async () => {
  const h2 = tb.hosts[1]!;
  const h2Subnet = subnetOf(h2);
  const before = tb.hosts.map(datapath);
  const leaseKeys = [...tb.leases().keys()].sort();
  const pings = pingBothWays(FREEZE_S + DETECT_LIMIT_S + 4);
  await sleep(1000);
  process.kill(tb.etcd!.pid!, 'SIGSTOP');
  let detectS: number;
  let stopS: number;
  try {
    detectS = await until(tb.hosts, false, 'etcd shown as not answering', DETECT_LIMIT_S);
    const st = status(tb.hosts[0]!)!;
    assert.equal(st.etcd.detail, 'no answer within 3 s');
    assert.ok(st.etcd.lastContact && Date.parse(st.etcd.lastContact) < Date.now() - 2000, `lastContact ${st.etcd.lastContact}`);
    const frozenFor = FREEZE_S * 1000;
    const end = Date.now() + frozenFor - detectS * 1000;
    while (Date.now() < end) {
      for (const h of tb.hosts) assert.equal(readyz(h), '200', `${h.ns} stays ready`);
      await sleep(1000);
    }
    tb.hosts.forEach((h, i) => assert.equal(datapath(h), before[i], `${h.ns}: routes, neighbours and subnet.env unchanged while etcd is frozen`));
    // SIGTERM while etcd is frozen: the agent exits at once (no wait for watch cancellations etcd never
    // confirms) and leaves everything in place; started again, it waits for etcd without touching anything
    const t = Date.now();
    assert.equal(await tb.kill(agents[1]!, 'SIGTERM'), 0, 'clean exit');
    stopS = (Date.now() - t) / 1000;
    assert.ok(stopS < 5, `SIGTERM took ${stopS} s with etcd frozen`);
    agents[1] = tb.startAgent(h2, AGENT_FLAGS);
    await sleep(3000);
    assert.equal(readyz(h2), '503', 'the new agent is not ready before it has read etcd');
    assert.equal(datapath(h2), before[1], 'and has touched nothing');
  } finally {
    process.kill(tb.etcd!.pid!, 'SIGCONT');
  }
  const thawAt = Date.now();
  const recoverS = await until([tb.hosts[0]!], true, 'etcd answering again', RECOVER_LIMIT_S);
  await tb.waitReady(agents[1]!, RECOVER_LIMIT_S * 1000);
  const restartS = (Date.now() - thawAt) / 1000;
  assert.equal(subnetOf(h2), h2Subnet, 'the restarted agent keeps its subnet');
  console.log(`SIGSTOP: every agent showed etcd as not answering after ${detectS.toFixed(1)} s, and as answering ${recoverS.toFixed(1)} s after SIGCONT; an agent stopped during the freeze exited in ${stopS.toFixed(1)} s, and its successor was ready ${restartS.toFixed(1)} s after SIGCONT`);
  assert.deepEqual([...tb.leases().keys()].sort(), leaseKeys, 'no lease given up');
  // stderr arrives asynchronously: wait for the line, then check there is only one of each
  const a1 = agents[0]!;
  await waitFor(`${a1.host.ns}: etcd back in the log`, () => count(a1.log(), /etcd answers again \(/) > 0, 3000, 50);
  assert.equal(count(a1.log(), /etcd is not answering \(/), 1, 'one line when etcd went away');
  assert.equal(count(a1.log(), /etcd answers again \(/), 1, 'one line when it was back');
  assert.doesNotMatch(agents[1]!.log(), /etcd is not answering|etcd answers again/, 'an agent that started during the outage only says it could not read the config');
  // a peer lease added right after the thaw is programmed, and its removal is applied
  const t0 = Date.now();
  tb.etcdctl(['put', fakeKey(240), peerLease(0x40)]);
  for (const h of tb.hosts) await waitFor(`${h.ns}: route to the lease added after the thaw`, () => tb.routes(h).includes(fakeRoute(240)), 5000, 50);
  tb.etcdctl(['del', fakeKey(240)]);
  for (const h of tb.hosts) await waitFor(`${h.ns}: route removed`, () => !tb.routes(h).includes(fakeRoute(240)), 5000, 50);
  console.log(`  lease added and removed after the thaw: applied on both agents in ${Date.now() - t0} ms`);
  for (const [sent, got] of await pings) assert.equal(got, sent, `lost ${sent - got} of ${sent} pings (every 20 ms) during the freeze`);
});

test('one agent\'s connection stuck (iptables DROP) while etcd serves the others: what changed meanwhile is picked up after recovery', async () => {
  const [h1, h2] = tb.hosts as [Host, Host];
  // a lease both agents program before the outage; it is deleted during it
  tb.etcdctl(['put', fakeKey(241), peerLease(0x41)]);
  for (const h of tb.hosts) await waitFor(`${h.ns}: route to 10.244.241.0`, () => tb.routes(h).includes(fakeRoute(241)), 5000, 50);
  const pings = pingBothWays(DROP_S + RECOVER_LIMIT_S);
  await sleep(1000);
  // both directions: with only h1's packets dropped, etcd's segments would still arrive (TCP accepts data
  // it cannot acknowledge) and the watch would go on delivering
  const iptables = (op: string) => {
    const ipt = ['ip', 'netns', 'exec', h1.ns, 'iptables', '-w', op];
    sh([...ipt, 'OUTPUT', '-d', ETCD_IP, '-p', 'tcp', '--dport', '2379', '-j', 'DROP']);
    sh([...ipt, 'INPUT', '-s', ETCD_IP, '-p', 'tcp', '--sport', '2379', '-j', 'DROP']);
  };
  iptables('-I');
  let detectS: number;
  let stuckFor: number;
  const t0 = Date.now();
  try {
    detectS = await until([h1], false, 'etcd shown as not answering', DETECT_LIMIT_S);
    assert.equal(status(h2)!.etcd.connected, true, 'the other agent still reaches etcd');
    // meanwhile: a peer comes, a peer goes, and the config changes in a way that needs a restart
    tb.etcdctl(['put', fakeKey(242), peerLease(0x42)]);
    tb.etcdctl(['del', fakeKey(241)]);
    tb.putConfig(CONFIG.replace('10.244.200.0', '10.244.210.0'));
    await waitFor('h2 applies the new lease', () => tb.routes(h2).includes(fakeRoute(242)) && !tb.routes(h2).includes(fakeRoute(241)), 5000, 50);
    await waitFor('h2 notes the config change', () => status(h2)?.pendingConfigChange?.includes('SubnetMax') === true, 5000, 100);
    await sleep(2000);
    const r1 = tb.routes(h1);
    assert.ok(!r1.includes(fakeRoute(242)), 'h1 cannot have seen the new lease');
    assert.ok(r1.includes(fakeRoute(241)), 'h1 removes nothing while it cannot reach etcd');
    assert.equal(status(h1)!.pendingConfigChange, null);
    assert.equal(readyz(h1), '200');
    await sleep(Math.max(0, DROP_S * 1000 - (Date.now() - t0)));
    assert.equal(status(h1)!.etcd.connected, false, 'still not answering');
    assert.ok(!tb.routes(h1).includes(fakeRoute(242)) && tb.routes(h1).includes(fakeRoute(241)), 'h1 unchanged');
    stuckFor = (Date.now() - t0) / 1000;
  } finally {
    iptables('-D');
  }
  const t1 = Date.now();
  const recoverS = await until([h1], true, 'etcd answering again', RECOVER_LIMIT_S);
  await waitFor('h1 applies the lease changes made while it was cut off', () => {
    const r = tb.routes(h1);
    return r.includes(fakeRoute(242)) && !r.includes(fakeRoute(241));
  }, 5000, 50);
  await waitFor('h1 notes the config change made while it was cut off', () => status(h1)?.pendingConfigChange?.includes('SubnetMax 10.244.200.0 -> 10.244.210.0') === true, 5000, 100);
  const appliedS = (Date.now() - t1) / 1000;
  console.log(`iptables DROP on h1 for ${stuckFor.toFixed(1)} s: h1 showed etcd as not answering after ${detectS.toFixed(1)} s, answering ${recoverS.toFixed(1)} s after the rule went, and had applied the changes made meanwhile (1 lease added, 1 removed, config) ${appliedS.toFixed(1)} s after it went`);
  assert.match(agents[0]!.log(), /leases re-listed at revision \d+ \(\d+ leases\) after etcd answered again/);
  // the new watch works: a change after recovery arrives by itself
  tb.etcdctl(['del', fakeKey(242)]);
  await waitFor('h1 follows the watch again', () => !tb.routes(h1).includes(fakeRoute(242)), 5000, 50);
  tb.putConfig(CONFIG);
  for (const h of tb.hosts) await waitFor(`${h.ns}: config back, nothing pending`, () => status(h)?.pendingConfigChange === null, 5000, 100);
  for (const [sent, got] of await pings) assert.equal(got, sent, `lost ${sent - got} of ${sent} pings (every 20 ms) while h1 was cut off from etcd`);
  for (const h of tb.hosts) assert.ok(tb.leases().has(subnetOf(h).replace('/', '-')), `${h.ns} kept its lease`);
});
