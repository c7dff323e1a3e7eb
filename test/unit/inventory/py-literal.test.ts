import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iniValue, pyLiteralEval, UnsupportedLiteral } from '../../../src/inventory/py-literal.js';
import { PyFloat } from '../../../src/inventory/py-float.js';

test('Python literals become values, everything else stays the raw string (as literal_eval in Ansible INI)', () => {
  const cases: [string, unknown][] = [
    ['1', 1], ['-5', -5], ['+3', 3], ['0x1f', 31], ['0o17', 15], ['0b101', 5], ['1_000', 1000], ['1.5', 1.5], ['1e3', new PyFloat(1000)], ['.5', 0.5], ['5.', new PyFloat(5)], ['-2.0', new PyFloat(-2)], ['[1.0, 2]', [new PyFloat(1), 2]],
    ['True', true], ['False', false], ['None', null], ["'x'", 'x'], ['"a b"', 'a b'], ["'a' 'b'", 'ab'], ["r'\\d'", '\\d'], ["'\\u00e9'", 'é'],
    ["[1, 'a', [2]]", [1, 'a', [2]]], ["{'a': 1, 'b': [True, None]}", { a: 1, b: [true, null] }], ['(1, 2)', [1, 2]], ['1,', [1]], ['(1)', 1], ['-(1)', -1], ['()', []],
    ['1 # comment', 1], ['  7', 7],
    // not literals: the raw text
    ['yes', 'yes'], ['true', 'true'], ['10.0.0.1', '10.0.0.1'], ['0644', '0644'], ['--1', '--1'], ['[a, b]', '[a, b]'], ['1 + 2', '1 + 2'],
    ['a=b', 'a=b'], ['', ''], ['x y # c', 'x y # c'], ["f'x'", "f'x'"], ['1.2.3', '1.2.3'], ['1abc', '1abc'], ['/usr/bin', '/usr/bin'], ["'unterminated", "'unterminated"],
  ];
  for (const [src, want] of cases) assert.deepEqual(iniValue(src), want, src);
});

test('literals without a faithful JSON form are refused by name', () => {
  for (const [src, re] of [['1j', /complex/], ['{1, 2}', /sets/], ['set()', /sets/], ['...', /Ellipsis/], ['{1: 2}', /not strings/], ['99999999999999999999', /2\^53/], ["[b'x']", /bytes/], ['-True', /sign/]] as const) {
    assert.throws(() => pyLiteralEval(src), (e: unknown) => e instanceof UnsupportedLiteral && re.test((e as Error).message), src);
  }
});
