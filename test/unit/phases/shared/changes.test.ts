import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerNet } from '../../../../src/phases/shared/docker-state.js';
import { planFiles, planStart, dockerDecision, dockerRestartReason, flagValue, endpointsOnlyChange, type DesiredFile } from '../../../../src/phases/shared/changes.js';
import { sha256Of as sha256 } from '../../../../src/remote/upload.js';
import { parseSubnetEnv } from '../../../../src/network/subnet-env.js';
import { compareConfigs, formatConfigDiff } from '../../../../src/phases/shared/config-compare.js';

const unit: DesiredFile = { path: '/etc/systemd/system/flanneld.service', content: '[Service]\nExecStart=/x\n', mode: 0o644, role: 'agent-unit' };
const dropin: DesiredFile = { path: '/etc/systemd/system/docker.service.d/10-flannel.conf', content: '[Service]\n', mode: 0o644, role: 'docker-dropin' };

test('planFiles writes absent, different and wrong-mode files only', () => {
  const remote = new Map([[unit.path, { sha256: sha256(unit.content), mode: 0o644, content: unit.content }]]);
  assert.deepEqual(planFiles([unit, dropin], remote).write.map((f) => f.path), [dropin.path]);
  remote.set(dropin.path, { sha256: sha256(dropin.content), mode: 0o600, content: dropin.content });
  assert.deepEqual(planFiles([unit, dropin], remote).write.map((f) => f.path), [dropin.path]);
  remote.set(dropin.path, { sha256: sha256(dropin.content), mode: 0o644, content: dropin.content });
  assert.deepEqual(planFiles([unit, dropin], remote).write, []);
});

test('planStart: what restarts depends on what changed', () => {
  const running = { active: 'active', unitFileState: 'enabled' };
  assert.deepEqual(planStart({ written: [], binaryChanged: false, agent: running }), { daemonReload: false, enableAgent: false, dockerDropInChanged: false });
  const p = planStart({ written: [unit], binaryChanged: false, agent: running });
  assert.equal(p.daemonReload, true);
  assert.equal(p.restartAgent, 'unit changed');
  assert.equal(p.dockerDropInChanged, false);
  const d = planStart({ written: [dropin], binaryChanged: false, agent: running });
  assert.equal(d.restartAgent, undefined);
  assert.equal(d.dockerDropInChanged, true);
  assert.equal(planStart({ written: [], binaryChanged: true, agent: running }).restartAgent, 'binary changed');
  assert.equal(planStart({ written: [], binaryChanged: false, agent: { active: 'failed', unitFileState: 'enabled' } }).restartAgent, 'agent failed');
  assert.equal(planStart({ written: [], binaryChanged: false, agent: undefined }).enableAgent, true);
});

