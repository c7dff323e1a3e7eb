import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convertResult, parseResult } from '../../../../src/agent/cni/result.js';
import { CniError } from '../../../../src/agent/cni/spec.js';

/** What Debian's bridge 1.1.1 answers to a 0.4.0 ADD (seen on the machine). */
const BRIDGE_040 = {
  cniVersion: '0.4.0',
  interfaces: [{ name: 'cni0', mac: 'aa:e7:19:51:da:cd' }, { name: 'vethc0970a90', mac: 'ba:a8:fd:71:69:59' }, { name: 'eth0', mac: '62:58:86:15:a5:1e', sandbox: '/run/netns/x' }],
  ips: [{ version: '4', interface: 2, address: '10.250.7.2/24', gateway: '10.250.7.1' }],
  routes: [{ dst: '10.250.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.250.7.1' }],
  dns: {},
};

test('a 0.4.0 result read back has the spec\'s fields', () => {
  const r = parseResult(BRIDGE_040);
  assert.equal(r.cniVersion, '0.4.0');
  assert.deepEqual(r.ips, [{ address: '10.250.7.2/24', version: '4', gateway: '10.250.7.1', interface: 2 }]);
  assert.equal(r.interfaces?.[2]?.sandbox, '/run/netns/x');
  assert.deepEqual(r.routes, BRIDGE_040.routes);
});

test('1.0.0 has no ips[].version; 0.3.x/0.4.0 have it (derived from the address when missing)', () => {
  const r = parseResult(BRIDGE_040);
  const v1 = convertResult(r, '1.0.0');
  assert.equal(v1.cniVersion, '1.0.0');
  assert.deepEqual(v1.ips, [{ address: '10.250.7.2/24', gateway: '10.250.7.1', interface: 2 }]);
  assert.deepEqual(Object.keys(v1), ['cniVersion', 'interfaces', 'ips', 'routes', 'dns']);
  for (const to of ['0.3.0', '0.3.1', '0.4.0'] as const) {
    const back = convertResult(v1, to);
    assert.equal(back.cniVersion, to);
    assert.deepEqual(back.ips, [{ version: '4', address: '10.250.7.2/24', gateway: '10.250.7.1', interface: 2 }]);
  }
  assert.equal(convertResult(parseResult({ cniVersion: '1.0.0', ips: [{ address: 'fd00::5/64' }] }), '0.4.0').ips?.[0]?.version, '6');
});

test('no ips, no routes: nothing invented', () => {
  assert.deepEqual(convertResult(parseResult({ cniVersion: '1.0.0' }), '0.3.1'), { cniVersion: '0.3.1' });
});

test('a result that is not one is error 102', () => {
  for (const bad of [null, [], { cniVersion: '0.2.0', ip4: {} }, { cniVersion: '1.0.0', ips: {} }, { cniVersion: '1.0.0', ips: [{}] }]) {
    assert.throws(() => parseResult(bad), (e: unknown) => e instanceof CniError && e.code === 102, JSON.stringify(bad));
  }
});
