import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { isPyFloat, PyFloat, pyFloat, pyFloatRepr, pyNumberStr } from '../../../src/inventory/py-float.js';

test("pyFloatRepr is Python's repr(float), digit for digit (python3 is the oracle)", () => {
  const values = [1, 1.5, 1e16, 1e15, 9999999999999998, 1.5e16, 0.0001, 0.00001, 0.000123, 1e-7, 123.456, -2.5e-10, 1e22, 0.1, 0.30000000000000004, 100,
    12345678901234567890, 3e5, -0, 0, 5e-324, 1.7976931348623157e308, 2 ** 53, -1234.5];
  const py = execFileSync('python3', ['-c', 'import sys, json\nfor v in json.loads(sys.stdin.read()): print(repr(float(v)))'], { input: JSON.stringify(values.map((v) => (Object.is(v, -0) ? '-0.0' : v))), encoding: 'utf8' });
  assert.deepEqual(values.map(pyFloatRepr), py.trim().split('\n'));
});

test('integral floats are PyFloat, the others plain numbers; str() of both as Python', () => {
  assert.ok(pyFloat(24) instanceof PyFloat);
  assert.equal(pyFloat(1.5), 1.5);
  assert.ok(isPyFloat(pyFloat(24)) && isPyFloat(1.5) && !isPyFloat(24));
  assert.deepEqual([pyNumberStr(new PyFloat(24)), pyNumberStr(24), pyNumberStr(1e-5)], ['24.0', '24', '1e-05']);
  assert.equal(JSON.stringify({ a: new PyFloat(2) }), '{"a":2}');
});