test('Docker restarts only when its drop-in or the subnet/MTU changed', () => {
  const env = parseSubnetEnv('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
  const ok = { active: true, bridgeAddr: '10.244.7.1/24', cmdline: '/usr/sbin/dockerd -H fd:// --bip=10.244.7.1/24 --mtu=1450' };
  assert.equal(dockerRestartReason(false, env, ok), undefined);
  assert.equal(dockerRestartReason(true, env, ok), 'drop-in changed');
  assert.match(dockerRestartReason(false, env, { ...ok, bridgeAddr: '172.17.0.1/16' })!, /docker0 is 172\.17\.0\.1\/16/);
  assert.match(dockerRestartReason(false, env, { ...ok, cmdline: '/usr/sbin/dockerd --bip=10.244.7.1/24 --mtu=1500' })!, /--mtu=1500/);
  assert.equal(dockerRestartReason(false, env, { ...ok, active: false }), 'docker not running');
  assert.equal(flagValue('dockerd --mtu 1400 --bip=x', '--mtu'), '1400');
});

test('Docker as it runs (docker network inspect) wins over its argv: a daemon.json host adopted without a restart keeps running', () => {
  const env = parseSubnetEnv('FLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\n');
  const plain = { active: true, bridgeAddr: '10.244.7.1/24', cmdline: '/usr/sbin/dockerd -H fd://' };
  assert.match(dockerDecision(false, env, plain).restart!, /--bip=\(none\)/);
  assert.deepEqual(dockerDecision(false, env, { ...plain, running: { bip: '10.244.7.1/24', mtu: 1450 } }), {});
  assert.match(dockerDecision(false, env, { ...plain, running: { bip: '10.244.7.1/24', mtu: 1500 } }).restart!, /--mtu=1500, subnet.env says 1450/);
  assert.match(dockerDecision(false, env, { ...plain, running: { bip: '10.244.9.1/24', mtu: 1450 } }).restart!, /--bip=10\.244\.9\.1\/24/);
  assert.deepEqual(parseDockerNet('1450 10.244.7.0/24 10.244.7.1\n'), { mtu: 1450, bip: '10.244.7.1/24' });
  assert.deepEqual(parseDockerNet('1500 172.17.0.0/16 \n'), { mtu: 1500 });
  assert.equal(parseDockerNet(''), undefined);
});

test('Docker MTU: smaller than the network\'s is kept with a note (unless --raise-mtu), larger restarts, another subnet restarts', () => {
  // after vxlan → host-gw without --raise-mtu: the agent says 1500, Docker still runs 1450
  const env = parseSubnetEnv('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=true\n');
  const d1450 = { active: true, bridgeAddr: '10.244.7.1/24', cmdline: '/usr/sbin/dockerd -H fd:// --bip=10.244.7.1/24 --mtu=1450 --ip-masq=false' };
  const kept = dockerDecision(false, env, d1450, { backend: 'host-gw' });
  assert.equal(kept.restart, undefined);
  assert.equal(kept.note, 'docker0 MTU 1450 < network MTU 1500: kept; `flanprov switch-backend host-gw --raise-mtu` or `flanprov up --raise-mtu` raises it (restarts Docker and its containers)');
  assert.equal(dockerRestartReason(false, env, d1450), undefined);
  assert.deepEqual(dockerDecision(false, env, d1450, { raiseMtu: true }), { restart: 'MTU 1450 → 1500 (--raise-mtu)' });
  // equal: nothing, no note (also with --raise-mtu)
  assert.deepEqual(dockerDecision(false, env, { ...d1450, cmdline: d1450.cmdline.replace('1450', '1500') }, { raiseMtu: true }), {});
  // larger than the network's: a black hole for full-size packets, always restarts
  const env1450 = parseSubnetEnv('FLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\n');
  assert.match(dockerDecision(false, env1450, { ...d1450, cmdline: d1450.cmdline.replace('1450', '1500') }).restart!, /--mtu=1500, subnet.env says 1450/);
  // no --mtu at all: Docker uses 1500, restart
  assert.match(dockerDecision(false, env, { ...d1450, cmdline: '/usr/sbin/dockerd --bip=10.244.7.1/24' }).restart!, /--mtu=\(none\)/);
  // a smaller MTU but another subnet: restart (the subnet wins)
  assert.match(dockerDecision(false, env, { ...d1450, bridgeAddr: '10.244.9.1/24' }).restart!, /docker0 is 10\.244\.9\.1\/24, subnet.env says 10\.244\.7\.1\/24/);
  assert.match(dockerDecision(false, env, { ...d1450, cmdline: d1450.cmdline.replace('--bip=10.244.7.1/24', '--bip=10.244.9.1/24') }).restart!, /--bip=10\.244\.9\.1\/24/);
  // a changed drop-in restarts whatever the MTU
  assert.deepEqual(dockerDecision(true, env, d1450), { restart: 'drop-in changed' });
});

test('config comparison is semantic and points backend changes to switch-backend', () => {
  assert.deepEqual(compareConfigs({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } }, '{"network":"10.244.0.0/16","SubnetLen":24,"backend":{"type":"VXLAN","VNI":1}}'), { equal: true });
  const c = compareConfigs({ Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } }, '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
  assert.equal(c.equal, false);
  if (c.equal) return;
  assert.equal(c.backendChanged, true);
  const text = formatConfigDiff('/coreos.com/network/config', c);
  assert.match(text, /Backend\.Type\s+etcd: vxlan\s+→\s+inventory: host-gw/);
  assert.match(text, /flanprov switch-backend host-gw/);
  const n = compareConfigs({ Network: '10.245.0.0/16', Backend: { Type: 'vxlan' } }, '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
  assert.equal(n.equal, false);
  if (!n.equal) assert.deepEqual(n.diff.map((d) => d.field), ['Network', 'SubnetMin', 'SubnetMax']);
  const inv = compareConfigs({ Network: '10.244.0.0/16' }, 'not json');
  assert.equal(inv.equal, false);
});

test('an etcd member joining or leaving changes the agents\' endpoint list without restarting them', () => {
  const u = (eps: string, masq = true): string => `[Service]\nExecStart=/usr/local/bin/flanneld -etcd-endpoints=${eps} -etcd-prefix=/coreos.com/network -ip-masq=${masq}\n`;
  const three = 'https://a:2379,https://b:2379,https://c:2379';
  assert.equal(endpointsOnlyChange(u(three), u(`${three},https://d:2379`)), true);
  assert.equal(endpointsOnlyChange(u(three), u('https://a:2379,https://b:2379')), true);
  assert.equal(endpointsOnlyChange(u(three), u('https://x:2379')), false, 'no old member left: the agent must restart');
  assert.equal(endpointsOnlyChange(u(three), u(`${three},https://d:2379`, false)), false, 'another flag changed too');
  assert.equal(endpointsOnlyChange(u(three), u(three)), false);
  const written: DesiredFile = { ...unit, keepsRunning: true };
  assert.equal(planStart({ written: [written], binaryChanged: false, agent: { active: 'active', unitFileState: 'enabled' } }).restartAgent, undefined);
  assert.equal(planStart({ written: [written], binaryChanged: false, agent: { active: 'active', unitFileState: 'enabled' } }).daemonReload, true);
});
