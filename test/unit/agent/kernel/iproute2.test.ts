import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isIpv4, isNotFound, isOnLink, normaliseDst, parseBatchErrors } from '../../../../src/agent/kernel/iproute2.js';

describe('iproute2 helpers', () => {
  it('maps batch errors to the failed lines and their messages', () => {
    const lines = ['route add 10.1.0.0/24 dev lo', 'route add 10.1.0.0/24 dev lo', 'route add 10.3.0.0/24 via 1.2.3.4', 'route del 10.9.0.0/24'];
    const stderr = 'RTNETLINK answers: File exists\nCommand failed -:2\nError: Nexthop has invalid gateway.\nCommand failed -:3\nRTNETLINK answers: No such process\nCommand failed -:4\n';
    const f = parseBatchErrors(stderr, lines);
    assert.deepEqual(f, [
      { line: 2, text: lines[1], error: 'RTNETLINK answers: File exists' },
      { line: 3, text: lines[2], error: 'Error: Nexthop has invalid gateway.' },
      { line: 4, text: lines[3], error: 'RTNETLINK answers: No such process' },
    ]);
    assert.deepEqual(f.map(isNotFound), [false, false, true]);
  });
  it('normalises route destinations', () => {
    assert.equal(normaliseDst('default'), '0.0.0.0/0');
    assert.equal(normaliseDst('10.6.0.7'), '10.6.0.7/32');
    assert.equal(normaliseDst('10.6.0.0/24'), '10.6.0.0/24');
  });
  it('on-link = a route without gateway that is not local', () => {
    assert.equal(isOnLink({ dst: '10.0.0.12', dev: 'eth0', prefsrc: '10.0.0.11' }), true);
    assert.equal(isOnLink({ dst: '10.0.1.14', dev: 'eth0', gateway: '10.0.0.1' }), false);
    assert.equal(isOnLink({ dst: '10.0.0.11', dev: 'lo', cache: ['local'] }), false);
    assert.equal(isOnLink(new Error('unreachable')), false);
  });
  it('validates IPv4 syntax before it reaches a batch', () => {
    assert.equal(isIpv4('10.0.0.1'), true);
    for (const bad of ['300.1.1.1', '10.0.0', '010.0.0.1', '10.0.0.1 ', 'fe80::1']) assert.equal(isIpv4(bad), false, bad);
  });
});
