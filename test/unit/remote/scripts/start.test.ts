/**
 * start.sh (phases/up/start.ts) and docker-restart.sh (shared/docker-state.ts) run by bash against stub systemctl/ip/docker and a
 * real HTTP server standing in for the agent's /readyz and /status: the takeover ends old units and shell
 * processes (SIGKILL for one that ignores SIGTERM), the plan's commands run in order, the wait ends on the
 * first 200, and the phase's parsers read the script's real output.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stubBox } from './harness.js';
import { startScript } from '../../../../src/phases/up/start.js';
import { dockerRestartScript, parseDockerState } from '../../../../src/phases/shared/docker-state.js';
import { parseProbe } from '../../../../src/phases/shared/ping-matrix.js';
import { parseSections, section } from '../../../../src/remote/sections.js';
import { readAgentStatus } from '../../../../src/network/agent-status.js';
import { RemotePaths } from '../../../../src/inventory/types.js';
import { agentStatusFixture } from '../../../fixtures/agent-status.js';

const dockerPid = process.pid; // a live process whose /proc/PID/cmdline the test can read too
const D0 = '[{"ifname":"docker0","addr_info":[{"family":"inet","local":"10.244.5.1","prefixlen":24}]}]';
const box = stubBox({
  // FP_FAIL names the unit whose restart fails
  systemctl: `case "$*" in
  "restart $FP_FAIL") exit 1 ;;
  'status --no-pager -n 20 '*) echo "× $5 - failed to start"; exit 3 ;;
  'is-active flanneld.service'|'is-active docker.service') echo active ;;
  'show -p MainPID --value docker.service') echo ${dockerPid} ;;
esac
exit 0`,
  ip: `[ "$*" = '-j -4 addr show dev docker0' ] && echo '${D0}'`,
  docker: `[ "$1 $2 $3" = 'network inspect bridge' ] && echo '1450 10.244.5.0/24 10.244.5.1'
case $1 in run) [ -n "$FP_PROBE_FAIL" ] && exit 125; echo c0ffee ;; inspect) echo 4242 ;; esac
exit 0`,
  nsenter: `echo '[{"ifname":"eth0","mtu":1450,"addr_info":[{"family":"inet","local":"10.244.5.2","prefixlen":24}]}]'`,
});

// the agent: /readyz says 503 until `readyAfter` requests have come, then 200
let readyAfter = 0;
let readyzCalls = 0;
const agent = createServer((req, res) => {
  if (req.url === '/readyz') {
    readyzCalls++;
    res.statusCode = readyzCalls > readyAfter ? 200 : 503;
    res.end(res.statusCode === 200 ? 'ok' : 'not ready');
  } else if (req.url === '/status') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(agentStatusFixture(['vxlan'])));
  } else {
    res.statusCode = 404;
    res.end();
  }
});
const children: ChildProcess[] = [];
after(() => {
  agent.close();
  for (const c of children) c.kill('SIGKILL');
  box.close();
});
const port = new Promise<number>((res) => agent.listen(0, '127.0.0.1', () => res((agent.address() as AddressInfo).port)));

const subnetEnv = join(box.dir, 'subnet.env');
writeFileSync(subnetEnv, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.5.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
const withSubnetEnv = (s: string) => s.replace(`SUBNET_ENV='${RemotePaths.subnetEnv}'`, `SUBNET_ENV='${subnetEnv}'`);
const plan = { daemonReload: true, enableAgent: true, restartAgent: 'binary changed', dockerDropInChanged: false };

function exited(c: ChildProcess): Promise<NodeJS.Signals | null> {
  return new Promise((res) => (c.exitCode !== null || c.signalCode !== null ? res(c.signalCode) : c.on('exit', (_code, sig) => res(sig))));
}

test('start.sh: takeover ends the old unit and shell agents, then reload, enable, restart in order; ready on the first 200; sections parse', async () => {
  readyAfter = 3;
  readyzCalls = 0;
  const polite = spawn('sleep', ['60']);
  const stubborn = spawn('bash', ['-c', 'trap "" TERM; while :; do sleep 0.1; done']);
  children.push(polite, stubborn);
  await new Promise((r) => setTimeout(r, 200)); // bash has set its trap
  const t0 = Date.now();
  const r = await box.run(withSubnetEnv(startScript(plan, { units: ['old-flannel.service'], pids: [polite.pid!, stubborn.pid!] }, await port, 10)));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await Promise.all([exited(polite), exited(stubborn)]), ['SIGTERM', 'SIGKILL']);
  assert.ok(Date.now() - t0 >= 5000, 'SIGKILL only after 5 s of SIGTERM');
  assert.deepEqual(r.calls.filter((c) => !/^(systemctl (is-active|show)|ip |docker )/.test(c)), [
    'systemctl disable -q old-flannel.service', 'systemctl stop old-flannel.service',
    'systemctl daemon-reload', 'systemctl enable -q flanneld.service',
    'systemctl reset-failed flanneld.service', 'systemctl restart flanneld.service',
  ]);
  assert.equal(readyzCalls, 4, 'polled until the first 200, then stopped');
  const s = parseSections(r.stdout);
  assert.equal(section(s, 'ready')?.body, 'yes');
  assert.equal(section(s, 'active')?.body, 'active');
  assert.match(section(s, 'subnet_env')?.body ?? '', /^FLANNEL_SUBNET=10\.244\.5\.1\/24$/m);
  assert.deepEqual(readAgentStatus(section(s, 'status')?.body).status, agentStatusFixture(['vxlan']));
  assert.deepEqual(parseDockerState(r.stdout), {
    active: true, bridgeAddr: '10.244.5.1/24', running: { mtu: 1450, bip: '10.244.5.1/24' },
    cmdline: readFileSync(`/proc/${dockerPid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(),
  });
});

test('start.sh: nothing planned runs no systemctl change; an agent never ready gives ready=no after the timeout', async () => {
  readyAfter = Infinity;
  readyzCalls = 0;
  const t0 = Date.now();
  const r = await box.run(withSubnetEnv(startScript({ daemonReload: false, enableAgent: false, dockerDropInChanged: false }, undefined, await port, 2)));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - t0 >= 1000, 'waited for the timeout (bash counts whole seconds: 1-2 s)');
  assert.ok(readyzCalls >= 2, `polled more than once (${readyzCalls})`);
  assert.deepEqual(r.calls.filter((c) => !/^(systemctl (is-active|show)|ip |docker )/.test(c)), []);
  assert.equal(section(parseSections(r.stdout), 'ready')?.body, 'no');
});

test('start.sh: a failed restart exits 3 with the unit status on stderr, before any wait', async () => {
  const r = await box.run(withSubnetEnv(startScript(plan, undefined, await port, 30)), { env: { FP_FAIL: 'flanneld.service' } });
  assert.equal(r.code, 3);
  assert.match(r.stderr, /flanneld\.service - failed to start/);
  assert.equal(section(parseSections(r.stdout), 'ready'), undefined);
});

test('docker-restart.sh: daemon-reload and the probe removal only when asked, reset-failed, restart, then the state; a failed restart exits 3', async () => {
  const r = await box.run(dockerRestartScript({ daemonReload: true, removeProbe: 'fp-probe' }));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.calls.slice(0, 4), ['systemctl daemon-reload', 'docker rm -f fp-probe', 'systemctl reset-failed docker.service', 'systemctl restart docker.service']);
  assert.deepEqual(parseDockerState(r.stdout).running, { mtu: 1450, bip: '10.244.5.1/24' });
  const plain = await box.run(dockerRestartScript());
  assert.deepEqual(plain.calls.slice(0, 2), ['systemctl reset-failed docker.service', 'systemctl restart docker.service']);
  const failed = await box.run(dockerRestartScript(), { env: { FP_FAIL: 'docker.service' } });
  assert.equal(failed.code, 3);
  assert.match(failed.stderr, /docker\.service - failed to start/);
  assert.equal(section(parseSections(failed.stdout), 'docker_active'), undefined);
});

const probe = { image: 'flanprov-probe:1', name: 'fp-probe' };
const changes = (r: { calls: string[] }) => r.calls.filter((c) => !/^(systemctl (is-active|show)|ip |docker network|nsenter )/.test(c));

test('start.sh DOCKER_RESTART: Docker restarts in the same exec once the agent is ready (reload first unless done), then the probe starts on the new docker0', async () => {
  readyAfter = 0;
  readyzCalls = 0;
  const noReload = { ...plan, daemonReload: false };
  const r = await box.run(withSubnetEnv(startScript(noReload, undefined, await port, 10, { restart: true, probe })));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(changes(r), [
    'systemctl enable -q flanneld.service', 'systemctl reset-failed flanneld.service', 'systemctl restart flanneld.service',
    'systemctl daemon-reload', 'systemctl reset-failed docker.service', 'systemctl restart docker.service',
    'docker run -d --rm --log-driver none --stop-timeout 0 --name fp-probe flanprov-probe:1 sleep 3600', 'docker inspect -f \\{\\{.State.Pid\\}\\} fp-probe',
  ]);
  const s = parseSections(r.stdout);
  assert.equal(section(s, 'docker_restarted')?.body, 'yes');
  assert.deepEqual(parseDockerState(r.stdout).running, { mtu: 1450, bip: '10.244.5.1/24' });
  assert.deepEqual(parseProbe('docker', r.stdout), { kind: 'docker', ip: '10.244.5.2', mtu: 1450, exec: r.stdout.includes('nsenter -t 4242 -n') ? 'nsenter -t 4242 -n' : 'docker exec fp-probe' });
  // reloaded once when the plan reloads already; no probe asked, none started
  const once = await box.run(withSubnetEnv(startScript(plan, undefined, await port, 10, { restart: true })));
  assert.equal(once.code, 0, once.stderr);
  assert.equal(changes(once).filter((c) => c === 'systemctl daemon-reload').length, 1);
  assert.ok(!changes(once).some((c) => c.startsWith('docker run')));
});

test('start.sh DOCKER_RESTART: a failed Docker restart exits 4 with its status; a failed probe start only leaves the probe out; an agent never ready restarts nothing', async () => {
  readyAfter = 0;
  readyzCalls = 0;
  const failed = await box.run(withSubnetEnv(startScript(plan, undefined, await port, 10, { restart: true, probe })), { env: { FP_FAIL: 'docker.service' } });
  assert.equal(failed.code, 4);
  assert.match(failed.stderr, /docker\.service - failed to start/);
  assert.equal(section(parseSections(failed.stdout), 'docker_restarted')?.body, 'yes');
  const noProbe = await box.run(withSubnetEnv(startScript(plan, undefined, await port, 10, { restart: true, probe })), { env: { FP_PROBE_FAIL: '1' } });
  assert.equal(noProbe.code, 0, noProbe.stderr);
  assert.equal(parseProbe('docker', noProbe.stdout), undefined);
  readyAfter = Infinity;
  const never = await box.run(withSubnetEnv(startScript(plan, undefined, await port, 1, { restart: true, probe })));
  assert.equal(never.code, 0, never.stderr);
  assert.equal(section(parseSections(never.stdout), 'ready')?.body, 'no');
  assert.ok(!changes(never).some((c) => /docker/.test(c)), changes(never).join('\n'));
});
