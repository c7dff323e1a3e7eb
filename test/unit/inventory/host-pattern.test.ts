import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandHostPattern, expandHostRange, HostPatternError, parseAddress } from '../../../src/inventory/host-pattern.js';

test('ranges: zero padding, letters, steps, several ranges', () => {
  assert.deepEqual(expandHostRange('web[01:03]'), ['web01', 'web02', 'web03']);
  assert.deepEqual(expandHostRange('db-[a:c].x'), ['db-a.x', 'db-b.x', 'db-c.x']);
  assert.deepEqual(expandHostRange('n[1:10:4]'), ['n1', 'n5', 'n9']);
  assert.deepEqual(expandHostRange('r[1:2]-n[1:2]'), ['r1-n1', 'r1-n2', 'r2-n1', 'r2-n2']);
  assert.deepEqual(expandHostRange('z[:2]'), ['z0', 'z1', 'z2']);
  assert.deepEqual(expandHostRange('10.0.0.[8:10]'), ['10.0.0.8', '10.0.0.9', '10.0.0.10']);
});

test('bad ranges are refused with what to write', () => {
  for (const [p, re] of [['w[01:3]', /equal-length/], ['w[1:]', /end value/], ['w[c:a]', /begin <= end/], ['w[1:2:3:4]', /begin:end/], ['w[1:x]', /letter/], ['w[1:3:0]', /zero/]] as const) {
    assert.throws(() => expandHostRange(p), (e: unknown) => e instanceof HostPatternError && re.test((e as Error).message), p);
  }
});

test('ports: host:port, [v6]:port; unparseable names are kept whole', () => {
  assert.deepEqual(parseAddress('h1:2222'), { host: 'h1', port: 2222 });
  assert.deepEqual(parseAddress('[2001:db8::1]:22'), { host: '2001:db8::1', port: 22 });
  assert.deepEqual(parseAddress('2001:db8::1'), { host: '2001:db8::1' });
  assert.deepEqual(expandHostPattern('web[1:2]:2022'), { names: ['web1', 'web2'], port: 2022 });
  assert.deepEqual(expandHostPattern('odd@name'), { names: ['odd@name'] });
});
