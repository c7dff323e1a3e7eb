import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAgentStatus, parseAgentStatus, pendingChange, readAgentStatus, AgentStatusError } from '../../../src/network/agent-status.js';
import { Agent } from '../../../src/agent/agent.js';
import { parseFlags } from '../../../src/agent/flags.js';
import { createLogger } from '../../../src/agent/log.js';
import { agentStatusFixture } from '../../fixtures/agent-status.js';

test('contract: what the agent serves is what the CLI reads (an agent that has not started yet)', () => {
  const agent = new Agent(parseFlags(['-etcd-endpoints=http://127.0.0.1:1'], {}), createLogger(0, 'flanneld', () => undefined));
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
