import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyConfigChange } from '../../../src/agent/config-change.js';
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

test('Network, SubnetLen and options of the running backend need a restart, named', () => {
  const r = classifyConfigChange(C({}), C({ Network: '10.245.0.0/16', SubnetLen: 25, Backend: { Type: 'host-gw' } }));
  assert.equal(r.kind, 'restart');
  assert.ok(r.kind === 'restart' && r.what[0] === 'Backend vxlan -> host-gw');
  assert.ok(r.kind === 'restart' && r.what.some((w) => w.startsWith('Network 10.244.0.0/16 -> 10.245.0.0/16')));
  assert.ok(r.kind === 'restart' && r.what.some((w) => w.startsWith('SubnetLen 24 -> 25')));
  const o = classifyConfigChange(C({}), C({ Backend: { Type: 'vxlan', VNI: 2 } }));
  assert.ok(o.kind === 'restart' && /vxlan options/.test(o.what[0]!), JSON.stringify(o));
  const m = classifyConfigChange(C({}), C({ SubnetMax: '10.244.100.0' }));
  assert.ok(m.kind === 'restart' && /SubnetMax/.test(m.what[0]!));
});
