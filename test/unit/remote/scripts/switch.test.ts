/**
 * switch-poll.sh (phases/switch/observe.ts) and switch-kernel.sh (check-datapath.ts) run by bash against
 * stub systemctl/ip/bridge and a real HTTP server standing in for the agent's /status: what parsePoll and
 * parseKernel make of the real output, and which commands ran.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stubBox } from './harness.js';
import { RemotePaths } from '../../../../src/inventory/types.js';
import { parsePoll, pollScript } from '../../../../src/phases/switch/observe.js';
import { kernelScript, parseKernel } from '../../../../src/phases/switch/check-datapath.js';
import { agentStatusFixture } from '../../../fixtures/agent-status.js';

const box = stubBox({
  systemctl: '[ "$*" = "is-active flanneld.service" ] && echo activating',
  ip: `case "$*" in
  '-j -d link show') echo '[{"ifname":"flannel.1","flags":["UP"],"mtu":1450,"linkinfo":{"info_kind":"vxlan"}}]' ;;
  '-j -4 route show table main') echo '[{"dst":"10.244.2.0/24","gateway":"10.244.2.0","dev":"flannel.1","flags":["onlink"]}]' ;;
  '-j -4 neigh show dev flannel.1') echo '[{"dst":"10.244.2.0","lladdr":"aa:bb:cc:dd:ee:02","state":["PERMANENT"]}]' ;;
  *) echo "Cannot find device" >&2; exit 1 ;;
esac`,
  bridge: `[ "$*" = '-j fdb show dev flannel.1' ] && echo '[{"mac":"aa:bb:cc:dd:ee:02","dst":"198.18.1.12","flags":["self","permanent"]}]'`,
});
const status = agentStatusFixture(['vxlan', 'host-gw']);
const agent = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(req.url === '/status' ? JSON.stringify(status) : '{}');
});
after(() => {
  agent.close();
  box.close();
});

test('switch-poll.sh: unit state, /status and subnet.env in one look; parsePoll reads them', async () => {
  const port = await new Promise<number>((res) => agent.listen(0, '127.0.0.1', () => res((agent.address() as AddressInfo).port)));
  const env = join(box.dir, 'subnet.env');
  writeFileSync(env, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.5.1/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=true\n');
  const r = await box.run(pollScript(port).replace(`SUBNET_ENV='${RemotePaths.subnetEnv}'`, `SUBNET_ENV='${env}'`));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.calls, ['systemctl is-active flanneld.service']);
  const o = parsePoll('h1', r.stdout);
  assert.equal(o.unit, 'activating');
  assert.deepEqual(o.status, status);
  assert.equal(o.subnetEnv?.mtu, 1500);
  const none = parsePoll('h1', (await box.run(pollScript(1))).stdout);
  assert.equal(none.status, undefined, 'no agent listening: no status');
});

test('switch-kernel.sh: links, routes, neighbours and FDB of the device; a missing device gives empty lists', async () => {
  const r = await box.run(kernelScript('flannel.1'));
  assert.equal(r.code, 0, r.stderr);
  const k = parseKernel(r.stdout);
  assert.deepEqual(k.links.map((l) => [l.ifname, l.mtu]), [['flannel.1', 1450]]);
  assert.deepEqual(k.routes.map((x) => [x.dst, x.gateway]), [['10.244.2.0/24', '10.244.2.0']]);
  assert.deepEqual(k.neighs.map((n) => n.lladdr), ['aa:bb:cc:dd:ee:02']);
  assert.deepEqual(k.fdb.map((f) => f.dst), ['198.18.1.12']);
  const gone = await box.run(kernelScript('flannel.9'));
  assert.equal(gone.code, 0, gone.stderr);
  assert.deepEqual([parseKernel(gone.stdout).neighs, parseKernel(gone.stdout).fdb], [[], []]);
  assert.ok(gone.calls.includes('ip -j -4 neigh show dev flannel.9') && gone.calls.includes('bridge -j fdb show dev flannel.9'), gone.calls.join('\n'));
});
