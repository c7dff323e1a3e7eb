import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decideOnStall, followState, leaseOf, mtuAction, nonBackendDiff, parseDuration,
  steadyProblems, targetConfig, type AgentView,
} from '../../../../src/phases/switch/plan.js';
import { parseCidr } from '../../../../src/network/ipv4.js';
import { parseNetworkConfig } from '../../../../src/network/config.js';
import type { Lease } from '../../../../src/network/types.js';
import { agentStatusFixture } from '../../../fixtures/agent-status.js';

const lease = (subnet: string, ip: string, type: string | undefined): Lease => ({
  subnet: parseCidr(subnet)!, attrs: { PublicIP: ip, PublicIPv6: null, ...(type ? { BackendType: type } : {}) },
});

const agentStatus = (types: string[], ready = true) => agentStatusFixture(types, { ready, switching: false });

test('follow state: done only with lease + only the new backend + ready', () => {
  const base: AgentView = { host: 'h1', unit: 'active', status: agentStatus(['host-gw']), lease: lease('10.244.5.0/24', '198.18.1.11', 'host-gw') };
  assert.deepEqual(followState(base, 'host-gw'), { state: 'done' });
  const both = followState({ ...base, status: agentStatus(['vxlan', 'host-gw']) }, 'host-gw');
  assert.equal(both.state, 'waiting');
  assert.match((both as { why: string }).why, /active: vxlan \+ host-gw/);
  assert.match((followState({ ...base, lease: lease('10.244.5.0/24', '198.18.1.11', 'vxlan') }, 'host-gw') as { why: string }).why, /lease says vxlan/);
  assert.match((followState({ ...base, status: agentStatus(['host-gw'], false) }, 'host-gw') as { why: string }).why, /not ready/);
  assert.match((followState({ ...base, status: agentStatus([]) }, 'host-gw') as { why: string }).why, /active: none/);
  assert.deepEqual(followState({ ...base, unit: 'inactive' }, 'host-gw'), { state: 'dead', why: 'flanneld is inactive' });
  assert.equal(followState({ host: 'h2', unreachable: 'connection reset' }, 'host-gw').state, 'dead');
  assert.equal(followState({ ...base, unit: 'activating' }, 'host-gw').state, 'waiting');
});

test('steady before a switch: unit, readiness, one backend, no pending change, lease on it', () => {
  const v: AgentView = { host: 'h1', unit: 'active', status: agentStatus(['vxlan']), lease: lease('10.244.5.0/24', '198.18.1.11', 'vxlan') };
  assert.deepEqual(steadyProblems(v, 'vxlan'), []);
  assert.deepEqual(steadyProblems({ ...v, unit: 'failed', status: undefined }, 'vxlan'), ['flanneld is failed', 'the agent does not answer GET /status']);
  assert.match(steadyProblems({ ...v, status: agentStatus(['vxlan', 'host-gw']) }, 'vxlan').join(), /a switch is in progress/);
  assert.match(steadyProblems({ ...v, status: agentStatusFixture(['vxlan'], { switching: true, switch: { from: ['host-gw'], to: 'vxlan', reason: 'restart', since: '', deadline: '', waitingFor: [] } }) }, 'vxlan').join(), /a switch to vxlan is in progress/);
  assert.match(steadyProblems({ ...v, status: { ...agentStatus(['vxlan']), pendingConfigChange: 'backend vxlan -> host-gw' } }, 'vxlan').join(), /pending config change/);
  assert.match(steadyProblems({ ...v, lease: lease('10.244.5.0/24', '198.18.1.11', 'host-gw') }, 'vxlan').join(), /its lease says host-gw/);
  assert.deepEqual(steadyProblems({ ...v, lease: undefined }, 'vxlan'), ['no lease in etcd']);
});

test('lease of a host: by public IP, else by the subnet its agent reports', () => {
  const ls = [lease('10.244.5.0/24', '198.18.1.11', 'vxlan'), lease('10.244.9.0/24', '198.18.1.12', 'vxlan')];
  assert.equal(leaseOf(ls, '198.18.1.12', undefined), ls[1]);
  assert.equal(leaseOf(ls, '198.18.1.99', agentStatusFixture(['vxlan'], { subnet: '10.244.5.0/24' })), ls[0]);
  assert.equal(leaseOf(ls, undefined, undefined), undefined);
});

test('stall: roll back by default, finish with --force, never touch a config someone else changed', () => {
  assert.deepEqual(decideOnStall({ force: false, configStillOurs: true }), { action: 'rollback' });
  assert.deepEqual(decideOnStall({ force: true, configStillOurs: true }), { action: 'finish' });
  assert.equal(decideOnStall({ force: true, configStillOurs: false }).action, 'leave');
});

test('target config: the inventory with the new backend; differences outside the backend are named', () => {
  const net = { network: '10.244.0.0/16', backend: 'vxlan' as const, vni: 7, directRouting: true };
  const hg = targetConfig(net, 'host-gw');
  assert.deepEqual(hg.object, { Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } });
  assert.equal(hg.config.backendType, 'host-gw');
  const vx = targetConfig({ ...net, backend: 'host-gw' }, 'vxlan');
  assert.deepEqual(vx.object, { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 7, DirectRouting: true } });
  assert.deepEqual(nonBackendDiff(hg, '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":7}}'), []);
  assert.deepEqual(nonBackendDiff(hg, '{"network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan"}}'), []);
  const d = nonBackendDiff(hg, '{"Network":"10.55.0.0/16","Backend":{"Type":"vxlan"}}');
  assert.deepEqual(d.map((x) => x.field).sort(), ['Network', 'SubnetMax', 'SubnetMin']);
});

test('MTU: shrinking restarts Docker, growing only with --raise-mtu', () => {
  assert.equal(mtuAction(1500, 1450, false).action, 'restart');
  assert.deepEqual(mtuAction(1450, 1500, false), { action: 'keep', from: 1450, to: 1500 });
  assert.equal(mtuAction(1450, 1500, true).action, 'restart');
  assert.deepEqual(mtuAction(1450, 1450, true), { action: 'none' });
  assert.deepEqual(mtuAction(undefined, 1450, true), { action: 'none' });
});

test('durations', () => {
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('1500ms'), 1500);
  assert.equal(parseDuration('45'), 45_000);
  assert.equal(parseDuration('1h'), undefined);
  assert.equal(parseDuration('soon'), undefined);
});
