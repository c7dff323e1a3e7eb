/**
 * flanneld on a real kernel and a real etcd: 3 hosts on one L2 segment, vxlan backend.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Testbed, sh, sleep, subnetOf, waitFor, type AgentProc } from './agent-harness.js';

const tb = new Testbed();
const agents: AgentProc[] = [];
const cips: string[] = [];

before(async () => {
  await tb.setup();
  tb.startEtcd();
  for (let i = 0; i < 3; i++) tb.addHost();
  await tb.waitEtcd();
});
after(() => tb.cleanup());

test('waits for the config key and says so, then starts once it appears', async () => {
  const a = tb.startAgent(tb.hosts[0]!);
  agents.push(a);
  await waitFor('config-missing message', () => a.log().includes(`flannel config not found in etcd store (${tb.prefix}/config). Did you create your config using etcdv3 API?`));
  tb.putConfig('{"NetWork":"10.244.0.0/16","SubnetMin":"10.244.1.0","SubnetMax":"10.244.200.0","Backend":{"Type":"vxlan"}}');
  await tb.waitReady(a);
  agents.push(tb.startAgent(tb.hosts[1]!), tb.startAgent(tb.hosts[2]!));
  await Promise.all(agents.slice(1).map((x) => tb.waitReady(x)));
  for (const h of tb.hosts) cips.push(tb.addContainer(h));
});

test("leases carry flannel's JSON; subnet.env is flannel's format", () => {
  const leases = tb.leases();
  assert.equal(leases.size, 3);
  for (const h of tb.hosts) {
    const sn = subnetOf(h);
    const v = leases.get(sn.replace('/', '-'));
    assert.ok(v, `lease for ${sn}`);
    const mac = sh(['ip', '-n', h.ns, '-j', 'link', 'show', 'flannel.1']);
    const addr = (JSON.parse(mac) as { address: string }[])[0]!.address;
    assert.equal(v, `{"PublicIP":"${h.ip}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${addr}"}}`);
    const env = sh(['cat', h.subnetFile]);
    assert.match(env, /^FLANNEL_NETWORK=10\.244\.0\.0\/16\nFLANNEL_SUBNET=10\.244\.\d+\.1\/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n$/);
  }
});

test('containers ping across all host pairs', async () => {
  for (const a of tb.hosts) {
    for (const b of tb.hosts) {
      if (a === b) continue;
      assert.ok(tb.ping(tb.containerNs(a), cips[b.n - 1]!), `${a.ns} -> ${b.ns}`);
    }
  }
});

test('a lease written by hand in Go flanneld\'s JSON (foreign vxlan peer) is programmed', async () => {
  const mac = '0e:2a:11:22:33:44';
  tb.etcdctl(['put', `${tb.prefix}/subnets/10.244.250.0-24`, `{"PublicIP":"172.30.0.99","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${mac}"}}`]);
  for (const h of tb.hosts) {
    await waitFor(`route to foreign peer on ${h.ns}`, () => tb.routes(h).includes('10.244.250.0/24 via 10.244.250.0 dev flannel.1 onlink'), 5000);
    const neigh = sh(['ip', '-n', h.ns, 'neigh', 'show', 'dev', 'flannel.1']);
    assert.match(neigh, new RegExp(`10\\.244\\.250\\.0 lladdr ${mac} PERMANENT`));
    const fdb = sh(['bridge', '-n', h.ns, 'fdb', 'show', 'dev', 'flannel.1']);
    assert.match(fdb, new RegExp(`${mac} dst 172\\.30\\.0\\.99 self permanent`));
  }
  // a lease of another backend type is ignored (with a warning), not programmed
  tb.etcdctl(['put', `${tb.prefix}/subnets/10.244.251.0-24`, '{"PublicIP":"172.30.0.98","PublicIPv6":null,"BackendType":"host-gw"}']);
  await waitFor('ignore warning', () => agents[0]!.log().includes('Ignoring non-vxlan subnet 10.244.251.0/24'), 5000);
  assert.ok(!tb.routes(tb.hosts[0]!).includes('10.244.251.0/24'));
  tb.etcdctl(['del', `${tb.prefix}/subnets/10.244.251.0-24`]);
});

test('a peer whose lease is deleted loses its routes everywhere', async () => {
  tb.etcdctl(['del', `${tb.prefix}/subnets/10.244.250.0-24`]);
  for (const h of tb.hosts) {
    await waitFor(`route removed on ${h.ns}`, () => !tb.routes(h).includes('10.244.250.0/24'), 5000);
    assert.doesNotMatch(sh(['ip', '-n', h.ns, 'neigh', 'show', 'dev', 'flannel.1']), /10\.244\.250\.0 /);
  }
});

test('kill -9 and restart keeps the subnet and loses no pings', async () => {
  const h = tb.hosts[1]!;
  const before = subnetOf(h);
  const pings = tb.pingLong(tb.containerNs(tb.hosts[0]!), cips[1]!, 40, 0.1);
  await sleep(500);
  await tb.kill(agents[1]!, 'SIGKILL');
  agents[1] = tb.startAgent(h);
  assert.equal(await tb.waitReady(agents[1]!), before);
  const [sent, got] = await pings;
  assert.equal(got, sent, `lost ${sent - got} of ${sent} pings`);
  assert.match(agents[1]!.log(), new RegExp(`Found lease \\(ip: ${before.replace(/\./g, '\\.')} ipv6: ::/0\\) for current IP \\(${h.ip}\\), reusing`));
});

test('if its own lease disappears, the agent re-acquires the same subnet', async () => {
  const h = tb.hosts[2]!;
  const sn = subnetOf(h);
  tb.etcdctl(['del', `${tb.prefix}/subnets/${sn.replace('/', '-')}`]);
  await waitFor('lease re-created', () => tb.leases().has(sn.replace('/', '-')), 10_000);
  assert.match(tb.leases().get(sn.replace('/', '-'))!, new RegExp(`"PublicIP":"${h.ip}"`));
  assert.equal(subnetOf(h), sn);
});

test('SIGTERM exits 0 and leaves lease, device and routes in place', async () => {
  const h = tb.hosts[2]!;
  const routesBefore = tb.routes(h);
  const code = await tb.kill(agents[2]!, 'SIGTERM');
  assert.equal(code, 0);
  assert.equal(tb.routes(h), routesBefore);
  assert.ok(tb.leases().has(subnetOf(h).replace('/', '-')));
  agents[2] = tb.startAgent(h);
  await tb.waitReady(agents[2]!);
});

test('etcd stopped for 30 s: pings keep flowing, the agents recover by themselves', async () => {
  const pings = tb.pingLong(tb.containerNs(tb.hosts[0]!), cips[2]!, 60, 0.5);
  await tb.stopEtcd();
  await sleep(30_000);
  tb.startEtcd();
  await tb.waitEtcd();
  const [sent, got] = await pings;
  assert.equal(got, sent, `lost ${sent - got} of ${sent} pings during the etcd outage`);
  for (const a of agents) assert.equal(a.proc.exitCode, null, `${a.host.ns} still running`);
  // recovered: a new peer lease written after the outage is programmed everywhere
  tb.etcdctl(['put', `${tb.prefix}/subnets/10.244.252.0-24`, '{"PublicIP":"172.30.0.97","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0e:2a:00:00:00:97"}}']);
  for (const h of tb.hosts) {
    await waitFor(`route after etcd recovery on ${h.ns}`, () => tb.routes(h).includes('10.244.252.0/24 via 10.244.252.0 dev flannel.1 onlink'), 20_000, 200);
  }
});
