/**
 * flanneld with host-gw on 3 hosts, readiness/health endpoints, and 20 agents started at once.
 */
import { parseAgentStatus } from '../../src/network/agent-status.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Testbed, sh, subnetOf, waitFor, type AgentProc } from './agent-harness.js';

const tb = new Testbed();
const agents: AgentProc[] = [];
const cips: string[] = [];

before(async () => {
  await tb.setup();
  tb.startEtcd();
  for (let i = 0; i < 3; i++) tb.addHost();
  await tb.waitEtcd();
  tb.putConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}');
});
after(() => tb.cleanup());

test('host-gw: 3 hosts ready, routes via peers\' public IPs, containers ping across all pairs', async () => {
  for (const h of tb.hosts) agents.push(tb.startAgent(h, ['-healthz-ip=127.0.0.1', '-healthz-port=8471']));
  await Promise.all(agents.map((a) => tb.waitReady(a)));
  for (const h of tb.hosts) cips.push(tb.addContainer(h));
  for (const a of tb.hosts) {
    for (const b of tb.hosts) {
      if (a === b) continue;
      assert.match(tb.routes(a), new RegExp(`${subnetOf(b).replace(/\./g, '\\.')} via ${b.ip.replace(/\./g, '\\.')} dev eth0`));
      assert.ok(tb.ping(tb.containerNs(a), cips[b.n - 1]!), `${a.ns} -> ${b.ns}`);
    }
  }
  const v = tb.leases().get(subnetOf(tb.hosts[0]!).replace('/', '-'));
  assert.equal(v, `{"PublicIP":"${tb.hosts[0]!.ip}","PublicIPv6":null,"BackendType":"host-gw"}`);
  const env = sh(['cat', tb.hosts[0]!.subnetFile]);
  assert.match(env, /^FLANNEL_NETWORK=10\.244\.0\.0\/16\nFLANNEL_SUBNET=10\.244\.\d+\.1\/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=false\n$/);
});

test('/healthz, /readyz (flannel bodies) and /status JSON', () => {
  const h = tb.hosts[0]!;
  const curl = (path: string) => sh(['ip', 'netns', 'exec', h.ns, 'curl', '-s', '-w', '\n%{http_code}', `http://127.0.0.1:8471${path}`]);
  assert.equal(curl('/healthz'), 'flanneld is running\n200');
  assert.equal(curl('/readyz'), 'flanneld is ready\n200');
  const [body] = curl('/status').split('\n');
  const st = parseAgentStatus(body!); // the contract the CLI reads /status by
  assert.equal(st.ready, true);
  assert.equal(st.subnet, subnetOf(h));
  assert.equal(st.publicIP, h.ip);
  assert.deepEqual(st.backends, [{ type: 'host-gw', mtu: 1500 }]);
  assert.equal(st.peerCount, 2);
  assert.ok(st.lastReconcile?.at);
  assert.deepEqual(st.activeBackends, ['host-gw']);
  assert.equal(st.etcd.connected, true);
  assert.equal(typeof st.configRevision, 'string');
});

test('a peer whose lease is deleted loses its host-gw route everywhere', async () => {
  const gone = tb.hosts[2]!;
  const sn = subnetOf(gone);
  await tb.kill(agents[2]!, 'SIGTERM');
  tb.etcdctl(['del', `${tb.prefix}/subnets/${sn.replace('/', '-')}`]);
  for (const h of tb.hosts.slice(0, 2)) {
    await waitFor(`route to ${sn} removed on ${h.ns}`, () => !tb.routes(h).includes(sn), 5000);
  }
});

test('20 agents started at the same moment get 20 distinct subnets', async () => {
  for (const a of agents) await tb.kill(a, 'SIGTERM');
  tb.etcdctl(['del', '--prefix', `${tb.prefix}/subnets/`]);
  tb.putConfig('{"Network":"10.250.0.0/16","Backend":{"Type":"vxlan"}}');
  while (tb.hosts.length < 20) tb.addHost();
  const many = tb.hosts.map((h) => tb.startAgent(h, ['-subnet-file', `${h.dir}/many.env`]));
  try {
    await Promise.all(many.map((a) => waitFor(`${a.host.ns} ready`, () => a.log().includes('flannel is ready') || a.proc.exitCode !== null, 60_000, 100)));
    for (const a of many) assert.equal(a.proc.exitCode, null, a.log());
    const leases = tb.leases();
    assert.equal(leases.size, 20);
    const byIp = new Set([...leases.values()].map((v) => (JSON.parse(v) as { PublicIP: string }).PublicIP));
    assert.equal(byIp.size, 20, 'one lease per host');
    const subnets = many.map((a) => /FLANNEL_SUBNET=(\S+)/.exec(sh(['cat', `${a.host.dir}/many.env`]))![1]);
    assert.equal(new Set(subnets).size, 20, `distinct subnets: ${subnets.join(' ')}`);
  } finally {
    await Promise.all(many.map((a) => tb.kill(a, 'SIGKILL')));
  }
});
