import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyConfigChange, diffConfigs, sameBackend } from '../../../src/network/config-compare.js';
import { compareConfigs } from '../../../src/phases/shared/config-compare.js';
import { parseNetworkConfig } from '../../../src/network/config.js';

const C = (o: Record<string, unknown>) => parseNetworkConfig({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' }, ...o });

test('only the backend type changed: a live switch', () => {
  assert.deepEqual(classifyConfigChange(C({}), C({ Backend: { Type: 'host-gw' } })), { kind: 'backend', from: 'vxlan', to: 'host-gw' });
  // key case and an explicit default do not matter for the type
  assert.deepEqual(classifyConfigChange(C({ Backend: { Type: 'host-gw' } }), C({ backend: { type: 'VXLAN', VNI: 1 } })), { kind: 'backend', from: 'host-gw', to: 'vxlan' });
});

test('same config (even re-ordered keys, another key case) is no change', () => {
  assert.deepEqual(classifyConfigChange(C({ Backend: { Type: 'vxlan', VNI: 1, Port: 8472 } }), C({ Backend: { Port: 8472, vni: 1, type: 'vxlan' } })), { kind: 'none' });
});

test('flannel\'s defaults written out are the same config for the agent AND the CLI (one comparator)', () => {
  const implicit = { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } };
  const explicit = { Network: '10.244.0.0/16', SubnetLen: 24, SubnetMin: '10.244.1.0', SubnetMax: '10.244.255.0', EnableIPv4: true,
    Backend: { Type: 'vxlan', VNI: 1, Port: 8472, MTU: 0, DirectRouting: false, GBP: false, Learning: false } };
  const a = parseNetworkConfig(implicit);
  const b = parseNetworkConfig(explicit);
  assert.deepEqual(classifyConfigChange(a, b), { kind: 'none' }, 'agent: no restart');
  assert.deepEqual(classifyConfigChange(b, a), { kind: 'none' });
  assert.deepEqual(compareConfigs(explicit, JSON.stringify(implicit)), { equal: true }, 'CLI: no diff');
  assert.deepEqual(compareConfigs(implicit, JSON.stringify(explicit)), { equal: true });
  assert.ok(sameBackend(a, b));
  assert.deepEqual(diffConfigs(a, b), []);
});

test('the CLI and the agent name the same differences', () => {
  const cur = { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } };
  const next = { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 2, Port: 4789 } };
  const agent = classifyConfigChange(parseNetworkConfig(cur), parseNetworkConfig(next));
  const cli = compareConfigs(next, JSON.stringify(cur));
  assert.ok(agent.kind === 'restart' && !cli.equal);
  assert.deepEqual(agent.what, cli.diff.map((d) => `${d.field} ${d.current} -> ${d.wanted}`));
  assert.deepEqual(cli.diff.map((d) => d.field), ['Backend.VNI', 'Backend.Port']);
});

test('Network, SubnetLen and options of the running backend need a restart, named', () => {
  const r = classifyConfigChange(C({}), C({ Network: '10.245.0.0/16', SubnetLen: 25, Backend: { Type: 'host-gw' } }));
  assert.equal(r.kind, 'restart');
  assert.ok(r.kind === 'restart' && r.what[0] === 'Backend vxlan -> host-gw');
  assert.ok(r.kind === 'restart' && r.what.some((w) => w.startsWith('Network 10.244.0.0/16 -> 10.245.0.0/16')));
  assert.ok(r.kind === 'restart' && r.what.some((w) => w.startsWith('SubnetLen 24 -> 25')));
  assert.ok(r.kind === 'restart' && !r.what.some((w) => w.startsWith('Backend.')), 'the new type\'s options are not a blocking difference');
  const o = classifyConfigChange(C({}), C({ Backend: { Type: 'vxlan', VNI: 2 } }));
  assert.deepEqual(o, { kind: 'restart', what: ['Backend.VNI 1 -> 2'] });
  const m = classifyConfigChange(C({}), C({ SubnetMax: '10.244.100.0' }));
  assert.ok(m.kind === 'restart' && /SubnetMax/.test(m.what[0]!));
  assert.ok(!sameBackend(C({}), C({ Backend: { Type: 'vxlan', DirectRouting: true } })));
});
