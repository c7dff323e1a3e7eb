import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostTemplater, TemplateError } from '../../../src/inventory/jinja.js';
import type { Value } from '../../../src/inventory/yaml-values.js';
import { PyFloat } from '../../../src/inventory/py-float.js';

const pos = { file: '/inv/hosts.ini', line: 3, col: 5 };
const t = (vars: Record<string, Value>, env: NodeJS.ProcessEnv = {}) =>
  hostTemplater({ hostName: 'node1.example.com', env, raw: (k) => (k in vars ? { value: vars[k]!, pos } : undefined) });

test('variable references (nested), defaults, env lookups, inventory_hostname', () => {
  const r = t({ a: '{{ b }}.{{ c }}', b: '{{ c }}0', c: 1, port: '{{ p }}', p: 2222, u: "{{ missing | default('root') }}", e: "{{ lookup('env', 'X') }}",
    ed: "{{ lookup('env', 'UNSET') | default('fallback', true) }}", h: '{{ inventory_hostname_short }}-x', n: '{{ nothing | d(none) }}', keep: 'plain' }, { X: 'from-env' });
  assert.equal(r('a'), '10.1');
  assert.equal(r('port'), 2222); // a single expression keeps its type
  assert.equal(r('u'), 'root');
  assert.equal(r('e'), 'from-env');
  assert.equal(r('ed'), 'fallback');
  assert.equal(r('h'), 'node1-x');
  assert.equal(r('n'), null);
  assert.equal(r('keep'), 'plain');
  assert.equal(r('absent'), undefined);
});

test('everything else is refused by name, loops and undefined variables too', () => {
  const cases: [Record<string, Value>, RegExp][] = [
    [{ x: '{{ a | upper }}', a: 'q' }, /filter 'upper' is not supported/],
    [{ x: '{{ a + 1 }}', a: 1 }, /the '\+' operator: not supported/],
    [{ x: '{{ a.b }}', a: 'q' }, /attribute access \('a.b'\): not supported/],
    [{ x: "{{ hostvars['n'] }}" }, /'hostvars' is not supported/],
    [{ x: '{% if a %}1{% endif %}' }, /statements/],
    [{ x: "{{ lookup('file', 'x') }}" }, /lookup plugin 'file' is not supported/],
    [{ x: '{{ y }}', y: '{{ x }}' }, /recursive loop in templates: x -> y -> x/],
    [{ x: '{{ nope }}' }, /undefined variable/],
    [{ x: "{{ lookup('env', 'NOPE') }}" }, /environment variable NOPE is not set/],
    [{ x: '{{ a is defined }}', a: 1 }, /tests \(is \.\.\.\): not supported/],
  ];
  for (const [vars, re] of cases) {
    assert.throws(() => t(vars)('x'), (e: unknown) => e instanceof TemplateError && re.test((e as Error).message), String(vars.x));
  }
});

test("floats stay floats: joined into text as Python's str() writes them (1.0, 1e+16, 1e-05); literals with a dot are floats", () => {
  const r = t({ p: new PyFloat(1), big: new PyFloat(1e16), small: 0.00001, half: 0.5, i: 1,
    s: 'v{{ p }}-{{ big }}-{{ small }}-{{ half }}-{{ i }}', lit: 'x{{ 2.0 }}{{ 3 }}', one: '{{ p }}', zero: "{{ z | default('dflt', true) }}", z: new PyFloat(0) });
  assert.equal(r('s'), 'v1.0-1e+16-1e-05-0.5-1');
  assert.equal(r('lit'), 'x2.03');
  assert.ok(r('one') instanceof PyFloat);
  assert.equal(r('zero'), 'dflt'); // 0.0 is false, as in Python
});
