import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAgentStatus, parseAgentStatus, pendingChange, readAgentStatus, AgentStatusError } from '../../../src/network/agent-status.js';
import { Daemon } from '../../../src/agent/daemon.js';
import { parseFlags } from '../../../src/agent/flags.js';
import { createLogger } from '../../../src/agent/log.js';
import { agentStatusFixture } from '../../fixtures/agent-status.js';
import { ActiveBackends } from '../../../src/agent/active-backends.js';
import type { Backend } from '../../../src/agent/backends/backend.js';
import { PeerSet } from '../../../src/agent/peers.js';
import { buildStatus } from '../../../src/agent/status.js';
import { parseNetworkConfig } from '../../../src/network/config.js';
import { parseCidr } from '../../../src/network/ipv4.js';

test('contract: what the agent serves is what the CLI reads (an agent that has not started yet)', () => {
  const agent = new Daemon(parseFlags(['-etcd-endpoints=http://127.0.0.1:1'], {}), createLogger(0, 'flanneld', () => undefined));
  const doc = JSON.parse(JSON.stringify(agent.status())) as unknown;
  const s = checkAgentStatus(doc);
  assert.equal(s.ready, false);
  assert.deepEqual(s.activeBackends, []);
  assert.equal(s.subnet, null);
  // every field of the type is present, null rather than absent
  assert.deepEqual(Object.keys(doc as object).sort(), Object.keys(agentStatusFixture()).sort());
});

test('the fixture the unit tests use is a valid document', () => {
  assert.equal(checkAgentStatus(agentStatusFixture(['vxlan', 'host-gw'])).activeBackends.length, 2);
});

test('a document of another shape names the field; a body that is not JSON says so', () => {
  const bad = { ...agentStatusFixture(), ready: 'yes' };
  assert.throws(() => checkAgentStatus(bad), (e: Error) => e instanceof AgentStatusError && /field "ready" is malformed \("yes"\)/.test(e.message));
  const { backends: _b, ...missing } = agentStatusFixture();
  assert.throws(() => checkAgentStatus(missing), /field "backends" is missing/);
  assert.throws(() => parseAgentStatus('404 page not found\n'), /not JSON: 404 page not found/);
  assert.deepEqual(readAgentStatus(''), { error: 'no answer' });
  assert.match((readAgentStatus('404 page not found') as { error: string }).error, /not JSON/);
  assert.equal(readAgentStatus(JSON.stringify(agentStatusFixture())).status?.version, '0.1.0');
});

test('pending change: a config change that needs a restart, or a switch in progress', () => {
  assert.equal(pendingChange(agentStatusFixture()), undefined);
  assert.equal(pendingChange(agentStatusFixture(['vxlan'], { pendingConfigChange: 'restart flanneld to apply: x' })), 'restart flanneld to apply: x');
  assert.match(pendingChange(agentStatusFixture(['host-gw', 'vxlan'], { switch: { from: ['vxlan'], to: 'host-gw', reason: 'config change', since: '', deadline: '', waitingFor: [] } }))!, /switch to host-gw/);
});

test('contract: a running agent mid-switch with etcd away is a valid document, every field present', () => {
  const vxlan = { type: 'vxlan', mtu: 1450 } as unknown as Backend;
  const hostgw = { type: 'host-gw', mtu: 1500 } as unknown as Backend;
  const net = parseNetworkConfig({ Network: '10.5.0.0/16', Backend: { Type: 'host-gw' } });
  const active = new ActiveBackends();
  active.setPrimary({ backend: vxlan, config: net, attrs: {} }, net);
  active.setPrimary({ backend: hostgw, config: net, attrs: {} }, net);
  const peers = new PeerSet();
  peers.setOwnSubnet(parseCidr('10.5.1.0/24'));
  peers.reset([
    { subnet: parseCidr('10.5.2.0/24')!, attrs: { PublicIP: '192.0.0.2', PublicIPv6: null, BackendType: 'host-gw' } },
    { subnet: parseCidr('10.5.3.0/24')!, attrs: { PublicIP: '192.0.0.3', PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '0e:00:00:00:00:03' } } },
    { subnet: parseCidr('10.5.4.0/24')!, attrs: { PublicIP: '192.0.0.4', PublicIPv6: null } },
  ]);
  const sw = { from: ['vxlan'], to: 'host-gw', reason: 'config change' as const, since: '2026-01-01T00:00:00.000Z', deadline: '2026-01-01T00:01:00.000Z', waitingFor: ['10.5.3.0/24'] };
  const own = { subnet: parseCidr('10.5.1.0/24')!, attrs: { PublicIP: '192.0.0.1', PublicIPv6: null, BackendType: 'host-gw' }, expiresAt: Date.parse('2026-01-02T00:00:00Z') };
  const doc = JSON.parse(JSON.stringify(buildStatus({
    ready: true, startedAt: Date.now() - 5000, active, peers, reconciler: { last: undefined },
    backendSwitch: { status: () => sw, lastSwitch: () => null },
    extIface: { name: 'eth0', index: 2, ifaceAddr: '192.0.0.1', publicIp: '192.0.0.1', mtu: 1500 },
    own: { lease: own, lastError: 'Error renewing lease: 4 DEADLINE_EXCEEDED', attrs: own.attrs },
    config: { revision: '9', restartNeeded: undefined },
    etcd: () => ({ connected: false, detail: 'no answer within 3 s', lastContact: '2026-01-01T00:00:30.000Z', since: '2026-01-01T00:00:33.000Z' }),
  }))) as unknown;
  const s = checkAgentStatus(doc);
  assert.deepEqual(Object.keys(doc as object).sort(), Object.keys(agentStatusFixture()).sort());
  assert.deepEqual(s.activeBackends, ['host-gw', 'vxlan']);
  assert.equal(s.backend, 'host-gw');
  assert.equal(s.mtu, 1500);
  assert.equal(s.switching, true);
  assert.equal(s.switchingSince, sw.since);
  assert.equal(pendingChange(s), 'a switch to host-gw is in progress');
  assert.deepEqual(s.peers.map((p) => p.programmedBy), ['host-gw', 'vxlan', null], 'each peer by its own type; a lease without BackendType by none');
  assert.deepEqual(s.peersByBackend, { 'host-gw': 1, vxlan: 1, '': 1 });
  assert.deepEqual(s.etcd, { connected: false, detail: 'no answer within 3 s', lastContact: '2026-01-01T00:00:30.000Z', since: '2026-01-01T00:00:33.000Z' });
  assert.deepEqual(s.lease, { expiresAt: '2026-01-02T00:00:00.000Z', lastError: 'Error renewing lease: 4 DEADLINE_EXCEEDED' });
  assert.equal(s.configRevision, '9');
  assert.equal(s.pendingConfigChange, null);
});
